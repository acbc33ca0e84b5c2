"""A freshly generated service per test (the real ``spaps new service`` generator, in-process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from spaps_cli.app import run
from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name

#: Every generated service and domain in these tests is created "at" this minute, so the
#: migration file names are predictable.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Spaps = Callable[..., Result]


@pytest.fixture
def service_root(tmp_path: Path) -> Path:
    root = tmp_path / "billing-api"
    answers = ServiceAnswers.build(service_name("billing-api"))
    generate_service(answers, destination=root, now=NOW)
    return root


@pytest.fixture
def spaps(capsys: pytest.CaptureFixture[str]) -> Spaps:
    """Run the CLI in-process; returns exit code, stdout and stderr of that run only."""

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to prove a command wrote nothing)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
