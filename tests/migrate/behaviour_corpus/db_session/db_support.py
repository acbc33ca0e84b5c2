"""The database every db-session shape talks to: a SQLite file the test names per run."""

from __future__ import annotations

import os
import sqlite3

from spaps_server_quickstart.settings import BaseServiceSettings


def make_settings() -> BaseServiceSettings:
    """The service's settings: its database, auth out of the way of the scripted requests."""
    url = os.environ["CORPUS_DATABASE_URL"]
    path = url.split(":///", 1)[1]
    with sqlite3.connect(path) as connection:
        connection.execute("create table if not exists items (id integer primary key, name text)")
        connection.execute("delete from items")
        connection.executemany("insert into items (name) values (?)", [("apple",), ("pear",)])
    return BaseServiceSettings(database_url=url, auth_mode="disabled", log_level="WARNING")
