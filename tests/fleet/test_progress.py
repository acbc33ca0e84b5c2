"""``spaps smoke`` and ``spaps doctor`` show what they are waiting for while they wait.

Observed: both printed nothing until the end (smoke can take minutes). On a terminal the
current stage or check is drawn next to a spinner; the engines only call a hook, so ``--json``,
``-q`` and pipes see exactly what they saw before.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.cli_runner import spaps_in_terminal, spaps_process

from spaps_cli.fleet.doctor import run_doctor
from spaps_cli.project import find_project

from .conftest import PACKAGE

DOWN = f"postgresql+asyncpg://postgres@127.0.0.1:9/{PACKAGE}"


def _smoke(service: Path, tmp_path: Path, *extra: str) -> list[str]:
    return [
        *extra,
        "smoke",
        str(service),
        "--timeout",
        "45",
        "--logs",
        str(tmp_path / "logs"),
        "--database-url",
        DOWN,
    ]


def test_smoke_draws_the_running_stage_on_a_terminal(smoke_service: Path, tmp_path: Path) -> None:
    outcome = spaps_in_terminal(_smoke(smoke_service, tmp_path))
    assert outcome.code == 1
    assert "smoke: migrate" in outcome.stderr
    assert "smoke failed at stage 'migrate'" in outcome.stderr


def test_smoke_in_a_pipe_or_quiet_draws_nothing(smoke_service: Path, tmp_path: Path) -> None:
    piped = spaps_process(_smoke(smoke_service, tmp_path))
    quiet = spaps_in_terminal(_smoke(smoke_service, tmp_path / "q", "-q"))
    assert piped.code == quiet.code == 1
    assert "smoke: migrate" not in piped.stderr
    assert "smoke: migrate" not in quiet.stderr
    assert "smoke failed at stage 'migrate'" in quiet.stderr


def test_doctor_draws_the_probe_and_each_check(service: Path) -> None:
    outcome = spaps_in_terminal(["doctor", str(service)])
    assert outcome.code == 0, outcome.stderr
    assert "doctor: probing the service" in outcome.stderr
    assert "doctor: checking database" in outcome.stderr


def test_doctor_calls_the_hook_around_each_slow_step(service: Path) -> None:
    """The engine side: every step is announced before it runs and closed after it."""
    events: list[tuple[str, str, float]] = []

    @contextmanager
    def record(description: str) -> Iterator[None]:
        events.append(("start", description, time.perf_counter()))
        yield
        events.append(("end", description, time.perf_counter()))

    report = run_doctor(find_project(service), on_step=record)
    assert report.clean
    starts = [description for kind, description, _ in events if kind == "start"]
    assert starts[0].startswith("doctor: probing the service with ")
    assert starts[1:] == [f"doctor: checking {family}" for family in report.checks]
    # each step ends before the next starts: the hook brackets the work, not the report
    kinds = [kind for kind, _, _ in events]
    assert kinds == ["start", "end"] * len(starts)
