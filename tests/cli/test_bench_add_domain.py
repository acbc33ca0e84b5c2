"""bench/add_domain.py measures what it says. Not timed: one round keeps the bench from rotting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def test_one_round_reports_every_process_and_the_budget(tmp_path: Path) -> None:
    # The bench compiles spaps first; a private cache prefix keeps that out of the checkout.
    done = subprocess.run(
        [sys.executable, str(BENCH / "add_domain.py"), "--rounds", "1", "--warmup", "0", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    figures = result["figures"]
    assert set(figures) == {"new service", "add domain", "start-up floor", "import libcst"}
    assert all(seconds > 0 for seconds in figures.values())
    # add domain does everything its --help does, and then the work.
    assert figures["add domain"] > figures["start-up floor"]
    assert result["budget_for_own_work"] == pytest.approx(
        figures["new service"] * result["target_ratio"] - figures["start-up floor"]
    )
    assert result["met"] is (result["ratio_add_over_new"] < result["target_ratio"])
    assert result["ratio_per_round"][0] == pytest.approx(result["ratio_add_over_new"], abs=1e-3)
