"""A service's Alembic revision graph, read from its files the way Alembic links them.

``add domain`` must find the one head to build on, and ``doctor`` must say what is wrong with a
history, without importing the migrations (they import the service, which may not be installable
in the CLI's environment) and without the cost of importing Alembic (SQLAlchemy alone is ~0.2 s).
So the files are read with ``ast`` and the graph is judged by Alembic's own rules
(``alembic.script.revision.RevisionMap``):

- a ``down_revision`` that names no revision in the directory is **dangling** (Alembic warns
  "Revision X referenced from Y is not present", then fails);
- the revisions that are not both an ancestor of a head and a descendant of a base form a
  **cycle** (Alembic raises ``CycleDetected`` for exactly that set; a history whose every
  revision has a parent, or is a parent, has no base or no head and is all cycle), and so does
  a revision that names itself as a parent (``LoopDetected``);
- a **head** is a revision no other revision names as its parent; more than one means branches
  that need ``alembic merge``.

``doctor`` asks Alembic itself in the service's interpreter when it can (see
:mod:`spaps_cli.fleet.service_probe`) and uses this module when it cannot.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RevisionFile:
    filename: str
    revision: str
    down_revisions: tuple[str, ...]


@dataclass
class RevisionGraph:
    revisions: list[RevisionFile]
    #: files that could not be read as a migration: name -> why
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def by_id(self) -> dict[str, RevisionFile]:
        return {revision.revision: revision for revision in self.revisions}

    def duplicates(self) -> dict[str, list[str]]:
        """revision id -> the files that declare it, for ids declared more than once."""
        seen: dict[str, list[str]] = {}
        for revision in self.revisions:
            seen.setdefault(revision.revision, []).append(revision.filename)
        return {rev: names for rev, names in seen.items() if len(names) > 1}

    def dangling(self) -> list[tuple[RevisionFile, str]]:
        """``(file, missing parent)`` for every ``down_revision`` that names no revision."""
        known = self.by_id
        return [
            (revision, down)
            for revision in self.revisions
            for down in revision.down_revisions
            if down not in known
        ]

    def heads(self) -> list[RevisionFile]:
        referenced = {down for revision in self.revisions for down in revision.down_revisions}
        return [revision for revision in self.revisions if revision.revision not in referenced]

    def bases(self) -> list[RevisionFile]:
        return [revision for revision in self.revisions if not revision.down_revisions]

    def in_cycles(self) -> list[RevisionFile]:
        """Revisions that are not between a base and a head (Alembic's ``CycleDetected`` set)."""
        known = self.by_id
        children: dict[str, list[str]] = {}
        for revision in self.revisions:
            for down in revision.down_revisions:
                children.setdefault(down, []).append(revision.revision)
        from_heads = _reach((r.revision for r in self.heads()), lambda rev: _parents(known, rev))
        from_bases = _reach((r.revision for r in self.bases()), lambda rev: children.get(rev, []))
        on_a_path = from_heads & from_bases
        return [
            revision
            for revision in self.revisions
            # A revision that is its own parent is a loop even when it also has a way in and
            # out (Alembic refuses it on sight: LoopDetected).
            if revision.revision not in on_a_path or revision.revision in revision.down_revisions
        ]


def _parents(known: dict[str, RevisionFile], revision: str) -> Iterable[str]:
    node = known.get(revision)
    return node.down_revisions if node is not None else ()


def _reach(start: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    pending = list(start)
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        pending.extend(step(current))
    return seen


def read_graph(versions_dir: Path) -> RevisionGraph:
    """Every ``*.py`` of ``versions_dir`` but ``__init__.py`` (Alembic's rule), read with ast."""
    graph = RevisionGraph(revisions=[])
    for path in sorted(versions_dir.glob("*.py")):
        if path.name == "__init__.py":
            continue
        try:
            revision, downs = revision_ids(path)
        except SyntaxError as error:
            graph.unreadable[path.name] = f"line {error.lineno or 0}: {error.msg}"
            continue
        except (OSError, UnicodeDecodeError, RecursionError, MemoryError) as error:
            graph.unreadable[path.name] = type(error).__name__
            continue
        if revision is None:
            graph.unreadable[path.name] = 'no `revision = "..."` found'
            continue
        graph.revisions.append(RevisionFile(path.name, revision, downs))
    return graph


def revision_ids(path: Path) -> tuple[str | None, tuple[str, ...]]:
    """``revision`` and ``down_revision`` of a migration file, read without importing it.

    Raises what reading and parsing raise (``OSError``, ``UnicodeDecodeError``,
    ``SyntaxError``); callers decide whether that is an error or a finding.
    """
    from spaps_cli.python_source import UnparsableSource, check_python

    try:  # a file nested deeper than the parser's stack is a SyntaxError here, not a crash
        tree = check_python(path.read_text(encoding="utf-8"), filename=str(path))
    except UnparsableSource as exc:
        raise SyntaxError(str(exc)) from None
    values: dict[str, object] = {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                continue
    revision = values.get("revision")
    down = values.get("down_revision")
    if isinstance(down, str):
        downs: tuple[str, ...] = (down,)
    elif isinstance(down, list | tuple):
        downs = tuple(str(item) for item in down)
    else:
        downs = ()
    return (revision if isinstance(revision, str) else None), downs
