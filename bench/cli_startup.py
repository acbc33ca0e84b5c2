"""How much does starting ``spaps`` cost over starting Typer itself?

    python bench/cli_startup.py [--rounds 21] [--json]

Runs ``spaps --help`` and ``python -c "import typer"`` as separate processes, interleaved
round by round (alternating which goes first) so both see the same machine load, and compares
their median wall times. Target: ``spaps --help`` <= 1.3x ``import typer``. Exit code 1 when the
target is missed, so CI can run it as a check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 1.3
BIN = Path(sys.executable).parent


def commands() -> dict[str, list[str]]:
    spaps = BIN / "spaps"
    if not spaps.exists():
        raise SystemExit(f"{spaps} not found: install spaps-cli in this environment first")
    return {
        "spaps --help": [str(spaps), "--help"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
    }


def wall_time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()

    runs = commands()
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: list[float] = []
    for round_index in range(options.warmup + options.rounds):
        order = names if round_index % 2 == 0 else names[::-1]
        measured = {name: wall_time(runs[name]) for name in order}
        if round_index < options.warmup:
            continue
        for name in names:
            times[name].append(measured[name])
        ratios.append(measured[names[0]] / measured[names[1]])

    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians[names[0]] / medians[names[1]]
    result = {
        "rounds": options.rounds,
        "median_seconds": {name: round(value, 4) for name, value in medians.items()},
        "ratio_of_medians": round(ratio, 3),
        "median_paired_ratio": round(statistics.median(ratios), 3),
        "target_ratio": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
    }
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{options.rounds} interleaved rounds, median wall time per process:")
        for name in names:
            print(f"  {name:<28} {medians[name] * 1000:7.1f} ms")
        print(
            f"  ratio {ratio:.2f}x (paired median {result['median_paired_ratio']:.2f}x);"
            f" target <= {TARGET_RATIO}x: {'met' if result['met'] else 'MISSED'}"
        )
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
