"""Small shared counters and claims that tasks need across processes and redeliveries.

Two jobs need state that outlives one worker process: counting deliveries of a message (the
redelivery guard) and claiming an idempotency key (``SET NX EX``). The store is chosen once
by :func:`task_state_url_for` from settings:

* **Redis** when ``REDIS_URL`` is set, or when the broker itself is Redis: ``INCR`` + ``EXPIRE``
  and ``SET NX EX`` are atomic across every worker on every host. This is the production store.
* **SQLite** (stdlib ``sqlite3``, a file next to the embedded broker) otherwise. It is atomic
  across processes on *one* host, which is exactly the embedded ``filesystem://`` setup. An
  ``amqp://`` deployment spread over several hosts must set ``REDIS_URL``.

The result backend is deliberately not used: Celery's database backend has no atomic
increment or set-if-absent, and its rows are expired on a schedule we do not control.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from celery import Celery

    from spaps_server_quickstart.settings import BaseServiceSettings

TASK_STATE_URL_SETTING = "spaps_task_state_url"


class TaskStateStore(Protocol):
    def increment(self, key: str, ttl_seconds: int) -> int:
        """Add one to ``key`` (created at 0) and return the new value."""

    def claim(self, key: str, owner: str, ttl_seconds: int) -> bool:
        """Take ``key`` for ``owner`` unless someone else holds it; re-claiming is allowed."""

    def release(self, key: str) -> None: ...


class RedisTaskStateStore:
    def __init__(self, url: str) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def increment(self, key: str, ttl_seconds: int) -> int:
        pipeline = self._client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expire(key, ttl_seconds)
        value, _ = pipeline.execute()
        return int(value)

    def claim(self, key: str, owner: str, ttl_seconds: int) -> bool:
        if self._client.set(key, owner, nx=True, ex=ttl_seconds):
            return True
        current = self._client.get(key)
        return current is not None and current.decode() == owner

    def release(self, key: str) -> None:
        self._client.delete(key)


class SqliteTaskStateStore:
    """One table ``(key, value, expires_at)``; every write in a ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS task_state"
                " (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        # A connection per call: safe across fork() (prefork pool) and threads.
        return sqlite3.connect(self._path, timeout=30, isolation_level=None)

    def _locked(self, connection: sqlite3.Connection, key: str) -> str | None:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute(
            "DELETE FROM task_state WHERE key = ? AND expires_at <= ?", (key, time.time())
        )
        row = connection.execute("SELECT value FROM task_state WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def increment(self, key: str, ttl_seconds: int) -> int:
        connection = self._connect()
        try:
            current = self._locked(connection, key)
            value = 1 if current is None else int(current) + 1
            connection.execute(
                "INSERT OR REPLACE INTO task_state (key, value, expires_at) VALUES (?, ?, ?)",
                (key, str(value), time.time() + ttl_seconds),
            )
            connection.execute("COMMIT")
            return value
        finally:
            connection.close()

    def claim(self, key: str, owner: str, ttl_seconds: int) -> bool:
        connection = self._connect()
        try:
            current = self._locked(connection, key)
            if current is None:
                connection.execute(
                    "INSERT INTO task_state (key, value, expires_at) VALUES (?, ?, ?)",
                    (key, owner, time.time() + ttl_seconds),
                )
            connection.execute("COMMIT")
            return current is None or current == owner
        finally:
            connection.close()

    def release(self, key: str) -> None:
        connection = self._connect()
        try:
            connection.execute("DELETE FROM task_state WHERE key = ?", (key,))
        finally:
            connection.close()


def task_state_url_for(settings: BaseServiceSettings) -> str:
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    if settings.celery_broker_url.scheme in ("redis", "rediss"):
        return settings.celery_broker_url.get_secret_value()
    folder = Path(settings.celery_filesystem_folder).resolve()
    return f"sqlite:///{folder / 'task-state.sqlite'}"


def open_task_state_store(url: str) -> TaskStateStore:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisTaskStateStore(url)
    if url.startswith("sqlite:///"):
        return SqliteTaskStateStore(url.removeprefix("sqlite:///"))
    raise ValueError(f"unsupported task state store URL scheme: {url.split(':', 1)[0]}")


_stores: dict[tuple[int, str], TaskStateStore] = {}
_stores_lock = threading.Lock()


def task_state_store(app: Celery) -> TaskStateStore:
    """The store configured on ``app`` (by ``create_celery_app``), one per process."""
    url = app.conf.get(TASK_STATE_URL_SETTING)
    if not url:
        raise RuntimeError(
            f"{TASK_STATE_URL_SETTING} is not configured; build the app with create_celery_app()"
        )
    key = (os.getpid(), str(url))
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = open_task_state_store(str(url))
        return store
