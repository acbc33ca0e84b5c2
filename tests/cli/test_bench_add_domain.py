"""bench/add_domain.py measures what it says, on spaps as an installed copy runs it.

Not timed: one round, to keep the bench from rotting, and the bytecode step every spaps bench
takes first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


def _modules_compiled_from_source(env: dict[str, str]) -> list[str]:
    """spaps_cli modules a CLI start compiles from source (``-v`` names the ``.py`` it reads)."""
    done = subprocess.run(
        [sys.executable, "-v", "-c", "from spaps_cli.app import main; main()", "add", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return [
        line
        for line in done.stderr.splitlines()
        if line.startswith("# code object from ") and line.endswith(".py") and "spaps_cli" in line
    ]


def test_compile_spaps_gives_bytecode_even_where_python_may_not_write_it(
    tmp_path: Path,
) -> None:
    # A private cache prefix: the test sees only what it wrote, and leaves the checkout alone.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(tmp_path)}
    assert _modules_compiled_from_source(env), "without the step, spaps compiles from source"

    subprocess.run(
        [sys.executable, "-c", "from installed_bytecode import compile_spaps; compile_spaps()"],
        cwd=BENCH,
        env=env,
        timeout=120,
        check=True,
    )

    assert _modules_compiled_from_source(env) == []


def test_one_round_reports_every_process_and_the_budget() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "add_domain.py"), "--rounds", "1", "--warmup", "0", "--json"],
        capture_output=True,
        text=True,
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
