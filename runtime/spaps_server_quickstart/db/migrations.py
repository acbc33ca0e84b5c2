"""Alembic helpers: the migration file naming rule, its validator, an async ``env.py`` body and
the upgrade the lifespan runs when ``run_migrations_on_startup`` is on.

File names are ``<YYYYMMDDHHMM>_<domain>_<slug>.py``: the timestamp sorts files in creation order
in any file browser, the domain says which part of the service owns the change (one service,
several domains, one linear history). Two files with the same timestamp usually mean two
branches created migrations in parallel, which is also when Alembic ends up with two heads;
:func:`validate_migrations` reports both.

Alembic is imported inside the functions: importing the runtime (or ``spaps_server_quickstart.db``)
must stay cheap for services that never migrate from the API process.
"""

from __future__ import annotations

import ast
import asyncio
import re
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from ..settings import reveal

#: ``202611261905_billing_add_invoice_table.py``. ``domain`` may itself contain underscores;
#: :func:`validate_migration_filename` resolves it against the allowed domains.
MIGRATION_FILENAME_PATTERN = re.compile(
    r"^(?P<timestamp>\d{12})_(?P<domain>[a-z][a-z0-9]*(?:_[a-z0-9]+)*?)"
    r"_(?P<slug>[a-z0-9]+(?:_[a-z0-9]+)*)\.py$"
)
TIMESTAMP_FORMAT = "%Y%m%d%H%M"

#: Key of ``Config.attributes`` that carries the database URL from :func:`upgrade_to_head` to
#: ``env.py`` (an attribute, not ``sqlalchemy.url``: ``configparser`` would choke on ``%``
#: in passwords).
URL_ATTRIBUTE = "sqlalchemy.url"
#: Key of ``Config.attributes`` with an already open sync ``Connection`` to migrate on.
CONNECTION_ATTRIBUTE = "connection"


#: The table that says which service a database belongs to (one row: id and name).
OWNER_TABLE = "spaps_service"


class MigrationsError(RuntimeError):
    """Migrations could not be run (missing ``alembic.ini``, no database URL)."""


class ForeignDatabaseError(MigrationsError):
    """The database belongs to another service: nothing was migrated."""


@dataclass(frozen=True)
class ServiceOwner:
    """The service a database belongs to: its name (for messages) and its fleet-unique id
    (``[tool.spaps] service-id``, for the comparison)."""

    name: str
    id: str


def _owner_table() -> Any:
    from sqlalchemy import Column, MetaData, String, Table

    return Table(
        OWNER_TABLE,
        MetaData(),
        Column("service_id", String(64), primary_key=True),
        Column("service", String(200), nullable=False),
    )


def claim_database(connection: Connection, owner: ServiceOwner) -> None:
    """Refuse a database another service owns; mark an unowned one as ``owner``'s.

    Revision ids alone cannot tell services apart (two generated in the same minute used to
    share their first id, and Alembic then reports "already at head" on the other's database).
    The marker row is checked before any migration runs, in the migration's transaction, so a
    refused run changes nothing. A database with an Alembic history but no marker (a service
    migrated before markers existed) is claimed: if the history is not this service's, Alembic
    itself stops at the unknown revision.
    """
    from sqlalchemy import inspect, select

    table = _owner_table()
    if inspect(connection).has_table(OWNER_TABLE):
        rows = connection.execute(select(table.c.service_id, table.c.service)).all()
        foreign = [row for row in rows if row.service_id != owner.id]
        if foreign:
            other = foreign[0]
            raise ForeignDatabaseError(
                f"this database belongs to service {other.service!r} (service-id"
                f" {other.service_id}), not to {owner.name!r} (service-id {owner.id}):"
                " nothing was migrated; point DATABASE_URL at this service's own database"
            )
        if rows:
            return
    else:
        table.create(connection)
    connection.execute(table.insert().values(service_id=owner.id, service=owner.name))


def _not_the_owner_table(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate's ``include_name``: the marker is the runtime's, not the models'."""
    return not (type_ == "table" and name == OWNER_TABLE)


def _split_domain(rest: str, allowed_domains: Collection[str]) -> tuple[str, str] | None:
    for domain in sorted(allowed_domains, key=len, reverse=True):
        prefix = f"{domain}_"
        if rest.startswith(prefix) and len(rest) > len(prefix):
            return domain, rest[len(prefix) :]
    return None


def validate_migration_filename(filename: str, allowed_domains: Collection[str]) -> list[str]:
    """Problems with one migration file name (empty list: the name is fine)."""
    match = MIGRATION_FILENAME_PATTERN.fullmatch(filename)
    if match is None:
        return [
            f"{filename}: expected <YYYYMMDDHHMM>_<domain>_<slug>.py"
            " (lower-case letters, digits and underscores)"
        ]
    problems: list[str] = []
    timestamp = match["timestamp"]
    try:
        datetime.strptime(timestamp, TIMESTAMP_FORMAT)
    except ValueError:
        problems.append(f"{filename}: {timestamp} is not a valid YYYYMMDDHHMM timestamp")
    rest = filename[len(timestamp) + 1 : -len(".py")]
    if _split_domain(rest, allowed_domains) is None:
        allowed = ", ".join(sorted(allowed_domains)) or "(none configured)"
        problems.append(f"{filename}: domain is not one of: {allowed}")
    return problems


def _revision_ids(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """``revision`` and ``down_revision`` of a migration file, read without importing it."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None, ()
    values: dict[str, Any] = {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    revision = values.get("revision")
    down = values.get("down_revision")
    downs: tuple[str, ...]
    if isinstance(down, str):
        downs = (down,)
    elif isinstance(down, list | tuple):
        downs = tuple(str(item) for item in down)
    else:
        downs = ()
    return (revision if isinstance(revision, str) else None), downs


def validate_migrations(versions_dir: Path, allowed_domains: Collection[str]) -> list[str]:
    """Problems with a ``versions/`` directory: names, duplicate timestamps, several heads."""
    files = migration_files(versions_dir)
    problems: list[str] = []
    by_timestamp: dict[str, list[str]] = {}
    revisions: dict[str, str] = {}
    referenced: set[str] = set()
    for path in files:
        problems.extend(validate_migration_filename(path.name, allowed_domains))
        match = MIGRATION_FILENAME_PATTERN.fullmatch(path.name)
        if match is not None:
            by_timestamp.setdefault(match["timestamp"], []).append(path.name)
        revision, downs = _revision_ids(path)
        if revision is None:
            problems.append(f'{path.name}: no `revision = "..."` found')
            continue
        if revision in revisions:
            problems.append(
                f"{path.name}: revision {revision} is also used by {revisions[revision]}"
            )
        revisions[revision] = path.name
        referenced.update(downs)
    for timestamp, names in sorted(by_timestamp.items()):
        if len(names) > 1:
            problems.append(f"timestamp {timestamp} is used by several files: {', '.join(names)}")
    heads = sorted(name for revision, name in revisions.items() if revision not in referenced)
    if len(heads) > 1:
        problems.append(
            f"several heads ({', '.join(heads)}): merge them (`alembic merge heads`) or rebase"
        )
    return problems


def _configure_kwargs(dialect_name: str, overrides: dict[str, Any]) -> dict[str, Any]:
    # SQLite cannot ALTER most things: batch mode rebuilds the table (needs named constraints).
    kwargs: dict[str, Any] = {"render_as_batch": dialect_name == "sqlite", "compare_type": True}
    kwargs.update(overrides)
    own = kwargs.get("include_name")
    kwargs["include_name"] = (
        _not_the_owner_table
        if own is None
        else lambda name, type_, parents: (
            _not_the_owner_table(name, type_, parents) and own(name, type_, parents)
        )
    )
    return kwargs


def _run_on_connection(
    connection: Connection,
    target_metadata: MetaData | None,
    overrides: dict[str, Any],
    owner: ServiceOwner | None = None,
) -> None:
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        **_configure_kwargs(connection.dialect.name, overrides),
    )
    with context.begin_transaction():
        if owner is not None:
            claim_database(connection, owner)
        context.run_migrations()


async def _run_online(
    url: str,
    target_metadata: MetaData | None,
    overrides: dict[str, Any],
    owner: ServiceOwner | None,
) -> None:
    # NullPool: this engine lives for one run on a loop of its own; nothing to keep pooled.
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_on_connection, target_metadata, overrides, owner)
    finally:
        await engine.dispose()


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_fresh_loop(coroutine_factory: Any) -> None:
    """``asyncio.run`` here, or in a worker thread when this thread already runs a loop."""
    if not _loop_is_running():
        asyncio.run(coroutine_factory())
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alembic") as executor:
        executor.submit(lambda: asyncio.run(coroutine_factory())).result()


def run_async_migrations(
    target_metadata: MetaData | None,
    url: str | SecretStr | None = None,
    *,
    owner: ServiceOwner | None = None,
    **configure_kwargs: Any,
) -> None:
    """The whole body of a service's async ``env.py``: offline or online, as Alembic asks.

    The URL is, in order: ``url``, the ``sqlalchemy.url`` attribute set by
    :func:`upgrade_to_head`, the ``sqlalchemy.url`` option of ``alembic.ini``. A sync
    ``Connection`` in ``config.attributes["connection"]`` is used as is (the Alembic cookbook
    pattern for tests). With ``owner`` (generated services pass theirs), an online run first
    checks the database is that service's (:func:`claim_database`). ``configure_kwargs`` go to
    ``context.configure``.
    """
    from alembic import context

    config = context.config
    connection = config.attributes.get(CONNECTION_ATTRIBUTE)
    if isinstance(connection, Connection):
        _run_on_connection(connection, target_metadata, configure_kwargs, owner)
        return

    given = reveal(url) if url is not None else None
    resolved = (
        given or config.attributes.get(URL_ATTRIBUTE) or config.get_main_option(URL_ATTRIBUTE)
    )
    if not resolved:
        raise MigrationsError(
            "no database URL for migrations: pass url=, or set sqlalchemy.url in alembic.ini"
        )
    if context.is_offline_mode():
        dialect_name = resolved.split(":", 1)[0].split("+", 1)[0]
        context.configure(
            url=resolved,
            target_metadata=target_metadata,
            literal_binds=True,
            dialect_opts={"paramstyle": "named"},
            **_configure_kwargs(dialect_name, configure_kwargs),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    _in_fresh_loop(lambda: _run_online(resolved, target_metadata, configure_kwargs, owner))


def upgrade_to_head(alembic_ini: Path, url: str | SecretStr, *, revision: str = "head") -> None:
    """``alembic upgrade head`` against ``url``. Blocking: call it in a thread from async code.

    Use ``%(here)s`` in ``script_location`` so the ini works from any working directory.
    """
    from alembic import command
    from alembic.config import Config

    alembic_ini = Path(alembic_ini)
    if not alembic_ini.is_file():
        raise MigrationsError(
            f"{alembic_ini} does not exist: run_migrations_on_startup needs the service's"
            " alembic.ini (pass alembic_ini= to create_app)"
        )
    config = Config(str(alembic_ini))
    config.attributes[URL_ATTRIBUTE] = reveal(url)
    command.upgrade(config, revision)


def migration_files(versions_dir: Path) -> list[Path]:
    """The migration files of ``versions_dir`` in timestamp order."""
    return sorted(path for path in Path(versions_dir).glob("*.py") if path.name != "__init__.py")
