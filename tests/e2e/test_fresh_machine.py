"""A new user installs a generated service on a fresh machine, following its own README.

Issue 16 observed ``pip install -e ".[dev]"`` failing in a fresh virtualenv: neither
``spaps-cli`` nor this project's ``spaps-server-quickstart`` is on an index. Here nothing comes
from this checkout but a wheel of the CLI (built the way a release builds it): it is installed
into a fresh virtualenv, generates a service, and the service's README commands (the block
marked ``install-and-test``, which the ``Next:`` hint repeats) run verbatim in a shell of their
own, whose ``python3`` is not any virtualenv's. The service's own suite must pass.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .conftest import FRESH_NAME as NAME
from .conftest import (
    REPO_ROOT,
    FreshService,
    bare_environment,
    readme_commands,
    run_checked,
)

pytestmark = pytest.mark.e2e


def test_readme_install_and_tests_pass_on_a_fresh_machine(fresh_service: FreshService) -> None:
    output = fresh_service.install.stdout
    summary = [line for line in output.splitlines() if re.search(r"\d+ passed", line)]
    assert summary, output[-4000:]
    assert "failed" not in summary[-1], summary[-1]
    assert "error" not in summary[-1], summary[-1]


def test_next_hint_runs_the_readme_commands(fresh_service: FreshService) -> None:
    commands = readme_commands((fresh_service.root / "README.md").read_text())
    stripped = [command.split("  #")[0].strip() for command in commands]
    assert fresh_service.next_hint == f"Next: cd {NAME} && {' && '.join(stripped)}"


def test_runtime_and_cli_come_from_the_service_wheels(fresh_service: FreshService) -> None:
    python = fresh_service.root / ".venv" / "bin" / "python"
    probe = (
        "from importlib import metadata\n"
        "for name in ('spaps-server-quickstart', 'spaps-cli'):\n"
        "    d = metadata.distribution(name)\n"
        "    print(name, d.version, d.read_text('direct_url.json') or '', d.locate_file(''))\n"
    )
    shown = run_checked([str(python), "-c", probe], cwd=fresh_service.root, env=bare_environment())
    for line in shown.stdout.splitlines():
        assert str(REPO_ROOT) not in line, line  # installed from wheels/, not from the checkout
        assert str(fresh_service.root / ".venv") in line, line
    wheels = sorted(path.name for path in (fresh_service.root / "wheels").iterdir())
    assert [name.split("-")[0] for name in wheels] == ["spaps_cli", "spaps_server_quickstart"]


def test_uv_lock_is_written_and_valid_in_another_checkout(
    fresh_service: FreshService, tmp_path: Path
) -> None:
    """CI clones the service elsewhere: ``uv sync --locked`` there must accept the lock."""
    lock = (fresh_service.root / "uv.lock").read_text()
    assert 'source = { path = "wheels/spaps_server_quickstart-1.0.0-py3-none-any.whl" }' in lock
    assert 'source = { path = "wheels/spaps_cli-' in lock
    assert str(fresh_service.root) not in lock  # nothing machine-specific
    clone = tmp_path / "clone"
    shutil.copytree(fresh_service.root, clone, ignore=shutil.ignore_patterns(".venv"))
    uv = fresh_service.root / ".venv" / "bin" / "uv"
    run_checked([str(uv), "lock", "--locked"], cwd=clone, env=bare_environment())
