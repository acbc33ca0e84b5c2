"""Wall time of ``spaps add domain`` against ``spaps new service``, measured in the same run.

    python bench/add_domain.py [--rounds 15] [--warmup 2] [--json] [--check]
    python bench/add_domain.py --instructions [--json] [--check]

Each round generates a fresh service with ``spaps new service``, adds one domain to it with
``spaps add domain``, and times, back to back with them so machine load hits all alike, the two
processes that say where the time of ``add domain`` goes:

- the start-up floor, ``spaps add domain --help``: interpreter, CLI and Typer, the command built
  with all its parameters, and no work. Every ``spaps`` command pays it;
- ``python -c "import libcst"`` less ``python -c pass``: what importing libcst costs, which
  ``add domain`` pays because it edits the router registry with libcst.

All are whole processes. The figure that matters is the per-round ratio add/new (target: under
0.5). For ``add domain`` to finish within half of ``new service`` its own work, libcst's import
included, must fit in ``new / 2 - floor``; the bench prints that budget beside libcst's import,
so a run also says whether the target is within reach at all on its machine and Python.

``--instructions`` runs each process once under valgrind's callgrind (``PYTHONHASHSEED=0``)
and compares instruction counts, which repeat to within 0.02% whatever the machine's load
(only temporary paths and the clock differ between runs); wall times on a shared 2-core
machine drift by 20% between rounds. ``--check`` exits 1 when the ratio misses the target.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from process_timing import compile_spaps, timed_run

TARGET_RATIO = 0.5
SPAPS = [sys.executable, "-c", "from spaps_cli.app import main; main()"]
FLOOR = "start-up floor"
LIBCST = "import libcst"
BARE_PYTHON = "python -c pass"


def processes(workdir: Path, name: str) -> dict[str, tuple[list[str], Path]]:
    """Each measured process: argv and working directory (``add domain`` runs in the service)."""
    return {
        "new service": ([*SPAPS, "new", "service", name], workdir),
        "add domain": ([*SPAPS, "add", "domain", "billing"], workdir / name),
        FLOOR: ([*SPAPS, "add", "domain", "--help"], workdir),
        LIBCST: ([sys.executable, "-c", "import libcst"], workdir),
        BARE_PYTHON: ([sys.executable, "-c", "pass"], workdir),
    }


@dataclass
class Measurement:
    """One run's figures: seconds (medians) or instruction counts, per measured process."""

    unit: str  # "s" or "instructions"
    figures: dict[str, float]  # LIBCST is the import's own cost (bare python subtracted)
    ratio: float  # add/new: the median of per-round ratios, or the ratio of the counts
    details: dict[str, object] = field(default_factory=dict)

    @property
    def budget(self) -> float:
        """What add domain's own work may take for the ratio to stay under the target."""
        return self.figures["new service"] * TARGET_RATIO - self.figures[FLOOR]

    @property
    def met(self) -> bool:
        return self.ratio < TARGET_RATIO

    def as_json(self) -> dict[str, object]:
        new = self.figures["new service"]
        return {
            "unit": self.unit,
            "figures": self.figures,
            "over_new_service": {label: round(v / new, 3) for label, v in self.figures.items()},
            "ratio_add_over_new": round(self.ratio, 3),
            "budget_for_own_work": self.budget,
            "target_ratio": TARGET_RATIO,
            "met": self.met,
            **self.details,
        }


def timed(rounds: int, warmup: int) -> Measurement:
    samples: dict[str, list[float]] = {}
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="spaps-bench-") as temp:
        workdir = Path(temp)
        for index in range(warmup + rounds):
            measured = {
                label: timed_run(argv, cwd=cwd).seconds
                for label, (argv, cwd) in processes(workdir, f"bench-{index}-api").items()
            }
            if index < warmup:
                continue
            for label, seconds in measured.items():
                samples.setdefault(label, []).append(seconds)
            ratios.append(measured["add domain"] / measured["new service"])
    figures = {label: statistics.median(values) for label, values in samples.items()}
    figures[LIBCST] -= figures.pop(BARE_PYTHON)
    return Measurement(
        unit="s",
        figures=figures,
        ratio=statistics.median(ratios),
        details={
            "rounds": rounds,
            "ratio_per_round": [round(min(ratios), 3), round(max(ratios), 3)],
        },
    )


_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions() -> Measurement:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("bench/add_domain.py: --instructions needs valgrind on PATH")
    prefix = (valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null")
    # A fixed hash seed: dict and set layouts, hence the counts, repeat from run to run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="spaps-bench-") as temp:
        workdir = Path(temp)
        # add domain needs a service to add to; new service is counted on another name.
        timed_run([*SPAPS, "new", "service", "bench-target-api"], cwd=workdir)
        runs = processes(workdir, "bench-target-api")
        runs["new service"] = ([*SPAPS, "new", "service", "bench-counted-api"], workdir)

        def count(label: str) -> float:
            argv, cwd = runs[label]
            found = _COLLECTED.search(timed_run([*prefix, *argv], cwd=cwd, env=env).stderr)
            if found is None:
                raise SystemExit(f"callgrind printed no instruction count for {label}")
            return float(found.group(1))

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            figures = dict(zip(runs, pool.map(count, runs), strict=True))
    figures[LIBCST] -= figures.pop(BARE_PYTHON)
    return Measurement(
        unit="instructions",
        figures=figures,
        ratio=figures["add domain"] / figures["new service"],
    )


def report(measurement: Measurement) -> None:
    if measurement.unit == "s":
        print(f"median wall time of {measurement.details['rounds']} rounds, whole processes:")
        scale, unit = 1.0, "s"
    else:
        print("instructions counted by callgrind, one process each (PYTHONHASHSEED=0):")
        scale, unit = 1e-6, "M"
    new = measurement.figures["new service"]
    rows = {
        "new service": "spaps new service",
        "add domain": "spaps add domain",
        FLOOR: f"{FLOOR}: spaps add domain --help",
        LIBCST: f"{LIBCST} (less python -c pass)",
    }
    for label, text in rows.items():
        value = measurement.figures[label]
        print(f"  {text:<40} {value * scale:9.3f} {unit:<2} {value / new:5.2f}x new service")
    verdict = "met" if measurement.met else "MISSED"
    spread = measurement.details.get("ratio_per_round")
    per_round = f" (per round {spread[0]:.2f}-{spread[1]:.2f})" if isinstance(spread, list) else ""
    print(f"ratio add/new {measurement.ratio:.2f}{per_round}; target < {TARGET_RATIO}: {verdict}")
    budget = measurement.budget
    if budget <= 0:
        print("  no budget left: the start-up floor alone is half of new service or more")
    else:
        print(
            f"  budget for add domain's own work (new x {TARGET_RATIO} - floor):"
            f" {budget * scale:.3f} {unit}; importing libcst alone takes"
            f" {measurement.figures[LIBCST] / budget:.1f}x that"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    options = parser.parse_args()

    compile_spaps()
    measurement = instructions() if options.instructions else timed(options.rounds, options.warmup)
    if options.json:
        print(json.dumps(measurement.as_json(), indent=2))
    else:
        report(measurement)
    return 1 if options.check and not measurement.met else 0


if __name__ == "__main__":
    raise SystemExit(main())
