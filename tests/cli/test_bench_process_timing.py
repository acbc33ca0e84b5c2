"""bench/process_timing.py: spaps timed from bytecode, and waited on exactly.

These check the measuring tool, not a speed target: what a bench reports must be the process's
own time, not an artefact of how the bench started or waited for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def process_timing() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        import process_timing

        yield process_timing
    finally:
        sys.path.remove(str(BENCH))


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
        [sys.executable, "-c", "from process_timing import compile_spaps; compile_spaps()"],
        cwd=BENCH,
        env=env,
        timeout=120,
        check=True,
    )

    assert _modules_compiled_from_source(env) == []


def test_a_process_is_timed_as_it_exits_not_at_the_next_poll(process_timing: ModuleType) -> None:
    # subprocess.run(..., timeout=...) with no pipe polls with sleeps doubling up to 50 ms: a
    # 70 ms child measured 114.5 ms. Waited on exactly it takes 70 ms plus a fork and exec.
    for capture in (False, True):
        seconds = process_timing.timed_run(["sleep", "0.07"], capture=capture).seconds
        assert 0.07 <= seconds < 0.105, (capture, seconds)


def test_output_is_returned_and_a_failure_ends_the_bench(process_timing: ModuleType) -> None:
    done = process_timing.timed_run(
        [sys.executable, "-c", "print('out'); import sys; print('err', file=sys.stderr)"]
    )
    assert (done.stdout, done.stderr) == ("out\n", "err\n")

    with pytest.raises(SystemExit, match=r"failed \(exit 3\):\nboom"):
        process_timing.timed_run([sys.executable, "-c", "print('boom'); raise SystemExit(3)"])


def test_a_hung_process_is_killed_at_the_limit(process_timing: ModuleType) -> None:
    with pytest.raises(SystemExit, match=r"failed \(killed after 0.3 s\)"):
        process_timing.timed_run(["sleep", "30"], limit=0.3)
