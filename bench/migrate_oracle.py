"""Projects' own test suites as the oracle for ``spaps migrate``.

A codemod that changes behaviour shows up as a test of the project that passed before the
migration and fails after it. For each recipe in ``bench/migrate_oracle.toml`` this script:

1. copies the project's checked-out tree (it fetches nothing: ``--trees DIR`` holds
   ``<owner>+<name>`` checkouts at the recipe's commit) into a scratch directory;
2. builds ``.venv`` inside the copy with the recipe's Python and install commands, then tries to
   add this checkout's runtime without changing anything the project installed (a constraints
   file from ``pip freeze``); when that cannot resolve, the runtime stays out and the migration
   must not make the project import it;
3. runs the project's tests (JUnit XML), runs ``spaps migrate`` (writing) on the copy, runs the
   same tests again in the same virtualenv, and compares them test by test.

    python bench/migrate_oracle.py --trees /path/to/checkouts            # every recipe
    python bench/migrate_oracle.py --trees DIR --only rednafi+fastapi-nano --keep

Exit status 1 when any test that passed before fails after the migration.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
RECIPES = Path(__file__).with_suffix(".toml")


@dataclass(frozen=True)
class Recipe:
    name: str
    repository: str
    commit: str
    python: str
    install: list[str]
    tests: list[str]
    root: str = ""
    setup: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    lock: str = ""


@dataclass
class Outcome:
    recipe: Recipe
    runtime: str
    before: dict[str, str]
    after: dict[str, str]
    migrate: dict[str, object]

    @property
    def broken(self) -> list[str]:
        """Tests that passed before the migration and do not pass after it."""
        return sorted(
            test
            for test, result in self.before.items()
            if result == "passed" and self.after.get(test) != "passed"
        )


def load_recipes() -> list[Recipe]:
    data = tomllib.loads(RECIPES.read_text(encoding="utf-8"))
    return [Recipe(**entry) for entry in data["project"]]


def run(command: str | list[str], cwd: Path, env: dict[str, str], timeout: int = 1800) -> str:
    """Run one step; a failing step stops this project's run with its output's tail."""
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        shell=isinstance(command, str),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise RuntimeError(f"{command!r} exited {result.returncode}:\n  " + "\n  ".join(tail))
    return result.stdout


def poetry_lock_requirements(lock: Path) -> str:
    """``name==version`` for every package of a poetry.lock, as pip reads them."""
    data = tomllib.loads(lock.read_text(encoding="utf-8"))
    return "".join(f"{package['name']}=={package['version']}\n" for package in data["package"])


def imports_runtime(project: Path) -> bool:
    """Whether the migrated code (outside its virtualenv) imports the shared runtime."""
    return any(
        "spaps_server_quickstart" in path.read_text(encoding="utf-8", errors="replace")
        for path in project.rglob("*.py")
        if ".venv" not in path.relative_to(project).parts
    )


def install_runtime(project: Path, env: dict[str, str], frozen: Path) -> str:
    """Add this checkout's runtime as a user would; say what it moved, or why it could not.

    First without changing anything the project installed; when that cannot resolve (the
    runtime's own requirements exclude a version the project has), the way a user would
    (``pip install spaps-server-quickstart``), recording the packages that moved.
    """
    install = [env["PYTHON"], "-m", "pip", "install", "-q", str(CHECKOUT / "runtime")]
    try:
        run([*install, "-c", str(frozen)], project, env)
        return "yes"
    except RuntimeError:
        pass
    try:
        run(install, project, env)
    except RuntimeError as error:
        return "no: " + str(error).splitlines()[-1].strip()[:80]
    before = dict(line.split("==", 1) for line in frozen.read_text().splitlines() if "==" in line)
    now = run([env["PYTHON"], "-m", "pip", "freeze"], project, env)
    moved = [
        f"{name} {before[name]}→{version}"
        for name, version in (line.split("==", 1) for line in now.splitlines() if "==" in line)
        if name in before and before[name] != version
    ]
    return "yes, moved " + ", ".join(moved)


def find_python(version: str) -> str:
    """An interpreter of this version that really runs (a pyenv shim may only print advice)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += [
        str(p) for p in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
        if probe.returncode == 0:
            return candidate
    raise RuntimeError(f"no working python{version} on PATH or under {pyenv_root}")


def junit_results(report: Path) -> dict[str, str]:
    """Test id -> passed/failed/error/skipped, from pytest's JUnit XML."""
    if not report.exists():
        return {}
    results: dict[str, str] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in {"failure", "error", "skipped"}:
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        results[test] = outcome
    return results


def run_tests(recipe: Recipe, project: Path, env: dict[str, str], report: Path) -> dict[str, str]:
    for command in recipe.setup:
        run(command, project, env)
    result = subprocess.run(
        [
            str(project / ".venv/bin/python"),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            *recipe.tests,
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    report.with_suffix(".log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return junit_results(report)


def oracle(recipe: Recipe, trees: Path, scratch: Path) -> Outcome:
    source = trees / recipe.name
    if not source.is_dir():
        raise RuntimeError(f"{source} is missing: check out {recipe.repository} at {recipe.commit}")
    head = run(["git", "rev-parse", "HEAD"], source, dict(os.environ)).strip()
    if head != recipe.commit:
        raise RuntimeError(f"{source} is at {head}, the recipe wants {recipe.commit}")
    copy = scratch / recipe.name
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".git"))
    project = copy / recipe.root
    database = "oracle_" + "".join(c if c.isalnum() else "_" for c in recipe.name.lower())[:40]
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")}
    env.update({key: value.format(db=database) for key, value in recipe.env.items()})
    env["PYTHON"] = str(project / ".venv/bin/python")
    recipe = Recipe(**{**recipe.__dict__, "setup": [c.format(db=database) for c in recipe.setup]})
    if recipe.lock:
        requirements = scratch / f"{recipe.name}.lock.txt"
        requirements.write_text(poetry_lock_requirements(project / recipe.lock), encoding="utf-8")
        env["ORACLE_LOCK_REQUIREMENTS"] = str(requirements)

    interpreter = find_python(recipe.python)
    run([interpreter, "-m", "venv", ".venv"], project, env)
    for command in recipe.install:
        run(command, project, env)
    before = run_tests(recipe, project, env, scratch / f"{recipe.name}.before.xml")
    spaps = Path(sys.executable).with_name("spaps")
    migrate = subprocess.run(
        [str(spaps), "migrate", ".", "--json", "--exclude", ".venv/**"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    try:
        report: dict[str, object] = json.loads(migrate.stdout)
    except json.JSONDecodeError:
        report = {"exit_code": migrate.returncode, "stderr": migrate.stderr.strip()[-500:]}
    runtime = "not needed"
    if imports_runtime(project):
        frozen = scratch / f"{recipe.name}.constraints.txt"
        freeze = [env["PYTHON"], "-m", "pip", "freeze"]
        frozen.write_text(run(freeze, project, env), encoding="utf-8")
        runtime = install_runtime(project, env, frozen)
    after = run_tests(recipe, project, env, scratch / f"{recipe.name}.after.xml")
    return Outcome(recipe, runtime, before, after, report)


def summary_row(outcome: Outcome) -> str:
    report = outcome.migrate
    files = report.get("files", {})
    changed = files.get("changed", "?") if isinstance(files, dict) else "?"
    findings = report.get("findings", [])
    passed_before = sum(result == "passed" for result in outcome.before.values())
    passed_after = sum(result == "passed" for result in outcome.after.values())
    return (
        f"| {outcome.recipe.repository} | `{outcome.recipe.commit[:12]}` | "
        f"{outcome.runtime} | {changed} | "
        f"{len(findings) if isinstance(findings, list) else '?'} | {len(outcome.before)} | "
        f"{passed_before} | {passed_after} | {len(outcome.broken)} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=Path, required=True, help="checkouts, <owner>+<name>")
    parser.add_argument("--only", action="append", default=[], help="run this recipe only")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()
    recipes = [r for r in load_recipes() if not args.only or r.name in args.only]
    scratch = Path(tempfile.mkdtemp(prefix="spaps-oracle-"))
    print(
        "| project | commit | runtime added | files rewritten | follow-ups | tests "
        "| passed before | passed after | broken by migrate |\n|" + "---|" * 9
    )
    broken = False
    try:
        for recipe in recipes:
            try:
                outcome = oracle(recipe, args.trees.resolve(), scratch)
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                print(f"| {recipe.repository} | not run: {str(error).splitlines()[0]} |")
                continue
            print(summary_row(outcome), flush=True)
            for test in outcome.broken:
                print(f"    broken: {test} ({outcome.after.get(test, 'missing')})", file=sys.stderr)
            broken = broken or bool(outcome.broken)
    finally:
        if args.keep:
            print(f"scratch kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
