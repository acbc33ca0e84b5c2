"""bench/add_domain.py races copier on the same files. Not timed: this keeps the bench honest."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    # The benches import their shared modules as siblings, as `python bench/x.py` lets them.
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_add_domain", BENCH / "add_domain.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))
        sys.modules.pop(spec.name, None)


def test_one_round_reports_both_tools_and_the_ratio(tmp_path: Path) -> None:
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
    assert set(figures) == {
        "spaps add domain",
        "copier copy",
        "spaps add domain, libcst path",
        "start-up floor",
    }
    assert all(seconds > 0 for seconds in figures.values())
    # add domain does everything its --help does, and then the work.
    assert figures["spaps add domain"] > figures["start-up floor"]
    assert figures["spaps add domain, libcst path"] > figures["start-up floor"]
    # What spaps does that copier does not: the registry edit and the [tool.spaps] record.
    assert result["spaps_also_edits"] == ["pyproject.toml", "src/bench_api/api/registry.py"]
    assert result["files"] >= 7
    one_round = figures["copier copy"] / figures["spaps add domain"]
    assert result["ratio_copier_over_spaps"] == pytest.approx(one_round, abs=1e-3)
    assert result["ratio_per_round"] == [result["ratio_copier_over_spaps"]] * 2
    assert result["target_ratio"] == 1.5
    assert result["met"] is (result["ratio_copier_over_spaps"] >= result["target_ratio"])


def test_a_template_that_renders_differently_stops_the_bench(
    bench: ModuleType, tmp_path: Path
) -> None:
    bench.timed_run([*bench.SPAPS, "new", "service", bench.SERVICE], cwd=tmp_path)
    pristine = tmp_path / bench.SERVICE
    template = bench.domain_template(pristine, tmp_path)
    assert bench.check_same_files(pristine, template, tmp_path) == [
        "pyproject.toml",
        "src/bench_api/api/registry.py",
    ]

    router = next(template.rglob("router.py.jinja"))
    router.write_text(router.read_text() + "# only in copier's copy\n")
    with pytest.raises(SystemExit, match="rendered these differently"):
        bench.check_same_files(pristine, template, tmp_path)


def test_the_bench_knows_which_registry_edit_each_copy_times(
    bench: ModuleType, tmp_path: Path
) -> None:
    """The generated registry takes the line edit, the one mentioning the domain libcst."""
    bench.timed_run([*bench.SPAPS, "new", "service", bench.SERVICE], cwd=tmp_path)
    pristine = tmp_path / bench.SERVICE
    mentions_domain = tmp_path / "mentions"
    shutil.copytree(pristine, mentions_domain)
    bench.force_libcst_path(mentions_domain)

    bench.check_paths(pristine, mentions_domain)
    with pytest.raises(SystemExit, match="no longer takes the line edit"):
        bench.check_paths(mentions_domain, mentions_domain)
    with pytest.raises(SystemExit, match="no longer takes libcst"):
        bench.check_paths(pristine, pristine)
