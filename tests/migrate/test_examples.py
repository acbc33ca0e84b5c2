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


@pytest.mark.parametrize(("codemod", "example"), CASES)
def test_example_after_is_sorted_as_ruff_wants(
    codemod: type[Codemod], example: Example, tmp_path: Path
) -> None:
    """The generated code's own linter judges import placement: ``ruff check --select I``.

    The examples' services call their package ``app`` or ``htma``: first party, as ruff finds
    it in a real checkout.
    """
    import shutil
    import subprocess
    import sys

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is a dev dependency"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 100\n[tool.ruff.lint.isort]\nknown-first-party = ["app", "htma"]\n'
    )
    target = tmp_path / "example.py"
    target.write_text(example.after)
    result = subprocess.run(
        [ruff, "check", "--select", "I", "--no-cache", str(target)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
