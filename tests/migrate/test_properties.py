"""Property tests: generated programs through every codemod never crash, and the output
always parses and is a fixed point (a second run changes nothing)."""

from __future__ import annotations

import ast
from datetime import timedelta

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from spaps_cli.codemods.base import Codemod
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.registry import CODEMODS

CONFIG = MigrateConfig(
    modules={"htma.core": "spaps_server_quickstart", "app.util:f": "spaps_server_quickstart.x:g"}
)
SNIPPETS = [example.before for codemod in CODEMODS for example in codemod.EXAMPLES]
# hypothesmith compiles the programs it generates; nonsense such as ``1()`` is valid grammar and
# draws the compiler's SyntaxWarning, which says nothing about the codemods.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

BOUNDED = settings(
    max_examples=60,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=True,
)


def _parse(source: str) -> cst.Module | None:
    try:
        return cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        return None


def _run_all(module: cst.Module) -> cst.Module:
    """Every codemod, with no pre-filter, so each one sees every generated program."""
    for codemod in CODEMODS:
        module = _apply(codemod, module)
    return module


def _apply(codemod: type[Codemod], module: cst.Module) -> cst.Module:
    return codemod(CONFIG).apply(module).module


def _check(source: str) -> None:
    module = _parse(source)
    assume(module is not None)
    assert module is not None
    once = _run_all(module)
    ast.parse(once.code)
    reparsed = cst.parse_module(once.code)
    twice = _run_all(reparsed)
    assert twice.code == once.code


@BOUNDED
@given(hypothesmith.from_grammar())
def test_generated_programs(source: str) -> None:
    _check(source)


@BOUNDED
@given(hypothesmith.from_grammar(), st.sampled_from(SNIPPETS), st.booleans())
def test_generated_programs_around_real_shapes(source: str, snippet: str, before: bool) -> None:
    """Generated code next to shapes the codemods rewrite, so they actually do something."""
    module = _parse(source)
    assume(module is not None)
    combined = snippet + "\n" + source if before else source.rstrip("\n") + "\n\n" + snippet
    _check(combined)
