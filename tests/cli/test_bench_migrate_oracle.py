"""bench/migrate_oracle.py reads its recipes and pytest's reports correctly.

The oracle itself needs public trees and several minutes per project, so it is run by hand
(docs/MIGRATION_GUIDE.md); what it decides from is tested here.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def oracle() -> Iterator[ModuleType]:
    spec = importlib.util.spec_from_file_location(
        "bench_migrate_oracle", REPO / "bench" / "migrate_oracle.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_every_recipe_names_a_commit_and_a_test_command(oracle: ModuleType) -> None:
    recipes = oracle.load_recipes()
    assert len(recipes) >= 3
    for recipe in recipes:
        assert re.fullmatch(r"[0-9a-f]{40}", recipe.commit), recipe.name
        assert recipe.name == recipe.repository.replace("/", "+")
        assert recipe.install
        assert recipe.tests


def test_junit_outcomes_and_broken_tests(oracle: ModuleType, tmp_path: Path) -> None:
    def report(name: str, cases: str) -> Path:
        path = tmp_path / name
        path.write_text(f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
        return path

    before = oracle.junit_results(
        report(
            "before.xml",
            '<testcase classname="t" name="a"/><testcase classname="t" name="b"/>'
            '<testcase classname="t" name="c"><skipped/></testcase>',
        )
    )
    after = oracle.junit_results(
        report(
            "after.xml",
            '<testcase classname="t" name="a"><failure message="401"/></testcase>'
            '<testcase classname="t" name="c"/>',
        )
    )
    assert before == {"t::a": "passed", "t::b": "passed", "t::c": "skipped"}
    outcome = oracle.Outcome(oracle.load_recipes()[0], "not needed", before, after, {})
    # a now fails, b vanished (collection broke); c was never passing, so it is not counted.
    assert outcome.broken == ["t::a", "t::b"]
    assert oracle.junit_results(tmp_path / "missing.xml") == {}


def test_poetry_lock_becomes_pinned_requirements(oracle: ModuleType, tmp_path: Path) -> None:
    lock = tmp_path / "poetry.lock"
    lock.write_text(
        '[[package]]\nname = "fastapi"\nversion = "0.52.0"\n\n'
        '[[package]]\nname = "pydantic"\nversion = "1.4"\n'
    )
    assert oracle.poetry_lock_requirements(lock) == "fastapi==0.52.0\npydantic==1.4\n"
