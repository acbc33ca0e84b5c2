"""runtime/README.md, the runtime's page on the package index, works as written.

Every code block runs, top to bottom as a reader would: ``# name.py`` blocks are saved under
that name, other Python blocks run as scripts beside them, the uvicorn and celery commands are
started for real, and the install command is resolved by pip against this checkout (the
package index the tests can reach does not carry the runtime).
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from spaps_server_quickstart.settings import BaseServiceSettings

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "runtime"
README = RUNTIME / "README.md"
PYPROJECT = tomllib.loads((RUNTIME / "pyproject.toml").read_text())
BIN = Path(sys.executable).parent

_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_FILE_HEADER = re.compile(r"^# (\w+\.py)\n")


@dataclass(frozen=True)
class Block:
    language: str
    code: str

    @property
    def filename(self) -> str | None:
        found = _FILE_HEADER.match(self.code)
        return found.group(1) if found else None


def blocks() -> list[Block]:
    return [Block(language, code) for language, code in _BLOCK.findall(README.read_text())]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment() -> dict[str, str]:
    """This interpreter's tools first on PATH; no settings leaking in from the test process."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ORDERS_") and key.upper() not in ("DATABASE_URL", "ENV")
    }
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@contextmanager
def started(command: str, cwd: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        shlex.split(command),
        cwd=cwd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_script(code: str, cwd: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{code}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def serve_and_probe(command: str, cwd: Path) -> None:
    port = free_port()
    with started(command.replace("8000", str(port)), cwd) as server:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                live = httpx.get(f"{url}/health/live", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    pytest.fail(f"{command} did not start:\n{output}")
                time.sleep(0.2)
        assert live.status_code == 200
        assert httpx.get(f"{url}/orders/mine").status_code == 401
        schemes = httpx.get(f"{url}/openapi.json").json()["components"]["securitySchemes"]
        assert schemes["SpapsBearer"]["scheme"] == "bearer"


def test_every_code_block_runs_in_order(tmp_path: Path) -> None:
    ran: list[str] = []
    with ExitStack() as stack:
        for block in blocks():
            first_line = block.code.splitlines()[0]
            if block.language == "python" and block.filename:
                (tmp_path / block.filename).write_text(block.code)
                run_script(f"import {block.filename.removesuffix('.py')}", tmp_path)
            elif block.language == "python":
                run_script(block.code, tmp_path)
            elif block.language == "bash" and first_line.startswith("pip install"):
                continue  # resolved by test_the_install_command_resolves
            elif block.language == "bash" and first_line.startswith("uvicorn "):
                serve_and_probe(first_line, tmp_path)
            elif block.language == "bash" and first_line.startswith("celery "):
                stack.enter_context(started(first_line, tmp_path))  # for the blocks after it
            else:
                pytest.fail(f"no runner for this README block:\n{block.code}")
            ran.append(block.filename or first_line)
    assert "orders.py" in ran
    assert "worker.py" in ran


def test_the_install_command_resolves() -> None:
    [install] = [b.code for b in blocks() if b.code.startswith("pip install")]
    requirement = Requirement(shlex.split(install)[2])
    assert requirement.name == PYPROJECT["project"]["name"]
    assert requirement.extras <= set(PYPROJECT["project"]["optional-dependencies"])

    # The same requirement with this checkout standing in for the index's copy.
    local = f"{RUNTIME}[{','.join(sorted(requirement.extras))}]"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--disable-pip-version-check", local],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "does not provide the extra" not in done.stderr
    assert "Would install spaps-server-quickstart" in done.stdout


def test_the_extras_named_are_the_extras_there_are() -> None:
    named = re.search(r"^Extras: (.*?)\.\n", README.read_text(), re.M | re.S)
    assert named is not None
    assert set(re.findall(r"`([\w-]+)`", named.group(1))) == set(
        PYPROJECT["project"]["optional-dependencies"]
    )


def test_the_settings_table_lists_every_setting() -> None:
    section = README.read_text().split("## Settings it reads", 1)[1].split("\n## ", 1)[0]
    # The example's prefixed names (ORDERS_...) are the same settings.
    listed = {
        name.removeprefix("ORDERS_") for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", section)
    } - {""}
    fields = {name.upper() for name in BaseServiceSettings.model_fields}

    assert fields - listed == set(), "settings missing from the README table"
    assert listed - fields == set(), "no such setting"


def _anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", markdown, re.M)
    return {
        re.sub(r"[^\w\- ]", "", heading).strip().lower().replace(" ", "-") for heading in headings
    }


def test_links_are_absolute_and_lead_somewhere() -> None:
    base = PYPROJECT["project"]["urls"]["Repository"]
    links = re.findall(r"\]\(([^)]+)\)", README.read_text())
    assert links
    for link in links:
        # Relative links break on the package index, which shows this page on its own.
        assert link.startswith(f"{base}"), link
        target, _, anchor = link.removeprefix(base).partition("#")
        path = REPO / target.removeprefix("/blob/main/") if target else REPO / "README.md"
        assert path.is_file(), link
        if anchor and anchor != "readme":
            assert anchor in _anchors(path.read_text()), link
