"""Revision ids are unique across a fleet, and a service refuses to migrate another's database.

Two services generated in the same minute used to share their initial revision
(``<YYYYMMDDHHMM>_core``): migrating one's database with the other's history found it "at head"
and ``spaps smoke`` passed every stage with nothing migrated. Each service now records a random
``service-id`` that is part of every revision id it generates, and its ``env.py`` checks the
owner marker in the database before any migration runs.
"""

from __future__ import annotations

import ast
import asyncio
import os
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps
from spaps_server_quickstart.testing.services import TemporaryDatabase

from spaps_cli.generators.domain import generate_domain
from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name
from spaps_cli.plan import ConflictPolicy

from .test_smoke import smoke

SAME_MINUTE = datetime(2026, 12, 5, 9, 30)


def revisions(service: Path) -> dict[str, str]:
    """file name -> ``revision`` of every migration of ``service``."""
    found = {}
    for path in sorted((service / "migrations" / "versions").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.AnnAssign | ast.Assign):
                target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
                if isinstance(target, ast.Name) and target.id == "revision":
                    assert node.value is not None
                    found[path.name] = ast.literal_eval(node.value)
    return found


def make(destination: Path, name: str, *domains: str) -> Path:
    generate_service(
        ServiceAnswers.build(service_name(name)), destination=destination, now=SAME_MINUTE
    )
    for domain in domains:
        generate_domain(domain, start=destination, now=SAME_MINUTE, diffs=False)
    return destination


@pytest.mark.parametrize("names", [("billing-api", "ledger"), ("billing-api", "billing-api")])
def test_services_generated_in_the_same_minute_share_no_revision(
    tmp_path: Path, names: tuple[str, str]
) -> None:
    """Even two services of the same name (two teams, two directories) get distinct ids."""
    first = make(tmp_path / "one" / names[0], names[0], "users")
    second = make(tmp_path / "two" / names[1], names[1], "users")
    mine, theirs = revisions(first), revisions(second)
    assert mine.keys() == theirs.keys(), "file names still follow the same rule"
    assert not set(mine.values()) & set(theirs.values())
    for revision in [*mine.values(), *theirs.values()]:
        assert len(revision) <= 32, "alembic_version.version_num is VARCHAR(32)"


def test_regenerating_keeps_the_service_id_and_the_revisions(tmp_path: Path) -> None:
    service = make(tmp_path / "billing-api", "billing-api")
    before = revisions(service)
    spaps = tomllib.loads((service / "pyproject.toml").read_text())["tool"]["spaps"]
    generate_service(
        ServiceAnswers.build(service_name("billing-api")),
        destination=service,
        now=datetime(2027, 1, 1),
        policy=ConflictPolicy.FORCE,
    )
    again = tomllib.loads((service / "pyproject.toml").read_text())["tool"]["spaps"]
    assert again["service-id"] == spaps["service-id"]
    assert revisions(service) == before
    assert spaps["service-id"] in next(iter(before.values()))


def alembic_upgrade(service: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """``alembic upgrade head`` as a deployment runs it: the service's own alembic.ini."""
    package = tomllib.loads((service / "pyproject.toml").read_text())["tool"]["spaps"]["package"]
    return (
        subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "-c",
                str(service / "alembic.ini"),
                "upgrade",
                "head",
            ],
            cwd=service,
            env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(service / "src")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if package
        else pytest.fail("no package")
    )


async def _tables(url: str) -> set[str]:
    from sqlalchemy import inspect
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    database: TemporaryDatabase = request.getfixturevalue("machine_postgres_database")
    return database.url


@pytest.mark.services
def test_migrating_another_services_database_fails(tmp_path: Path, database_url: str) -> None:
    owner = make(tmp_path / "billing-api", "billing-api", "invoices")
    intruder = make(tmp_path / "ledger", "ledger", "entries")

    first = alembic_upgrade(owner, database_url)
    assert first.returncode == 0, first.stderr
    tables = asyncio.run(_tables(database_url))
    assert "spaps_service" in tables
    assert "alembic_version" in tables

    refused = alembic_upgrade(intruder, database_url)
    assert refused.returncode != 0
    assert "belongs to service 'billing-api'" in refused.stderr
    assert "not to 'ledger'" in refused.stderr
    assert asyncio.run(_tables(database_url)) == tables, "nothing of ledger's was created"

    again = alembic_upgrade(owner, database_url)
    assert again.returncode == 0, again.stderr


@pytest.mark.services
def test_smoke_against_another_services_database_fails_at_migrate(
    tmp_path: Path, run_spaps: RunSpaps
) -> None:
    owner = make(tmp_path / "billing-api", "billing-api")
    intruder = make(tmp_path / "ledger", "ledger")
    url = f"sqlite+aiosqlite:///{tmp_path / 'billing.db'}"
    assert alembic_upgrade(owner, url).returncode == 0

    code, report = smoke(run_spaps, intruder, tmp_path, "--database-url", url)
    assert code == 1
    assert report["failed_stage"] == "migrate", report["error"]
    assert "belongs to service 'billing-api'" in report["error"]
