"""Process supervision for ``spaps smoke``: children that cannot outlive the command.

Every child runs in its own process group (``start_new_session``) and carries the run's id in
its environment (``SPAPS_SMOKE_RUN=<id>``). Stopping a child signals its whole group, so its own
children go too; :func:`leftover_processes` then finds anything that carries the run id but left
the group (a daemonising grandchild, a ``setsid``), and :func:`kill_leftovers` kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path
from typing import IO

RUN_MARKER = "SPAPS_SMOKE_RUN"
KILL_GRACE_SECONDS = 3.0
_LOG_TAIL_LINES = 15


class ManagedProcess:
    """A child in its own process group, its output in a log file, always reaped."""

    def __init__(
        self, name: str, args: list[str], *, cwd: Path, env: dict[str, str], log: Path
    ) -> None:
        self.name = name
        self.log = log
        self._log_file: IO[bytes] = log.open("ab")
        self._stopped = False
        self._terminated = False
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> int | None:
        return self.popen.poll()

    def _signal_group(self, signum: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def terminate(self) -> None:
        """SIGTERM the group once (a second SIGTERM would not speed a warm shutdown up)."""
        if not self._terminated and self.popen.poll() is None:
            self._terminated = True
            self._signal_group(signal.SIGTERM)

    def stop(self, grace: float) -> bool:
        """SIGTERM the group, wait ``grace``; SIGKILL what is left. True when it stopped by itself."""
        if self._stopped:
            return True
        self._stopped = True
        clean = True
        if self.popen.poll() is None:
            self.terminate()
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                clean = False
        # The leader may be gone while a grandchild still holds the group: kill it either way.
        self._signal_group(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=KILL_GRACE_SECONDS)
        self._log_file.close()
        return clean

    def tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_contains(self, *markers: str) -> str | None:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        for line in text.splitlines():
            if any(marker in line for marker in markers):
                return line.strip()
        return None


def _exit_text(code: int | None) -> str:
    # uvicorn re-raises the SIGTERM it handled, after its graceful shutdown: -15 is clean.
    if code is not None and code < 0:
        return f"stopped by {signal.Signals(-code).name}"
    return f"exited {code}"


def exit_text(code: int | None) -> str:
    # uvicorn re-raises the SIGTERM it handled, after its graceful shutdown: -15 is clean.
    if code is not None and code < 0:
        return f"stopped by {signal.Signals(-code).name}"
    return f"exited {code}"


def leftover_processes(run_id: str) -> list[int]:
    """PIDs of live processes started by run ``run_id`` (read from ``/proc/<pid>/environ``)."""
    needle = f"{RUN_MARKER}={run_id}".encode()
    found: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return sorted(found)
