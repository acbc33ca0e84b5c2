"""End to end: a service's own tests against a runtime release with a breaking change, before and
after ``spaps update --runtime``.

The release is the scenario's 2.0.0 (tests/update/runtime_scenario.py): this checkout's runtime
with ``create_metadata``, which every service's ``db.py`` calls, renamed to ``build_metadata`` and
the old name removed. It is built into a wheel and installed with ``pip --target`` into a
directory put first on the service's ``PYTHONPATH``: the run's shared virtualenv
(``tests/e2e/conftest.py``) keeps its 1.0.0 for the other e2e modules, and the service's tests
import 2.0.0 (its code and its distribution metadata) ahead of it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spaps_cli.update.run import run_update
from tests.update.runtime_scenario import (
    NEW,
    OLD,
    REGISTRY,
    make_runtime_v2,
    make_template_v2_on_runtime_v2,
    matrix_with_v2,
)

from .conftest import ServiceVenv

pytestmark = pytest.mark.e2e

#: Not a name the other end-to-end tests install into the same virtualenv.
NAME = "stock-api"
PACKAGE = "stock_api"


def _service_tests(venv: ServiceVenv, root: Path, env: dict[str, str]) -> tuple[int, str]:
    result = venv.run(["pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env, check=False)
    return result.returncode, result.stdout + result.stderr


def test_service_tests_fail_on_the_new_runtime_until_updated(
    service_venv: ServiceVenv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)  # the service's runtime, not pytest's
    completed = subprocess.run(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", "new", "service", NAME],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    root = tmp_path / NAME
    service_venv.install_service(root)
    runtime_v2 = tmp_path / "runtime-v2-site"
    service_venv.pip_install("--no-deps", "--target", runtime_v2, make_runtime_v2(tmp_path))
    on_v2 = {"PYTHONPATH": str(runtime_v2)}
    probe = service_venv.run(
        [
            "python",
            "-c",
            "import importlib.metadata as m, spaps_server_quickstart as s;"
            " print(m.version('spaps-server-quickstart'), s.__version__, s.__file__)",
        ],
        cwd=root,
        env=on_v2,
    )
    assert probe.stdout.startswith(f"2.0.0 2.0.0 {runtime_v2}"), probe.stdout

    # on 1.0.0 the generated service passes its own tests; on 2.0.0 it cannot even import
    code, output = _service_tests(service_venv, root, {})
    assert code == 0, output[-4000:]
    code, output = _service_tests(service_venv, root, on_v2)
    assert code != 0
    assert f"cannot import name '{OLD}'" in output, output[-4000:]

    exit_code = run_update(
        root,
        to=None,
        runtime="2.0.0",
        check=False,
        diff=False,
        dry_run=False,
        json_output=True,
        matrix=matrix_with_v2(),
        registry=REGISTRY,
    )

    # 3: the one follow-up is the vendored 1.0.0 wheel [tool.uv.sources] names (pip ignores it)
    assert exit_code == 3
    db = (root / "src" / PACKAGE / "db.py").read_text(encoding="utf-8")
    assert f"metadata = {NEW}()" in db
    code, output = _service_tests(service_venv, root, on_v2)
    assert code == 0, output[-4000:]
    assert " passed" in output


def test_a_template_update_that_raises_the_pin_carries_the_code_across(
    service_venv: ServiceVenv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Template 2 released with runtime 2.0.0: ``spaps update`` (no ``--runtime``) merges the
    template, moves the pin and migrates the team's code, and the service passes its own tests
    on 2.0.0."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    name, package = "depot-api", "depot_api"
    completed = subprocess.run(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", "new", "service", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    root = tmp_path / name
    # the team's own use of the old name, in a module of its own and next to the template's
    (root / "src" / package / "reports.py").write_text(
        f"from spaps_server_quickstart.db import {OLD}\n\nreporting_metadata = {OLD}()\n",
        encoding="utf-8",
    )
    with (root / "src" / package / "db.py").open("a", encoding="utf-8") as handle:
        handle.write(f"\n\naudit_metadata = {OLD}()\n")
    (root / "tests" / "test_reports.py").write_text(
        f"from {package}.db import audit_metadata\nfrom {package}.reports import"
        " reporting_metadata\n\n\ndef test_team_metadata() -> None:\n"
        "    assert reporting_metadata is not audit_metadata\n",
        encoding="utf-8",
    )
    service_venv.install_service(root)
    runtime_v2 = tmp_path / "runtime-v2-site"
    service_venv.pip_install("--no-deps", "--target", runtime_v2, make_runtime_v2(tmp_path))
    on_v2 = {"PYTHONPATH": str(runtime_v2)}
    code, output = _service_tests(service_venv, root, on_v2)
    assert f"cannot import name '{OLD}'" in output, output[-4000:]

    exit_code = run_update(
        root,
        to=None,
        check=False,
        diff=False,
        dry_run=False,
        json_output=True,
        versions=make_template_v2_on_runtime_v2(tmp_path / "history"),
        registry=REGISTRY,
    )

    # 3: the vendored 1.0.0 wheel the new pin does not admit (a real release vendors 2.0.0)
    assert exit_code == 3
    assert ">=2.0,<3" in (root / "pyproject.toml").read_text(encoding="utf-8")
    code, output = _service_tests(service_venv, root, on_v2)
    assert code == 0, output[-4000:]
    assert " passed" in output
