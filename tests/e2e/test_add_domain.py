"""End to end: new service -> add domain users/admin/billing -> add task, in the fresh venv.

The generated service (with its three new domains and a task) is installed into the shared
``service_venv`` and checked with its own tools: its test suite (SQLite always; PostgreSQL and
Redis when reachable, always under ``SPAPS_REQUIRE_SERVICES=1``), ``alembic upgrade head`` +
``alembic check``, and a real uvicorn serving the OpenAPI schema and the RBAC answers (no token
401, user token 403 on admin routes, admin token 200).

Lives next to ``tests/e2e/conftest.py`` so it shares the one virtualenv of the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.testing.services import REDIS_URL, TemporaryDatabase, require_service

from .conftest import ServiceVenv, free_port, wait_until

pytestmark = pytest.mark.e2e

#: Not billing-api: test_new_service.py installs that one into the same virtualenv.
NAME = "shop-api"
PACKAGE = "shop_api"
E2E_REDIS_DB = 10
SECRET = "e2e-add-domain-secret"

NEW_ROUTES = {
    ("GET", "/users/me"),
    ("PATCH", "/users/me"),
    ("GET", "/admin/users"),
    ("GET", "/admin/users/{user_id}"),
    ("PUT", "/admin/users/{user_id}"),
    ("DELETE", "/admin/users/{user_id}"),
    ("GET", "/billing/items"),
    ("POST", "/billing/items"),
    ("GET", "/billing/items/{item_id}"),
    ("PATCH", "/billing/items/{item_id}"),
    ("DELETE", "/billing/items/{item_id}"),
}


def _spaps(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, f"spaps {' '.join(args)}:\n{completed.stderr}"
    return completed


@pytest.fixture(scope="module")
def grown_service(service_venv: ServiceVenv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real command lines, in order, then ``pip install -e`` into the shared venv."""
    workdir = tmp_path_factory.mktemp("e2e-add-domain")
    _spaps("new", "service", NAME, cwd=workdir)
    root = workdir / NAME
    for domain in ("users", "admin", "billing"):
        _spaps("add", "domain", domain, cwd=root)
    _spaps("add", "task", "send_invoice", "--domain", "billing", cwd=root)
    service_venv.install_service(root)
    return root


def _test_outcomes(output: str) -> dict[str, str]:
    """``path::test`` -> PASSED/FAILED/... from ``pytest -v`` output."""
    return dict(re.findall(r"^(tests/\S+::\S+) (PASSED|FAILED|ERROR|SKIPPED)", output, re.M))


def _assert_suite_passed(output: str) -> None:
    outcomes = _test_outcomes(output)
    assert outcomes, output
    bad = {test: outcome for test, outcome in outcomes.items() if outcome != "PASSED"}
    assert not bad, output
    files = {test.split("::")[0] for test in outcomes}
    assert {
        "tests/domains/test_users_domain.py",
        "tests/domains/test_admin_domain.py",
        "tests/domains/test_billing_domain.py",
        "tests/domains/test_billing_task_send_invoice.py",
    } <= files
    assert (
        "tests/domains/test_billing_task_send_invoice.py::test_send_invoice_runs_on_the_worker"
        in (outcomes)
    )


def test_the_services_own_suite_passes_on_sqlite(
    service_venv: ServiceVenv, grown_service: Path
) -> None:
    result = service_venv.run(["pytest", "-v", "-p", "no:cacheprovider"], cwd=grown_service)

    _assert_suite_passed(result.stdout)


def test_the_services_own_suite_passes_on_postgres_and_redis(
    service_venv: ServiceVenv, grown_service: Path, postgres_database: TemporaryDatabase
) -> None:
    require_service("Redis", REDIS_URL)
    broker = f"{REDIS_URL.rsplit('/', 1)[0]}/{E2E_REDIS_DB}"
    env = {
        "DATABASE_URL": postgres_database.url,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
    }

    result = service_venv.run(
        ["pytest", "-v", "-p", "no:cacheprovider"], cwd=grown_service, env=env
    )

    _assert_suite_passed(result.stdout)


def _upgrade_and_check(service_venv: ServiceVenv, root: Path, url: str) -> None:
    env = {"DATABASE_URL": url}
    upgraded = service_venv.run(["alembic", "upgrade", "head"], cwd=root, env=env)
    for domain in ("users", "admin", "billing"):
        assert f"{domain}: create the domain's tables" in upgraded.stderr, upgraded.stderr
    checked = service_venv.run(["alembic", "check"], cwd=root, env=env)
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    history = service_venv.run(["alembic", "heads"], cwd=root, env=env)
    assert len(history.stdout.strip().splitlines()) == 1, history.stdout


def test_alembic_applies_every_migration_without_drift_on_sqlite(
    service_venv: ServiceVenv, grown_service: Path, tmp_path: Path
) -> None:
    _upgrade_and_check(
        service_venv, grown_service, f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    )


def test_alembic_applies_every_migration_without_drift_on_postgres(
    service_venv: ServiceVenv, grown_service: Path, postgres_database: TemporaryDatabase
) -> None:
    _upgrade_and_check(service_venv, grown_service, postgres_database.url)


def _request(url: str, token: str | None = None) -> tuple[int, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_uvicorn_serves_the_new_routes_with_rbac(
    service_venv: ServiceVenv, grown_service: Path, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        "CELERY_FILESYSTEM_FOLDER": str(tmp_path / "broker"),
        "AUTH_MODE": "local",
        "AUTH_LOCAL_SECRET": SECRET,
    }
    service_venv.run(["alembic", "upgrade", "head"], cwd=grown_service, env=env)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = ["uvicorn", f"{PACKAGE}.main:app", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path / "uvicorn.log"
    user = mint_dev_token(SECRET, "e2e-user")
    admin = mint_dev_token(SECRET, "e2e-admin", roles=["admin"])

    with service_venv.background(argv, cwd=grown_service, env=env, log=log) as process:

        def answering() -> bool:
            if process.poll() is not None:
                return True
            try:
                return _request(f"{base}/health/live")[0] == 200
            except OSError:
                return False

        assert wait_until(answering, timeout=60), log.read_text()
        assert process.poll() is None, log.read_text()

        status, schema = _request(f"{base}/openapi.json")
        assert status == 200
        assert isinstance(schema, dict)
        listed = {
            (method.upper(), path)
            for path, operations in schema["paths"].items()
            for method in operations
        }
        assert listed >= NEW_ROUTES, sorted(NEW_ROUTES - listed)

        assert _request(f"{base}/admin/users")[0] == 401
        assert _request(f"{base}/admin/users", user)[0] == 403
        assert _request(f"{base}/admin/users", admin) == (
            200,
            {"items": [], "total": 0, "limit": 50, "offset": 0},
        )
        status, me = _request(f"{base}/users/me", user)
        assert status == 200
        assert isinstance(me, dict)
        assert (me["user_id"], me["roles"]) == ("e2e-user", ["user"])
        assert _request(f"{base}/billing/items", user)[0] == 200
        assert _request(f"{base}/billing/items/1", user)[0] == 404


def test_the_grown_service_type_checks_under_its_strict_mypy_config(
    grown_service: Path, tmp_path: Path
) -> None:
    """The service's own ``[tool.mypy]`` (strict, src + tests) passes on generated + edited code.

    Run with the repository's mypy (the service venv has no dev extras); the service's runtime
    is the same checkout, so the types are the ones the service will see.
    """
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache")],
        cwd=grown_service,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found" in checked.stdout
