"""Process supervision for ``spaps smoke``: children that cannot outlive the command.

Every child runs in its own process group (``start_new_session``) and carries the run's id in
its environment (``SPAPS_SMOKE_RUN=<id>``). Stopping a child signals its whole group, so its own
children go too; :func:`kill_leftovers` then finds anything that carries the run id but left
the group (a daemonising grandchild, a ``setsid``) and kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import IO

RUN_MARKER = "SPAPS_SMOKE_RUN"
KILL_GRACE_SECONDS = 3.0
_LOG_TAIL_LINES = 15
_POLL_SECONDS = 0.05
#: What stops a run from outside: ``kill``, ``timeout``, a closed terminal, Ctrl-C.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class StopSignal(BaseException):
    """The command was told to stop by a signal. A ``BaseException``, like
    ``KeyboardInterrupt``, so no ``except Exception`` on the way up mistakes it for a failure
    of the work it interrupted; the run's ``finally`` still stops every child first."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_code(self) -> int:
        """``128 + n``, as a shell reports a process killed by signal ``n``."""
        return 128 + self.signum


class SignalGuard:
    """Records the first stop signal; raises it as :class:`StopSignal` until :meth:`hold`."""

    def __init__(self) -> None:
        self.received: StopSignal | None = None
        self._raising = True

    def hold(self) -> None:
        """From now on signals are only recorded: the clean-up in progress must not be cut."""
        self._raising = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = StopSignal(signum)
        if self._raising:
            self._raising = False
            raise self.received


@contextmanager
def stop_on_signals(signals: Iterable[signal.Signals] = STOP_SIGNALS) -> Iterator[SignalGuard]:
    """Turn the first of ``signals`` into :class:`StopSignal` while the block runs.

    Python's default for SIGTERM and SIGHUP is to die on the spot, skipping every ``finally``:
    that is how a smoke run killed by ``timeout`` left uvicorn and the worker running. The
    block calls :meth:`SignalGuard.hold` when its clean-up starts, so a second signal (or a
    first one arriving then) is recorded, not raised in the middle of it. Outside the main
    thread (where Python cannot install handlers) nothing is installed, and a signal already
    ignored (``nohup``) stays ignored.
    """
    guard = SignalGuard()
    wanted = tuple(signals)
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    # A signal the caller ignores stays ignored (`nohup spaps smoke` must survive a hang-up).
    previous = {
        signum: handler
        for signum in wanted
        if (handler := signal.getsignal(signum)) is not signal.SIG_IGN
    }
    for signum in previous:
        signal.signal(signum, guard)
    try:
        yield guard
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


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


def stop_all(processes: Iterable[ManagedProcess], grace: float) -> list[str]:
    """SIGTERM every group at once, give them ``grace`` seconds together, SIGKILL the rest.

    Returns the names of those that had to be killed. Together, not one after another: the
    worker's warm shutdown and the API's lifespan shutdown overlap instead of adding up.
    """
    chosen = list(processes)
    for process in chosen:
        process.terminate()
    deadline = time.monotonic() + grace
    return [
        process.name
        for process in chosen
        if not process.stop(max(0.0, deadline - time.monotonic()))
    ]


def exit_text(code: int | None) -> str:
    # uvicorn re-raises the SIGTERM it handled, after its graceful shutdown: -15 is clean.
    if code is not None and code < 0:
        return f"stopped by {signal.Signals(-code).name}"
    return f"exited {code}"


def _live_processes(run_id: str) -> dict[int, int]:
    """pid -> process group of every live process started by run ``run_id``."""
    needle = f"{RUN_MARKER}={run_id}".encode()
    found: dict[int, int] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found[int(entry.name)] = int(group)
    return found


def kill_leftovers(
    run_id: str, groups: Iterable[int], grace: float = KILL_GRACE_SECONDS
) -> tuple[list[int], list[int]]:
    """Stop every process of the run still alive once its groups were stopped.

    A process outside ``groups`` escaped them (it started its own session or group), so the
    group signals never reached it: it gets SIGTERM, then SIGKILL after ``grace``. One inside
    a stopped group is already dying and only needs its SIGKILL to land. Returns the escaped
    PIDs seen and the PIDs still alive at the end (a process of another user, say).
    """
    known = set(groups)
    escaped: dict[int, float] = {}  # pid -> when it got SIGTERM
    deadline = time.monotonic() + grace + 1.0
    while True:
        alive = _live_processes(run_id)
        if not alive or time.monotonic() >= deadline:
            return sorted(escaped), sorted(alive)
        now = time.monotonic()
        for pid, group in alive.items():
            if group not in known and pid not in escaped:
                escaped[pid] = now
                signum = signal.SIGTERM
            elif pid in escaped and now - escaped[pid] < grace:
                continue
            else:
                signum = signal.SIGKILL
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
        time.sleep(_POLL_SECONDS)
