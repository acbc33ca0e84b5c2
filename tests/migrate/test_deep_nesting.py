"""Files nested too deeply to parse are per-file errors; no file can crash the run.

LibCST's parser is native: before the guard in ``spaps_cli.python_source``, 2,000 nested
parentheses killed ``spaps migrate`` with SIGSEGV (``BrokenProcessPool`` with ``-j 2``). These
tests run ``spaps`` as its own process, so a crash shows as a negative return code, not as a
dead test run.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from cli.cli_runner import spaps_process

from spaps_cli.codemods import runner
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.registry import select_codemods
from spaps_cli.codemods.runner import Mode, RunOptions, SourceFile, discover
from spaps_cli.python_source import MAX_NESTING, UnparsableSource, nesting_depth, parse_module

APP = 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.on_event("startup")\nasync def s():\n    pass\n'
#: Every file carries the on_event needle, so the pre-filter does not spare it the parse.
NEEDLE = '# app.on_event("startup")\n'

#: Each kind of nesting, at a depth that crashed libcst's parser on an 8 MiB stack.
DEEP: dict[str, Callable[[], str]] = {
    "parentheses": lambda: "x = " + "(" * 2000 + "1" + ")" * 2000 + "\n",
    "brackets": lambda: "x = " + "[" * 3000 + "]" * 3000 + "\n",
    "unary": lambda: "x = " + "-" * 10_000 + "1\n",
    "boolean": lambda: "x = " + " and ".join(["a"] * 10_000) + "\n",
    "attributes": lambda: "x = a" + ".b" * 10_000 + "\n",
    "calls": lambda: "x = f" + "()" * 10_000 + "\n",
    "elif": lambda: "if a:\n    pass\n" + "elif a:\n    pass\n" * 10_000,
    "lambda": lambda: "x = " + "lambda: " * 10_000 + "1\n",
    "fstring": lambda: 'x = f"{' + "(" * 2000 + "1" + ")" * 2000 + '}"\n',
}


def _tree(root: Path, *, fillers: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.py").write_text(APP)
    for kind, make in DEEP.items():
        (root / f"deep_{kind}.py").write_text(NEEDLE + make())
    for index in range(fillers):
        (root / f"filler_{index:03}.py").write_text(f"VALUE = {index}\n")
    return root


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("mode", ["--check", "--diff", None])
def test_deep_files_are_errors_and_the_run_goes_on(
    tmp_path: Path, mode: str | None, jobs: str
) -> None:
    # 200+ files so that -j 2 really uses the process pool.
    root = _tree(tmp_path / "svc", fillers=200 if jobs == "2" else 0)
    before = {path.name: path.read_bytes() for path in root.glob("deep_*.py")}
    argv = ["migrate", str(root), "-j", jobs, *([mode] if mode else [])]
    outcome = spaps_process(argv, cwd=tmp_path)
    assert outcome.code == 2, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr
    for kind in DEEP:
        [line] = [line for line in outcome.error_lines if f"deep_{kind}.py" in line]
        assert "nest" in line or "syntax error" in line, line
    migrated = (root / "app.py").read_text()
    assert ("lifespan=lifespan" in migrated) is (mode is None)
    if mode == "--diff":
        assert "+++ b/svc/app.py" in outcome.stdout
    assert {path.name: path.read_bytes() for path in root.glob("deep_*.py")} == before


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_each_kind_of_nesting_is_refused_before_libcst(kind: str) -> None:
    with pytest.raises(UnparsableSource) as raised:
        parse_module(DEEP[kind]())
    assert "\n" not in raised.value.message


def test_depth_counts_boolean_chains_as_libcst_nests_them() -> None:
    import ast

    flat = ast.parse(" and ".join(["a"] * 50))
    assert nesting_depth(flat) > 50


def test_ordinary_deep_code_still_parses() -> None:
    source = "x = " + "(" * 150 + "1" + ")" * 150 + "\n" + "y = " + " + ".join(["1"] * 300) + "\n"
    assert parse_module(source).code == source
    assert MAX_NESTING >= 300


def test_a_dead_worker_is_reported_for_its_file_and_the_others_are_migrated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that dies (here: SIGKILL, as the OOM killer would) breaks only its own file."""
    real = runner.process_file

    def dies_on_poison(source: SourceFile, options: RunOptions) -> runner.FileResult:
        if source.path.name == "poison.py":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(source, options)

    monkeypatch.setattr(runner, "process_file", dies_on_poison)  # inherited by forked workers
    for index in range(230):
        (tmp_path / f"m{index:03}.py").write_text(APP if index % 10 == 0 else f"V = {index}\n")
    (tmp_path / "poison.py").write_text(APP)
    found = discover([tmp_path], (), tmp_path)
    options = RunOptions(Mode.WRITE, tuple(c.ID for c in select_codemods(())), MigrateConfig())
    results = {result.path: result for result in runner.run(found.files, options, jobs=2)}
    assert len(results) == 231
    assert "worker process died" in (results["poison.py"].error or "")
    assert [path for path, result in results.items() if result.error] == ["poison.py"]
    assert "lifespan=lifespan" in (tmp_path / "m000.py").read_text()
    assert "lifespan=lifespan" in (tmp_path / "m220.py").read_text()


def test_doctor_reports_a_deep_file_instead_of_crashing(service: Path, tmp_path: Path) -> None:
    from fleet.conftest import PACKAGE

    package = service / "src" / PACKAGE
    (package / "deep.py").write_text(NEEDLE + DEEP["parentheses"]())
    outcome = spaps_process(["doctor", str(service), "--json"], cwd=tmp_path)
    assert outcome.code == 1, outcome.stderr[-2000:]
    findings = outcome.json()["findings"]
    assert any("deep.py" in finding["message"] for finding in findings), findings


@pytest.fixture
def service(tmp_path: Path) -> Path:
    from fleet.conftest import generate

    target = tmp_path / "billing-api"
    generate(target)
    return target


@pytest.mark.parametrize("target", ["api/registry.py", "domains/deep/tasks.py"])
def test_add_refuses_a_deep_file_it_edits_in_one_line(
    service: Path, tmp_path: Path, target: str
) -> None:
    from fleet.conftest import PACKAGE

    path = service / "src" / PACKAGE / target
    if target.startswith("domains/"):
        assert spaps_process(["add", "domain", "deep", "--dir", str(service)]).code == 0
        argv = ["add", "task", "ping_me", "--domain", "deep", "--dir", str(service)]
    else:
        argv = ["add", "domain", "other", "--dir", str(service)]
    path.write_text(path.read_text() + DEEP["boolean"]())
    outcome = spaps_process(argv, cwd=tmp_path)
    assert outcome.code == 2, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr
    [line] = outcome.error_lines
    assert target.rsplit("/", 1)[-1] in line
    assert "nested" in line


def test_a_deep_migration_file_is_one_line_for_add_domain(service: Path, tmp_path: Path) -> None:
    versions = service / "migrations" / "versions"
    (versions / "202601010000_core_deep.py").write_text(DEEP["unary"]())
    outcome = spaps_process(["add", "domain", "other", "--dir", str(service)], cwd=tmp_path)
    assert outcome.code == 2, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr
    [line] = outcome.error_lines
    assert "202601010000_core_deep.py" in line
    assert "nested too deeply" in line


def test_a_deep_version_file_is_one_line_for_release(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo-pkg"\nversion = "1.0.0"\n')
    (tmp_path / "demo_pkg").mkdir()
    (tmp_path / "demo_pkg" / "__init__.py").write_text('__version__ = "1.0.0"\n' + DEEP["unary"]())
    outcome = spaps_process(["release", "check", "--offline"], cwd=tmp_path)
    assert outcome.code == 2, outcome.stderr[-2000:]
    assert "Traceback" not in outcome.stderr
    [line] = outcome.error_lines
    assert "__init__.py" in line
    assert "nested too deeply" in line


def test_nesting_that_parses_but_exhausts_the_visitors_is_a_file_error(tmp_path: Path) -> None:
    """900 chained ``+``: libcst parses it, its Python visitors run out of recursion."""
    (tmp_path / "a.py").write_text(APP + "x = " + " + ".join(["1"] * 900) + "\n")
    (tmp_path / "b.py").write_text(APP)
    found = discover([tmp_path], (), tmp_path)
    options = RunOptions(Mode.WRITE, tuple(c.ID for c in select_codemods(())), MigrateConfig())
    results = {result.path: result for result in runner.run(found.files, options, jobs=1)}
    assert "nested too deeply" in (results["a.py"].error or "")
    assert results["b.py"].changed
    assert "lifespan" not in (tmp_path / "a.py").read_text()
