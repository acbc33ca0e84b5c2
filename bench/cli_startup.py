"""How much does starting ``spaps`` cost over starting Typer itself?

    python bench/cli_startup.py [--rounds 21] [--warmup 3] [--json]

Runs each command below and ``python -c "import typer"`` as separate processes, interleaved
round by round (the order rotates every round) so all see the same machine load, and compares
median wall times against ``import typer``:

- ``spaps --help``: the root group, which lists commands without importing their modules.
- ``spaps doctor --help``: one command module imported and its Typer command built, parameters
  and all. This is the start-up every real command pays before doing its own work, and it is
  the figure Typer 0.29 moved (+150-200 ms, pydantic), which is why pyproject.toml caps Typer.

Target: each <= 1.3x ``import typer``. Exit code 1 when a target is missed, so CI can run it as
a check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from process_timing import compile_spaps, timed_run

TARGET_RATIO = 1.3
BIN = Path(sys.executable).parent
BASELINE = "python -c 'import typer'"


def commands() -> dict[str, list[str]]:
    """The baseline first, then every measured command."""
    spaps = BIN / "spaps"
    if not spaps.exists():
        raise SystemExit(f"{spaps} not found: install spaps-cli in this environment first")
    return {
        BASELINE: [sys.executable, "-c", "import typer"],
        "spaps --help": [str(spaps), "--help"],
        "spaps doctor --help": [str(spaps), "doctor", "--help"],
    }


def wall_time(argv: list[str]) -> float:
    return timed_run(argv, capture=False, limit=60).seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    compile_spaps()

    runs = commands()
    names = list(runs)
    measured_names = names[1:]
    times: dict[str, list[float]] = {name: [] for name in names}
    paired: dict[str, list[float]] = {name: [] for name in measured_names}
    for round_index in range(options.warmup + options.rounds):
        shift = round_index % len(names)
        order = names[shift:] + names[:shift]
        measured = {name: wall_time(runs[name]) for name in order}
        if round_index < options.warmup:
            continue
        for name in names:
            times[name].append(measured[name])
        for name in measured_names:
            paired[name].append(measured[name] / measured[BASELINE])

    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {name: medians[name] / medians[BASELINE] for name in measured_names}
    result = {
        "rounds": options.rounds,
        "median_seconds": {name: round(value, 4) for name, value in medians.items()},
        "ratio_of_medians": {name: round(ratio, 3) for name, ratio in ratios.items()},
        "median_paired_ratio": {
            name: round(statistics.median(values), 3) for name, values in paired.items()
        },
        "target_ratio": TARGET_RATIO,
        "met": all(ratio <= TARGET_RATIO for ratio in ratios.values()),
    }
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{options.rounds} interleaved rounds, median wall time per process:")
        print(f"  {BASELINE:<28} {medians[BASELINE] * 1000:7.1f} ms  (baseline)")
        for name in measured_names:
            verdict = "met" if ratios[name] <= TARGET_RATIO else "MISSED"
            print(
                f"  {name:<28} {medians[name] * 1000:7.1f} ms  {ratios[name]:.2f}x"
                f" (paired median {result['median_paired_ratio'][name]:.2f}x);"
                f" target <= {TARGET_RATIO}x: {verdict}"
            )
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
