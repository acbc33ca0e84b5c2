"""Repository-wide fixtures. Real services come from the runtime's test plugin."""

from __future__ import annotations

import pytest
from cli.cli_runner import Outcome, RunSpaps

from spaps_cli.app import run


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def run_spaps(capsys: pytest.CaptureFixture[str]) -> RunSpaps:
    """``spaps`` in this process: fast, and lets tests monkeypatch the plan engine."""

    def invoke(*argv: str) -> Outcome:
        capsys.readouterr()
        code = run(list(argv))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke
