"""Declarative base with the naming convention every SPAPS service shares.

Named constraints are what make migrations reversible (a ``DROP CONSTRAINT`` needs a name) and
what lets SQLite's batch mode rebuild a table. The convention is the standard one from the
SQLAlchemy/Alembic docs, so names are predictable from the model alone.

Names longer than the database allows (PostgreSQL: 63 bytes) are shortened deterministically
by SQLAlchemy when the DDL is compiled: the first ``63 - 8`` characters, ``_`` and four hex
characters of the MD5 of the full name (``uq_a_really_long_table_name_..._trun_70ba``). The
same model therefore always produces the same name, and Alembic's ``op.f()`` names compile to
the same shortened name. Keep identifiers ASCII: SQLAlchemy counts characters, PostgreSQL bytes.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

#: PostgreSQL's NAMEDATALEN - 1.
POSTGRES_MAX_IDENTIFIER_BYTES = 63

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def create_metadata(schema: str | None = None) -> MetaData:
    """A fresh ``MetaData`` carrying :data:`NAMING_CONVENTION` (one per service or test)."""
    return MetaData(naming_convention=dict(NAMING_CONVENTION), schema=schema)


class Base(DeclarativeBase):
    """The base class for a service's models.

    Every model shares the one ``metadata`` below, which the service's Alembic ``env.py``
    passes as ``target_metadata``.
    """

    metadata = create_metadata()
