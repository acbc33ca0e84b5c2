"""A freshly generated service per test (the real ``spaps new service`` generator, in-process)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name

#: Every generated service and domain in these tests is created "at" this minute, so the
#: migration file names are predictable.
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def service_root(tmp_path: Path) -> Path:
    root = tmp_path / "billing-api"
    answers = ServiceAnswers.build(service_name("billing-api"))
    generate_service(answers, destination=root, now=NOW)
    return root


@pytest.fixture
def spaps(run_spaps: RunSpaps) -> RunSpaps:
    """Short name for the repository-wide in-process runner (tests/conftest.py)."""
    return run_spaps


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (to prove a command wrote nothing)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def ruff(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The service's own ``ruff`` run (its ``[tool.ruff]`` config), on ``args`` under ``root``."""
    found = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(found).is_file():
        pytest.skip("ruff is not installed")
    return subprocess.run(
        [found, *args, "--no-cache"], cwd=root, capture_output=True, text=True, check=False
    )
