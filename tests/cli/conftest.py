"""Running ``spaps`` in-process: fast, and lets tests monkeypatch the plan engine."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cli.cli_runner import Outcome
from spaps_cli.app import run

RunSpaps = Callable[..., Outcome]


@pytest.fixture
def run_spaps(capsys: pytest.CaptureFixture[str]) -> RunSpaps:
    """``run_spaps("new", "service", "x")`` -> exit code and captured output, in this process."""

    def invoke(*argv: str) -> Outcome:
        capsys.readouterr()
        code = run(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke
