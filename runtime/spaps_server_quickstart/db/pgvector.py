"""pgvector support: the ``Vector`` column type, the migration helpers and a readiness check.

Everything here is optional: the ``pgvector`` Python package comes with the runtime's
``pgvector`` extra, and the ``vector`` extension must exist on the PostgreSQL server. Importing
this module never imports ``pgvector``; ``Vector`` (and ``HALFVEC``, ``SPARSEVEC``, ``BIT``) are
resolved on first use, so a service without the extra gets a one-line "install the extra" error
at the column definition instead of an ``ImportError`` deep in its model imports.

The migration helpers are no-ops on dialects other than PostgreSQL: the same initial migration
runs on the SQLite development default (where vector columns cannot exist anyway, so keep them
out of SQLite code paths) and on PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import text

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

EXTENSION_NAME = "vector"
_PGVECTOR_TYPES = ("Vector", "VECTOR", "HALFVEC", "SPARSEVEC", "BIT")
_INSTALL_HINT = "pip install 'spaps-server-quickstart[pgvector]'"


class VectorExtensionMissingError(RuntimeError):
    """The database cannot store vectors: not PostgreSQL, or the extension is not created."""


def __getattr__(name: str) -> Any:
    if name not in _PGVECTOR_TYPES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from pgvector import sqlalchemy as pgvector_sqlalchemy
    except ImportError as error:
        raise ImportError(f"{name} needs the pgvector package: {_INSTALL_HINT}") from error
    value = getattr(pgvector_sqlalchemy, name)
    globals()[name] = value
    return value


def _dialect_name(op: Any) -> str:
    # ``op.get_context()`` works online and offline (``alembic upgrade --sql``), unlike get_bind().
    return str(op.get_context().dialect.name)


def create_vector_extension(op: Any) -> None:
    """``CREATE EXTENSION IF NOT EXISTS vector`` in a migration's ``upgrade()``.

    Creating an extension needs a role allowed to do so (superuser, or the database owner for
    trusted extensions); managed PostgreSQL services usually allow ``vector`` for the owner.
    """
    if _dialect_name(op) == "postgresql":
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {EXTENSION_NAME}")


def drop_vector_extension(op: Any) -> None:
    """The ``downgrade()`` counterpart of :func:`create_vector_extension`."""
    if _dialect_name(op) == "postgresql":
        op.execute(f"DROP EXTENSION IF EXISTS {EXTENSION_NAME}")


async def check_vector_extension(engine: AsyncEngine) -> str:
    """Return the installed ``vector`` extension version, or raise a message that says what to do.

    Meant for ``/health/ready`` of a service that stores vectors: without the extension every
    query on a vector column fails, so the service is not ready even though ``SELECT 1`` works.
    """
    dialect = engine.dialect.name
    if dialect != "postgresql":
        raise VectorExtensionMissingError(
            f"pgvector needs PostgreSQL, the database is {dialect}:"
            " set DATABASE_URL to a postgresql+asyncpg:// URL"
        )
    async with engine.connect() as connection:
        installed = (
            await connection.execute(
                text("SELECT extversion FROM pg_extension WHERE extname = :name"),
                {"name": EXTENSION_NAME},
            )
        ).scalar_one_or_none()
        if installed is not None:
            return str(installed)
        available = (
            await connection.execute(
                text("SELECT default_version FROM pg_available_extensions WHERE name = :name"),
                {"name": EXTENSION_NAME},
            )
        ).scalar_one_or_none()
        database = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    if available is None:
        raise VectorExtensionMissingError(
            f"the PostgreSQL server of database {database!r} has no 'vector' extension"
            " available: use a server with pgvector installed (e.g. the pgvector/pgvector image)"
        )
    raise VectorExtensionMissingError(
        f"the 'vector' extension (available: {available}) is not created in database"
        f" {database!r}: run the migrations (create_vector_extension(op)) or"
        " CREATE EXTENSION vector"
    )
