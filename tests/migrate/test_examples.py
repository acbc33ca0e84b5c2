"""Every codemod's own before/after examples are test cases (Fixit's VALID/INVALID idea)."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.harness import assert_all_codemods_idempotent, assert_migrates, transform
from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.registry import CODEMODS

CASES = [
    pytest.param(codemod, example, id=f"{codemod.ID}: {example.title}")
    for codemod in CODEMODS
    for example in codemod.EXAMPLES
]


@pytest.mark.parametrize(("codemod", "example"), CASES)
def test_example(codemod: type[Codemod], example: Example) -> None:
    follow_ups = assert_migrates(example.before, example.after, codemod)
    if example.after == example.before:
        assert follow_ups, "an example that changes nothing must report a follow-up"


@pytest.mark.parametrize("codemod", CODEMODS, ids=[c.ID for c in CODEMODS])
def test_every_codemod_documents_itself(codemod: type[Codemod]) -> None:
    assert codemod.ID
    assert codemod.SUMMARY
    assert codemod.EXAMPLES
    assert any(example.after != example.before for example in codemod.EXAMPLES)


@pytest.mark.parametrize("codemod", CODEMODS, ids=[c.ID for c in CODEMODS])
def test_examples_trigger_the_byte_prefilter(codemod: type[Codemod]) -> None:
    """An example the pre-filter would skip would pass here and never run for real."""
    for example in codemod.EXAMPLES:
        assert codemod.wants(example.before.encode(), codemod.EXAMPLE_CONFIG)


@pytest.mark.parametrize("codemod", CODEMODS, ids=[c.ID for c in CODEMODS])
def test_noop_on_unrelated_code(codemod: type[Codemod]) -> None:
    source = '''\
"""A module with nothing to migrate."""

import os


def handler(event: str) -> str:
    return os.environ.get(event, "startup")
'''
    output, fixed, follow = transform(source, codemod)
    assert (output, fixed, follow) == (source, [], [])


CORPUS = sorted((Path(__file__).parent / "behaviour_corpus").glob("*.py"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_every_codemod_together_reaches_a_fixed_point(path: Path) -> None:
    """The runner's real path (pre-filter, all codemods in order) is idempotent as a whole."""
    assert_all_codemods_idempotent(path.read_bytes())


@pytest.mark.parametrize(("codemod", "example"), CASES)
def test_examples_through_all_codemods_reach_a_fixed_point(
    codemod: type[Codemod], example: Example
) -> None:
    assert_all_codemods_idempotent(example.before.encode(), codemod.EXAMPLE_CONFIG)
