"""Wall time of ``spaps add domain`` against ``spaps new service``, measured in the same run.

Each round generates a fresh service with ``spaps new service`` and then adds one domain to it
with ``spaps add domain``; both are whole processes (interpreter start and imports included),
timed back to back so machine load hits both alike. The figure that matters is the per-round
ratio add/new (target: under 0.5); medians are printed with min-max because a shared 2-core
machine is noisy.

    python bench/add_domain.py [--rounds 15] [--warmup 2] [--json] [--check]

``--check`` exits 1 when the median ratio misses the target.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.5
CLI = [sys.executable, "-c", "from spaps_cli.app import main; main()"]


def _timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        [*CLI, *argv], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"spaps {' '.join(argv)} failed:\n{completed.stderr}")
    return elapsed


def one_round(workdir: Path, index: int) -> tuple[float, float]:
    name = f"bench-{index}-api"
    new = _timed(["new", "service", name], workdir)
    add = _timed(["add", "domain", "billing"], workdir / name)
    return new, add


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="spaps-bench-") as temp:
        workdir = Path(temp)
        for index in range(options.warmup):
            one_round(workdir, 1000 + index)
        news: list[float] = []
        adds: list[float] = []
        for index in range(options.rounds):
            new, add = one_round(workdir, index)
            news.append(new)
            adds.append(add)

    ratios = [add / new for new, add in zip(news, adds, strict=True)]
    result = {
        "rounds": options.rounds,
        "new_service_s": _summary(news),
        "add_domain_s": _summary(adds),
        "ratio_add_over_new": _summary(ratios),
        "target_ratio": TARGET_RATIO,
        "met": statistics.median(ratios) < TARGET_RATIO,
    }
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        for label, key in (
            ("spaps new service", "new_service_s"),
            ("spaps add domain", "add_domain_s"),
        ):
            figures = result[key]
            assert isinstance(figures, dict)
            print(
                f"{label:<18} median {figures['median']:.3f} s"
                f"  (min {figures['min']:.3f}, max {figures['max']:.3f}, n={options.rounds})"
            )
        ratio = result["ratio_add_over_new"]
        assert isinstance(ratio, dict)
        verdict = "met" if result["met"] else "MISSED"
        print(
            f"ratio add/new      median {ratio['median']:.2f}  (target < {TARGET_RATIO}: {verdict})"
        )
    return 1 if options.check and not result["met"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
