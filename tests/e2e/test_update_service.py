"""End to end: a service generated at template 1 and edited by its team, updated to template 2
(synthesised as a template release would change the tree), then checked by its own test suite
and by ``spaps smoke`` (the app, its migrations and a Celery worker booted for real, on the
embedded defaults: a SQLite file and the filesystem broker).

Shares the one virtualenv of the run (``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spaps_cli.fleet.smoke import STAGES
from spaps_cli.update.run import run_update
from tests.update.scenario import edit_like_a_team, make_template_v2

from .conftest import ServiceVenv

pytestmark = pytest.mark.e2e

#: Not a name the other end-to-end tests install into the same virtualenv.
NAME = "ledger-api"
PACKAGE = "ledger_api"


def _spaps(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, (
        f"spaps {' '.join(args)}:\n{completed.stdout[-4000:]}\n{completed.stderr}"
    )
    return completed


def test_updated_service_passes_its_own_tests_and_smoke(
    service_venv: ServiceVenv, tmp_path: Path
) -> None:
    _spaps("new", "service", NAME, cwd=tmp_path)
    root = tmp_path / NAME
    edit_like_a_team(root, PACKAGE, lambda domain: _spaps("add", "domain", domain, cwd=root))
    versions = make_template_v2(tmp_path / "history")

    code = run_update(
        root, to=None, check=False, diff=False, dry_run=False, json_output=True, versions=versions
    )

    assert code == 0
    assert (root / "src" / PACKAGE / "api" / "status.py").is_file()
    service_venv.install_service(root)
    result = service_venv.run(["pytest", "-v", "-p", "no:cacheprovider"], cwd=root, check=False)
    outcomes = dict(re.findall(r"^(tests/\S+::\S+) (PASSED|FAILED|ERROR)", result.stdout, re.M))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert any("orders" in test for test in outcomes), "the team's domain tests ran"
    # the template's new route is registered next to the team's domain
    probe = service_venv.run(
        [
            "python",
            "-c",
            f"from {PACKAGE}.main import create_app; "
            "print(sorted(create_app().openapi()['paths']))",
        ],
        cwd=root,
    )
    assert "'/status'" in probe.stdout
    assert "'/orders" in probe.stdout
    # and it boots: migrations, the app, a worker, a task round trip (the service's interpreter)
    smoke = _spaps(
        "smoke",
        str(root),
        "--python",
        str(service_venv.python),
        "--logs",
        str(tmp_path / "smoke-logs"),
        "--json",
        cwd=root,
        env=service_venv.environment(),
        timeout=300,
    )
    report = json.loads(smoke.stdout)
    assert report["failed_stage"] is None, report["error"]
    assert [stage["stage"] for stage in report["stages"]] == list(STAGES)
    assert all(stage["ok"] for stage in report["stages"]), report["stages"]
