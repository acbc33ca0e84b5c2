"""Real PostgreSQL, Redis and RabbitMQ for tests, never mocks.

Locally a test that needs a service skips when the service is unreachable. With
``SPAPS_REQUIRE_SERVICES=1`` (set by CI) an unreachable service is a failure, so a green run
always means the real service was exercised.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest

from spaps_server_quickstart.redaction import mask_url_password

REQUIRE_SERVICES_ENV = "SPAPS_REQUIRE_SERVICES"

POSTGRES_URL = os.environ.get(
    "SPAPS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SPAPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("SPAPS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


def services_required() -> bool:
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() in {"1", "true", "yes"}


def is_reachable(url: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or {"postgresql": 5432, "redis": 6379, "amqp": 5672}.get(
        parts.scheme.split("+")[0], 0
    )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, url: str) -> None:
    """Skip (locally) or fail (under ``SPAPS_REQUIRE_SERVICES=1``) when ``url`` is unreachable."""
    if is_reachable(url):
        return
    message = f"{name} is not reachable at {mask_url_password(url)}"
    if services_required():
        pytest.fail(f"{message} and {REQUIRE_SERVICES_ENV}=1: start it (see .ci/run)")
    pytest.skip(message)


@dataclass(frozen=True)
class TemporaryDatabase:
    """A database created for one test (or session) and dropped afterwards."""

    name: str
    url: str  # postgresql+asyncpg://.../<name>


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_temporary_database(prefix: str = "spaps_test") -> TemporaryDatabase:
    require_service("PostgreSQL", POSTGRES_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    parts = urlsplit(POSTGRES_URL)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    return TemporaryDatabase(name=name, url=url)


def drop_temporary_database(database: TemporaryDatabase) -> None:
    asyncio.run(_admin(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'))


@pytest.fixture
def postgres_database() -> Iterator[TemporaryDatabase]:
    """A fresh, empty PostgreSQL database (asyncpg URL) dropped after the test."""
    database = create_temporary_database()
    try:
        yield database
    finally:
        drop_temporary_database(database)


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture
def amqp_url() -> str:
    require_service("RabbitMQ", AMQP_URL)
    return AMQP_URL
