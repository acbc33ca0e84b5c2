"""Running ``spaps`` (in this process or as its own), and looking at what it left on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


#: ``run_spaps("new", "service", "x")`` -> exit code and captured output (tests/conftest.py).
RunSpaps = Callable[..., Outcome]


def spaps_process(
    argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Outcome:
    """``spaps`` as its own process, the way users run it (console script entry point)."""
    completed = subprocess.run(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", *argv],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Outcome(completed.returncode, completed.stdout, completed.stderr)


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative path -> content); directories included as b''."""
    snapshot: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        snapshot[key] = b"" if path.is_dir() else path.read_bytes()
    return snapshot


def spaps_in_terminal(
    argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Outcome:
    """``spaps`` as its own process with stderr on a pseudo-terminal, as in an interactive shell.

    stdout stays a pipe (as in ``spaps ... | jq``); ``Outcome.stderr`` is everything the
    terminal received, escape sequences included.
    """
    import pty
    import select

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from spaps_cli.app import main; main()", *argv],
        cwd=cwd,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "200", **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    received = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            raise TimeoutError(f"spaps {' '.join(argv)} printed nothing for 60 s")
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the follower side closed: the process has exited
            break
        if not chunk:
            break
        received.extend(chunk)
    os.close(leader)
    assert process.stdout is not None
    stdout = process.stdout.read().decode()
    process.stdout.close()
    code = process.wait(timeout=60)
    return Outcome(code, stdout, received.decode(errors="replace"))
