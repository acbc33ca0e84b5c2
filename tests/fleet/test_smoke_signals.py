"""``spaps smoke`` stopped from outside (``kill``, ``timeout``, a closed terminal, Ctrl-C), and a
service that leaves a process outside its process group: whatever ends the run, nothing the run
started may be left running. Real processes, real signals; ``spaps`` runs as its own process.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.fleet.smoke import RUN_MARKER

from .conftest import PACKAGE
from .test_smoke import processes_of_run

pytestmark = pytest.mark.services

ESCAPEE = "spaps-escapee"
SPAPS = (sys.executable, "-c", "from spaps_cli.app import main; main()")


def plant_in_main(service: Path, *, hang: bool) -> None:
    """At import, the app starts a sleeper in a session of its own (out of the process group
    smoke signals), and with ``hang`` never finishes importing (so start-api is in progress)."""
    main = service / "src" / PACKAGE / "main.py"
    planted = (
        "\nimport subprocess as _subprocess, sys as _sys, time as _time\n"
        "_subprocess.Popen([_sys.executable, '-c', 'import time; time.sleep(600)', "
        f"'{ESCAPEE}'], start_new_session=True)\n"
    )
    if hang:
        planted += "_time.sleep(600)\n"
    main.write_text(main.read_text() + planted)


def _escapees() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if ESCAPEE in (process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture
def no_escapee_left() -> Iterator[list[str]]:
    """Whatever the test's outcome, kill the sleepers it planted and every process of the runs
    it lists (so a regression fails the test without leaving uvicorn running for the next)."""
    run_ids: list[str] = []
    yield run_ids
    for process in _escapees() + [p for run_id in run_ids for p in processes_of_run(run_id)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout:g}s"
        time.sleep(0.1)


@pytest.mark.parametrize(
    ("signum", "wrapper"),
    [
        (signal.SIGTERM, ()),
        (signal.SIGHUP, ()),
        (signal.SIGINT, ()),
        # Under `timeout`, which passes the SIGTERM it gets on to smoke (as when it expires).
        (signal.SIGTERM, ("timeout", "600")),
    ],
    ids=["SIGTERM", "SIGHUP", "SIGINT", "timeout"],
)
def test_a_signal_stops_every_process_the_run_started(
    smoke_service: Path,
    tmp_path: Path,
    signum: signal.Signals,
    wrapper: tuple[str, ...],
    no_escapee_left: list[str],
) -> None:
    plant_in_main(smoke_service, hang=True)
    logs = tmp_path / "logs"
    spaps = subprocess.Popen(
        [*wrapper, *SPAPS, "smoke", str(smoke_service), "--timeout", "120", "--logs", str(logs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker_log = logs / "worker.log"
        _wait_for(
            lambda: worker_log.is_file() and " ready." in worker_log.read_text(), "ready worker"
        )
        _wait_for(lambda: bool(_escapees()), "escaped sleeper")
        (escapee,) = _escapees()
        run_id = escapee.environ()[RUN_MARKER]
        no_escapee_left.append(run_id)
        started = processes_of_run(run_id)
        names = " ".join(" ".join(process.cmdline()) for process in started)
        assert "uvicorn" in names, names
        assert "celery" in names, names
        assert spaps.poll() is None, "smoke must still be in start-api"

        spaps.send_signal(signum)
        stdout, stderr = spaps.communicate(timeout=60)
    finally:
        if spaps.poll() is None:
            spaps.kill()
            spaps.wait()

    assert spaps.returncode == 128 + signum, stderr
    assert processes_of_run(run_id) == [], "smoke left processes behind"
    assert not escapee.is_running() or escapee.status() == psutil.STATUS_ZOMBIE
    assert f"stopped by {signum.name}" in stderr
    assert len([line for line in stderr.splitlines() if line.startswith("error: ")]) == 1
    assert stdout == ""
    report = json.loads((logs / "smoke.json").read_text())
    assert report["interrupted"] == signum.name
    assert report["ok"] is False
    assert escapee.pid in report["escaped_pids"]
    assert report["leftover_pids"] == []


def test_a_process_that_escaped_the_group_is_killed_and_reported(
    smoke_service: Path, tmp_path: Path, run_spaps: RunSpaps, no_escapee_left: list[str]
) -> None:
    plant_in_main(smoke_service, hang=False)
    outcome = run_spaps(
        "smoke", str(smoke_service), "--json", "--timeout", "45", "--logs", str(tmp_path / "l")
    )
    report = outcome.json()
    no_escapee_left.append(report["run_id"])
    assert processes_of_run(report["run_id"]) == []
    assert _escapees() == []
    assert report["escaped_pids"], "the sleeper left the api's group and must be named"
    assert report["leftover_pids"] == []
    assert report["failed_stage"] is None, report["error"]
    assert outcome.code == 1
    assert "escaped the run's process groups" in outcome.stderr
