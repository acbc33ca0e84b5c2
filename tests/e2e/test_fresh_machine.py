"""A new user installs a generated service on a fresh machine, following its own README.

Issue 16 observed ``pip install -e ".[dev]"`` failing in a fresh virtualenv: neither
``spaps-cli`` nor this project's ``spaps-server-quickstart`` is on an index. Here nothing comes
from this checkout but a wheel of the CLI (built the way a release builds it): it is installed
into a fresh virtualenv, generates a service, and the service's README commands (the block
marked ``install-and-test``, which the ``Next:`` hint repeats) run verbatim in a shell of their
own, whose ``python3`` is not any virtualenv's. The service's own suite must pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import INSTALL_TIMEOUT, REPO_ROOT, CommandFailedError, clean_environment

pytestmark = pytest.mark.e2e

NAME = "fresh-api"
README_BLOCK = re.compile(r"<!-- install-and-test -->\n```console\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class FreshService:
    root: Path
    next_hint: str
    install: subprocess.CompletedProcess[str]


def run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
    )
    if completed.returncode != 0:
        raise CommandFailedError(
            f"{' '.join(argv)} exited {completed.returncode} in {cwd}\n"
            f"--- stdout ---\n{completed.stdout[-8000:]}\n--- stderr ---\n{completed.stderr[-8000:]}"
        )
    return completed


def bare_environment() -> dict[str, str]:
    """No virtualenv of this run on ``PATH``: ``python3`` is the machine's."""
    env = clean_environment()
    entries = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(
        entry for entry in entries if entry and not (Path(entry).parent / "pyvenv.cfg").exists()
    )
    return env


def readme_commands(readme: str) -> list[str]:
    found = README_BLOCK.search(readme)
    assert found, "the README has no <!-- install-and-test --> console block"
    return [line[2:] for line in found["body"].splitlines() if line.startswith("$ ")]


@pytest.fixture(scope="session")
def fresh_service(tmp_path_factory: pytest.TempPathFactory) -> FreshService:
    """CLI wheel -> fresh venv -> ``spaps new service`` -> the README's commands, once a run."""
    work = tmp_path_factory.mktemp("fresh-machine")
    env = bare_environment()
    dist = work / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(dist),
            str(REPO_ROOT),
        ],
        cwd=work,
        env=env,
    )
    (wheel,) = dist.glob("spaps_cli-*.whl")
    cli = work / "cli-venv"
    python3 = shutil.which("python3", path=env["PATH"])
    assert python3, "no python3 on PATH"
    run([python3, "-m", "venv", str(cli)], cwd=work, env=env)
    run([str(cli / "bin" / "pip"), "install", "--quiet", str(wheel)], cwd=work, env=env)
    where = run(
        [str(cli / "bin" / "python"), "-c", "import spaps_cli; print(spaps_cli.__file__)"],
        cwd=work,
        env=env,
    )
    assert Path(where.stdout.strip()).is_relative_to(cli), where.stdout  # not the checkout
    generated = run([str(cli / "bin" / "spaps"), "new", "service", NAME], cwd=work, env=env)
    root = work / NAME
    hint = [line for line in generated.stderr.splitlines() if line.startswith("Next: ")]
    assert len(hint) == 1, generated.stderr
    script = "\n".join(readme_commands((root / "README.md").read_text()))
    install = run(["bash", "-e", "-c", script], cwd=root, env=env)
    return FreshService(root, hint[0], install)


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
    shown = run([str(python), "-c", probe], cwd=fresh_service.root, env=bare_environment())
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
    run([str(uv), "lock", "--locked"], cwd=clone, env=bare_environment())
