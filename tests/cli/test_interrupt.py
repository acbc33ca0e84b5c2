"""Ctrl-C, for real: ``spaps`` as its own process, SIGINT sent to its process group (as a
terminal does), and the answer checked: exit 130, one ``error:`` line, no traceback.

Before, ``migrate`` exited 130 printing nothing after rewriting hundreds of files, and pool
workers printed tracebacks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spaps_cli.app import COMMAND_MODULES, INTERRUPTED_MEANING

APP = 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.on_event("startup")\nasync def s():\n    pass\n'


def interrupt(
    argv: list[str], *, cwd: Path, ready: Callable[[], bool], limit: float = 60.0
) -> tuple[int, str, str]:
    """Start ``spaps argv``, wait until ``ready()``, send SIGINT to its group, collect it."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + limit
    try:
        while not ready():
            assert process.poll() is None, "finished before it could be interrupted"
            assert time.monotonic() < deadline, "never got ready"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=limit)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, out, err


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err[-3000:]
    return errors[0]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_interrupted_migrate_says_what_was_written_and_what_remains(
    tmp_path: Path, jobs: str
) -> None:
    files = [tmp_path / f"m{index:04}.py" for index in range(1000)]
    for path in files:
        path.write_text(APP)

    def some_written() -> bool:
        return any("lifespan" in path.read_text() for path in files[:40])

    code, _, err = interrupt(["migrate", "-j", jobs, "."], cwd=tmp_path, ready=some_written)
    assert code == 130
    line = _one_error_line(err)
    written = {path.name for path in files if "lifespan=lifespan" in path.read_text()}
    untouched = {path.name for path in files if path.read_text() == APP}
    assert written
    assert untouched
    assert len(written) + len(untouched) == len(files)  # every file whole: old or migrated
    assert f"{len(written)} file(s) migrated and written" in line
    listed = {
        line.split("not migrated: ", 1)[1] for line in err.splitlines() if "not migrated: " in line
    }
    assert listed == untouched
    assert f"{len(untouched)} not migrated yet" in line


def test_interrupted_check_writes_nothing(tmp_path: Path) -> None:
    # --check writes nothing to watch for, so the run is interrupted by time: enough files
    # that one process is still at them after 1.5 s (about a millisecond each here).
    files = [tmp_path / f"m{index:04}.py" for index in range(6000)]
    for path in files:
        path.write_text(APP)
    started = time.monotonic()
    code, _, err = interrupt(
        ["migrate", "--check", "-j", "1", "."],
        cwd=tmp_path,
        ready=lambda: time.monotonic() - started > 1.5,
    )
    assert code == 130
    assert "nothing written" in _one_error_line(err)
    assert all(path.read_text() == APP for path in files)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An index that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_interrupted_release_check_is_one_line(tmp_path: Path, silent_server: str) -> None:
    from release.conftest import make_distribution

    root = make_distribution(tmp_path / "dist")
    started = time.monotonic()
    code, _, err = interrupt(
        ["release", "check", "--package", str(root), "--index", silent_server, "--timeout", "30"],
        cwd=tmp_path,
        ready=lambda: time.monotonic() - started > 2.0,
    )
    assert code == 130
    assert (
        _one_error_line(err)
        == f"error: interrupted (Ctrl-C): {INTERRUPTED_MEANING['release check']}"
    )


def test_interrupted_doctor_is_one_line(tmp_path: Path) -> None:
    from fleet.conftest import generate

    service = generate(tmp_path / "billing-api")
    stuck = tmp_path / "stuck-python"
    marker = tmp_path / "probe-started"
    stuck.write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 60\n")
    stuck.chmod(0o755)
    code, _, err = interrupt(
        ["doctor", str(service), "--python", str(stuck)], cwd=tmp_path, ready=marker.exists
    )
    assert code == 130
    assert _one_error_line(err) == f"error: interrupted (Ctrl-C): {INTERRUPTED_MEANING['doctor']}"


def test_every_command_has_a_documented_meaning_for_130() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "CLI.md").read_text()
    for module in COMMAND_MODULES:
        assert module in INTERRUPTED_MEANING or any(
            key.startswith(f"{module} ") for key in INTERRUPTED_MEANING
        ), module
    for command, meaning in INTERRUPTED_MEANING.items():
        assert f"`{command}`" in docs, command
        assert meaning in " ".join(docs.split()), command


#: Sends this process a real SIGINT the moment it first imports ``module``.
_INTERRUPT_ON_IMPORT = """
import importlib.abc, os, signal, sys
class Trap(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, Trap())
sys.argv[1:] = {argv!r}
from spaps_cli.__main__ import main
main()
"""


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        pytest.param("typer", ["--help"], id="while importing the CLI"),
        pytest.param("rich.text", ["doctor", "/nonexistent/svc"], id="while printing an error"),
        pytest.param("libcst", ["migrate", "--check", "."], id="while importing libcst"),
        pytest.param("jinja2", ["new", "service", "demo-api", "--dir", "demo"], id="new service"),
        pytest.param(
            "tomlkit", ["release", "bump", "patch", "--offline", "--package", "dist"], id="bump"
        ),
    ],
)
def test_ctrl_c_at_any_moment_is_one_line(tmp_path: Path, module: str, argv: list[str]) -> None:
    (tmp_path / "dist").mkdir()
    pyproject = tmp_path / "dist" / "pyproject.toml"
    pyproject.write_text('[project]\nname = "demo-pkg"\nversion = "1.0.0"\n')
    completed = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_ON_IMPORT.format(module=module, argv=argv)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 130, completed.stderr
    line = _one_error_line(completed.stderr)
    assert line.startswith("error: interrupted (Ctrl-C)")
    if argv[0] in {"new", "release"}:
        assert line.endswith(
            INTERRUPTED_MEANING[" ".join(argv[:2]) if argv[0] == "release" else "new"]
        )
    assert not (tmp_path / "demo").exists()
    assert pyproject.read_text().endswith('version = "1.0.0"\n')


def test_the_console_script_is_the_guarded_entry_point() -> None:
    from importlib.metadata import entry_points

    [script] = [ep for ep in entry_points(group="console_scripts") if ep.name == "spaps"]
    assert script.value == "spaps_cli.__main__:main"
