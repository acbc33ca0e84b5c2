"""Database pieces: engine/session resources, the request session dependency, the declarative
base with its naming convention, and the Alembic helpers."""

from __future__ import annotations

from .base import NAMING_CONVENTION, Base, create_metadata
from .migrations import (
    MIGRATION_FILENAME_PATTERN,
    ForeignDatabaseError,
    MigrationsError,
    ServiceOwner,
    claim_database,
    run_async_migrations,
    upgrade_to_head,
    validate_migration_filename,
    validate_migrations,
)
from .resources import DatabaseResources
from .session import DatabaseNotConfiguredError, DbSession, get_database, get_db_session

__all__ = [
    "MIGRATION_FILENAME_PATTERN",
    "NAMING_CONVENTION",
    "Base",
    "DatabaseNotConfiguredError",
    "DatabaseResources",
    "DbSession",
    "ForeignDatabaseError",
    "MigrationsError",
    "ServiceOwner",
    "claim_database",
    "create_metadata",
    "get_database",
    "get_db_session",
    "run_async_migrations",
    "upgrade_to_head",
    "validate_migration_filename",
    "validate_migrations",
]
