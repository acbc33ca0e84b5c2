"""Time whole ``spaps`` processes as a user meets them.

Two things stood between the benches' stopwatch and that figure; every bench that starts
processes goes through this module, which removes both:

- **Bytecode.** pip compiles every module of a wheel when it installs it, so a user's
  ``spaps`` never compiles Python source. An editable checkout gets its ``.pyc`` files only when
  Python may write them, and ``PYTHONDONTWRITEBYTECODE=1`` (``.ci/run`` sets it, and so may a
  shell) stops that: every timed process then compiled each spaps module it imports from
  source. Counted with callgrind on 2026-12-03 that is 116M of the 760M instructions of
  ``spaps new service`` (15%), paid by no user and by none of the baselines (copier,
  cookiecutter, Typer and libcst are installed by pip, with their bytecode). Hence
  :func:`compile_spaps`, called before anything is timed.
- **Waiting.** ``subprocess.run(..., timeout=...)`` waits for the child by polling
  ``waitpid`` with sleeps that double up to 50 ms. With the output sent to ``DEVNULL`` there is
  no pipe to wake the parent, so every process longer than 64 ms was measured as
  ``64.5 + 50k`` ms: ``import typer``, ``spaps --help`` and ``spaps doctor --help`` all came
  out at 114.6 ms, and ``bench/cli_startup.py`` printed 1.00x whatever they cost.
  :func:`timed_run` blocks in ``communicate()`` instead, which returns as the child exits, and
  a watchdog thread kills a child that hangs.
"""

from __future__ import annotations

import compileall
import importlib.util
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def compile_spaps() -> None:
    """Write the ``.pyc`` files of the installed ``spaps_cli`` (a no-op when they are current).

    ``compileall`` writes them whatever ``PYTHONDONTWRITEBYTECODE`` says, as pip does.
    """
    spec = importlib.util.find_spec("spaps_cli")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("spaps_cli is not installed in this environment: pip install -e . first")
    for location in spec.submodule_search_locations:
        if not compileall.compile_dir(location, quiet=1):
            raise SystemExit(f"could not compile {location} to bytecode")


@dataclass(frozen=True)
class Finished:
    """A process that exited 0: its wall time and what it printed (empty unless captured)."""

    seconds: float
    stdout: str
    stderr: str


def timed_run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    capture: bool = True,
    limit: float = 600.0,
) -> Finished:
    """Run ``argv`` to completion and time it; any failure ends the bench with its output.

    ``capture=False`` sends the output to ``DEVNULL``, for processes compared with a baseline
    that prints nothing.
    """
    stream = subprocess.PIPE if capture else subprocess.DEVNULL
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=stream, stderr=stream, text=True)
    watchdog = threading.Timer(limit, process.kill)
    watchdog.start()
    try:
        stdout, stderr = process.communicate()
    finally:
        watchdog.cancel()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        why = f"killed after {limit:g} s" if seconds >= limit else f"exit {process.returncode}"
        raise SystemExit(
            f"{' '.join(argv)} failed ({why}):\n{stdout or ''}{(stderr or '')[-2000:]}"
        )
    return Finished(seconds, stdout or "", stderr or "")


@dataclass
class PeerRace:
    """A race against a peer tool, as the benches that have one report it.

    The figure is the median of the per-round ratios peer/spaps (each round times both, in
    alternating order), not the ratio of medians: a round the machine slowed down slows both.
    """

    rounds: int
    figures: dict[str, float]  # median seconds per measured process, by label
    ratios: list[float]  # peer / spaps, per round
    target: float

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool:
        return self.ratio >= self.target

    def as_json(self) -> dict[str, object]:
        return self.race_json()

    def report(self) -> None:
        raise NotImplementedError  # each bench names its own processes

    def race_json(self) -> dict[str, object]:
        return {
            "unit": "s",
            "rounds": self.rounds,
            "figures": self.figures,
            "ratio_copier_over_spaps": round(self.ratio, 3),
            "ratio_per_round": [round(min(self.ratios), 3), round(max(self.ratios), 3)],
            "target_ratio": self.target,
            "met": self.met,
        }

    def print_race(self, heading: str, rows: dict[str, str], spaps_label: str) -> None:
        """``heading``, one line per process (seconds and ratio to spaps), then the verdict."""
        print(heading)
        spaps = self.figures[spaps_label]
        for label, text in rows.items():
            seconds = self.figures[label]
            print(f"  {text:<40} {seconds:7.3f} s  {seconds / spaps:5.2f}x spaps")
        print(
            f"copier / spaps = {self.ratio:.2f}x (median of per-round ratios,"
            f" {min(self.ratios):.2f}-{max(self.ratios):.2f}); target >= {self.target}x:"
            f" {'met' if self.met else 'MISSED'}"
        )


def race_main(
    description: str, *, default_rounds: int, copier: str, measure: Callable[[int, int], PeerRace]
) -> int:
    """The command line every peer race shares: rounds, warm-up, ``--json``, ``--check``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=default_rounds)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    options = parser.parse_args()
    if not Path(copier).exists():
        raise SystemExit(f"{copier} not found: pip install -e '.[dev]' (copier)")

    compile_spaps()
    result = measure(options.rounds, options.warmup)
    if options.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        result.report()
    return 1 if options.check and not result.met else 0
