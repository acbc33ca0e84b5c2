"""bench/update.py races copier update on the same change. Not timed: this keeps the bench honest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_one_round_reports_both_tools_the_conflicts_and_the_ratio(tmp_path: Path) -> None:
    # The bench compiles spaps first; a private cache prefix keeps that out of the checkout.
    done = subprocess.run(
        [sys.executable, str(BENCH / "update.py"), "--rounds", "1", "--warmup", "0", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)

    figures = result["figures"]
    assert set(figures) == {"spaps update", "copier update", "start-up floor"}
    assert all(seconds > 0 for seconds in figures.values())
    assert figures["spaps update"] > figures["start-up floor"]
    # the update tests/update/test_against_copier.py counts conflicts for (copier's count is
    # its version's business; 2 with copier 9.19.1, both in the router registry)
    left = result["conflicts_left"]
    assert left["spaps update"] == 0
    assert left["spaps update"] <= left["copier update"]
    one_round = figures["copier update"] / figures["spaps update"]
    assert result["ratio_copier_over_spaps"] == pytest.approx(one_round, abs=1e-3)
    assert result["ratio_per_round"] == [result["ratio_copier_over_spaps"]] * 2
