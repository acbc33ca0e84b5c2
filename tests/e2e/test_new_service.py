"""End to end: generate a service, install it in a fresh virtualenv, and run it for real.

SQLite and the embedded defaults always; PostgreSQL and Redis on this machine when they are
reachable (and always under ``SPAPS_REQUIRE_SERVICES=1``, where their absence fails the test).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from spaps_server_quickstart.testing.services import REDIS_URL, TemporaryDatabase, require_service

from .conftest import REPO_ROOT, ServiceVenv, free_port, wait_until

pytestmark = pytest.mark.e2e

NAME = "billing-api"
PACKAGE = "billing_api"

#: A Redis database of its own: a worker of another test run on the usual test db could
#: otherwise take this test's tasks.
E2E_REDIS_DB = 9


@pytest.fixture(scope="module")
def service(service_venv: ServiceVenv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``spaps new service`` (the real command line), then ``pip install -e`` in the venv."""
    workdir = tmp_path_factory.mktemp("e2e-service")
    generated = subprocess.run(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", "new", "service", NAME],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    root = workdir / NAME
    service_venv.install_service(root)
    return root


@pytest.fixture
def redis_broker_url() -> str:
    require_service("Redis", REDIS_URL)
    base = REDIS_URL.rsplit("/", 1)[0]
    return f"{base}/{E2E_REDIS_DB}"


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    """Embedded defaults, but with every file they create inside this test's temp dir."""
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        "CELERY_FILESYSTEM_FOLDER": str(tmp_path / "broker"),
        "CELERY_RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'results.sqlite'}",
    }


def _passed(output: str) -> int:
    for line in reversed(output.splitlines()):
        if " passed" in line:
            return int(line.split(" passed")[0].split()[-1])
    return 0


def test_generated_tests_pass_on_embedded_defaults(
    service_venv: ServiceVenv, service: Path
) -> None:
    result = service_venv.run(["pytest", "-q", "-p", "no:cacheprovider", "-rs"], cwd=service)
    assert _passed(result.stdout) >= 10, result.stdout
    assert "skipped" not in result.stdout
    assert "failed" not in result.stdout


def test_generated_tests_pass_on_postgres_and_redis(
    service_venv: ServiceVenv,
    service: Path,
    postgres_database: TemporaryDatabase,
    redis_broker_url: str,
) -> None:
    import redis

    started = datetime.now(UTC) - timedelta(seconds=5)  # slack for clock rounding
    env = {
        "DATABASE_URL": postgres_database.url,
        "CELERY_BROKER_URL": redis_broker_url,
        "CELERY_RESULT_BACKEND": redis_broker_url,
    }
    result = service_venv.run(
        ["pytest", "-q", "-p", "no:cacheprovider", "-rs"], cwd=service, env=env
    )
    assert _passed(result.stdout) >= 10, result.stdout
    assert "skipped" not in result.stdout

    # The ping test's result went through the real Redis: find it there.
    client = redis.Redis.from_url(redis_broker_url)
    try:
        stored = [
            json.loads(client.get(key) or b"{}") for key in client.scan_iter("celery-task-meta-*")
        ]
    finally:
        client.close()
    pings = [
        entry
        for entry in stored
        if isinstance(entry.get("result"), dict)
        and entry["result"].get("request_id") == "test-request-ping"
        and _utc(entry["date_done"]) >= started
    ]
    assert pings, "the generated ping test did not store its result in Redis"

    # Negative control: the suite really uses DATABASE_URL (a missing database fails it).
    missing = postgres_database.url.rsplit("/", 1)[0] + "/spaps_e2e_missing_database"
    control = service_venv.run(
        ["pytest", "-q", "-p", "no:cacheprovider", "-x", "tests/test_database.py"],
        cwd=service,
        env={**env, "DATABASE_URL": missing},
        check=False,
    )
    assert control.returncode != 0
    assert "spaps_e2e_missing_database" in control.stdout


def _utc(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _alembic_upgrade_and_check(
    service_venv: ServiceVenv, service: Path, env: dict[str, str]
) -> None:
    upgraded = service_venv.run(["alembic", "upgrade", "head"], cwd=service, env=env)
    assert "core_initial" in upgraded.stderr or "Running upgrade" in upgraded.stderr, (
        upgraded.stderr
    )
    current = service_venv.run(["alembic", "current"], cwd=service, env=env)
    assert "(head)" in current.stdout, current.stdout + current.stderr
    checked = service_venv.run(["alembic", "check"], cwd=service, env=env)
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr


def test_alembic_upgrade_head_and_no_drift_on_sqlite(
    service_venv: ServiceVenv, service: Path, embedded_env: dict[str, str]
) -> None:
    _alembic_upgrade_and_check(service_venv, service, embedded_env)


def test_alembic_upgrade_head_and_no_drift_on_postgres(
    service_venv: ServiceVenv, service: Path, postgres_database: TemporaryDatabase
) -> None:
    _alembic_upgrade_and_check(service_venv, service, {"DATABASE_URL": postgres_database.url})


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_uvicorn_serves_health(
    service_venv: ServiceVenv, service: Path, embedded_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = ["uvicorn", f"{PACKAGE}.main:app", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "uvicorn.log"
    with service_venv.background(argv, cwd=service, env=embedded_env, log=log) as process:

        def answering() -> bool:
            if process.poll() is not None:
                return True
            try:
                return _get(f"{base}/health")[0] == 200
            except OSError:
                return False

        assert wait_until(answering, timeout=60), log.read_text()
        assert process.poll() is None, log.read_text()
        assert _get(f"{base}/health") == (200, {"status": "ok"})
        status, ready = _get(f"{base}/health/ready")
        assert status == 200, ready
        assert _get(f"{base}/meta")[0] == 401  # everything but health needs a token
    assert process.returncode is not None


PING_CLIENT = """
import json
from spaps_server_quickstart.request_context import request_id_var
from billing_api.worker import ping

request_id_var.set("e2e-request-7")
result = ping.delay()
print(json.dumps({"id": result.id, "payload": result.get(timeout=60)}))
"""


@pytest.fixture(params=["embedded", "redis"])
def broker_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The filesystem broker of the embedded defaults, or the real Redis."""
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"}
    if request.param == "embedded":
        return {
            **env,
            "CELERY_FILESYSTEM_FOLDER": str(tmp_path / "broker"),
            "CELERY_RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'results.sqlite'}",
        }
    url: str = request.getfixturevalue("redis_broker_url")
    return {**env, "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url}


def test_celery_worker_process_runs_ping(
    service_venv: ServiceVenv, service: Path, broker_env: dict[str, str], tmp_path: Path
) -> None:
    """A `celery worker` process and a publishing process, as in production (or the laptop)."""
    argv = [
        "celery",
        "--app",
        f"{PACKAGE}.worker",
        "worker",
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    log = tmp_path / "worker.log"
    with service_venv.background(argv, cwd=service, env=broker_env, log=log) as worker:
        assert wait_until(
            lambda: b"ready." in log.read_bytes() or worker.poll() is not None, timeout=60
        ), log.read_text()
        assert worker.poll() is None, log.read_text()
        client_run = service_venv.run(
            ["python", "-c", PING_CLIENT], cwd=service, env=broker_env, timeout=90
        )
    reply = json.loads(client_run.stdout.strip().splitlines()[-1])
    assert reply["payload"] == {"pong": True, "request_id": "e2e-request-7", "task_id": reply["id"]}
    assert f"Task spaps.ping[{reply['id']}] succeeded" in log.read_text()
    broker = broker_env.get("CELERY_BROKER_URL", "")
    if broker.startswith("redis://"):
        import redis

        client = redis.Redis.from_url(broker)
        try:
            assert client.exists(f"celery-task-meta-{reply['id']}") == 1
        finally:
            client.close()


def test_installed_wheel_renders_the_same_service(
    service_venv: ServiceVenv, tmp_path: Path
) -> None:
    """The wheel carries the templates (force-included as spaps_cli/templates) and the matrix."""
    from spaps_cli.generators.templates_location import CANDIDATES

    service_venv.pip_install(REPO_ROOT)  # not editable: the wheel, as users get it
    located = service_venv.run(
        [
            "python",
            "-c",
            "from spaps_cli.generators.templates_location import template_tree;"
            " print(template_tree('service'))",
        ],
        cwd=tmp_path,
    )
    packaged = Path(located.stdout.strip())
    assert packaged.parent.parent.name == "spaps_cli"  # .../site-packages/spaps_cli/templates
    assert packaged.parent != CANDIDATES[1]  # not the checkout's templates/

    target = tmp_path / NAME
    service_venv.run(["spaps", "new", "service", NAME, "--dir", str(target)], cwd=tmp_path)

    def tree(root: Path) -> dict[str, str]:
        """Every file, the clock's timestamp and the random ``service-id`` and local secret masked."""
        recorded = re.search(r'^service-id = "(\w+)"$', (root / "pyproject.toml").read_text(), re.M)
        assert recorded is not None

        def masked(text: str) -> str:
            text = re.sub(r"AUTH_LOCAL_SECRET=\S+", "AUTH_LOCAL_SECRET=<secret>", text)
            return re.sub(r"\d{12}", "<ts>", text.replace(recorded.group(1), "<service-id>"))

        # The vendored wheels are packed from whichever CLI runs (an installed wheel here, the
        # checkout there), so their bytes differ by design: compared by name and as archives.
        return {
            masked(p.relative_to(root).as_posix()): (
                "<wheel>" if p.suffix == ".whl" and zipfile.is_zipfile(p) else masked(p.read_text())
            )
            for p in root.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
        }

    from spaps_cli.generators.service import ServiceAnswers, generate_service
    from spaps_cli.names import service_name

    from_checkout = tmp_path / "from-checkout" / NAME
    generate_service(ServiceAnswers.build(service_name(NAME)), destination=from_checkout)
    generated = tree(target)
    assert generated == tree(from_checkout)  # every file, same content, from the wheel
