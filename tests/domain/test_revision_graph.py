"""The CLI's reading of a revision graph agrees with Alembic's own ``RevisionMap``.

``add domain`` (and ``doctor`` when it cannot run Alembic in the service's interpreter) judge a
history without importing Alembic; these tests hold that judgement to Alembic's on random
graphs: the same cycle set (``CycleDetected``), the same dangling parents, the same heads.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.script.revision import CycleDetected, LoopDetected, Revision, RevisionMap
from hypothesis import given, settings
from hypothesis import strategies as st

from spaps_cli.revision_graph import RevisionFile, RevisionGraph, read_graph

NAMES = [f"r{index}" for index in range(7)]


@st.composite
def histories(draw: st.DrawFn, *, dangling: bool) -> list[tuple[str, tuple[str, ...]]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    pool = [*names, "ghost"] if dangling else names
    return [
        (name, tuple(draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))))
        for name in names
    ]


def ours(history: list[tuple[str, tuple[str, ...]]]) -> RevisionGraph:
    return RevisionGraph([RevisionFile(f"{rev}.py", rev, downs) for rev, downs in history])


def alembic_verdict(history: list[tuple[str, tuple[str, ...]]]) -> tuple[str, set[str]]:
    """``("cycle", revisions)``, ``("dangling", missing)`` or ``("heads", heads)``."""
    try:
        revisions = [Revision(rev, downs or None) for rev, downs in history]
    except LoopDetected as error:
        return "cycle", {str(error.args[0]).split()[-1]} if error.args else set()
    revision_map = RevisionMap(lambda: revisions)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            heads = set(revision_map.heads)
        except CycleDetected as error:
            return "cycle", set(error.revisions)
        except KeyError as error:
            return "dangling", {str(error.args[0])}
    assert not [w for w in caught if "not present" in str(w.message)]
    return "heads", heads


@settings(max_examples=300, deadline=None)
@given(histories(dangling=False))
def test_cycles_and_heads_are_alembics(history: list[tuple[str, tuple[str, ...]]]) -> None:
    graph = ours(history)
    kind, found = alembic_verdict(history)
    if any(rev in downs for rev, downs in history):
        assert kind == "cycle"
        assert graph.in_cycles()
        return
    if kind == "cycle":
        assert {r.revision for r in graph.in_cycles()} == found
    else:
        assert graph.in_cycles() == []
        assert {r.revision for r in graph.heads()} == found


@settings(max_examples=200, deadline=None)
@given(histories(dangling=True))
def test_dangling_parents_are_the_ones_alembic_cannot_find(
    history: list[tuple[str, tuple[str, ...]]],
) -> None:
    graph = ours(history)
    missing = {down for _, down in graph.dangling()}
    assert missing <= {"ghost"}
    if missing and not any(rev in downs for rev, downs in history):
        kind, found = alembic_verdict(history)
        assert (kind, found) == ("dangling", {"ghost"})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("revision = (\n", "line 1:"),
        ('down_revision = "x"\n', 'no `revision = "..."` found'),
        ("revision = " + "(" * 2000 + '"x"' + ")" * 2000 + "\n", ""),
    ],
    ids=["syntax", "no-revision", "too-deep"],
)
def test_unreadable_files_are_named_not_raised(tmp_path: Path, text: str, reason: str) -> None:
    (tmp_path / "202611261300_core_bad.py").write_text(text)
    (tmp_path / "__init__.py").write_text("")
    graph = read_graph(tmp_path)
    assert graph.revisions == []
    assert list(graph.unreadable) == ["202611261300_core_bad.py"]
    assert reason in graph.unreadable["202611261300_core_bad.py"]
