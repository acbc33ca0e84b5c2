"""The codemod contract: an id, a one-line summary, byte needles, before/after examples.

A codemod is a plain :class:`libcst.CSTTransformer` (no matcher decorators, no metadata
wrapper: those were the measured per-file costs, docs/PERFORMANCE.md "spaps migrate"). It carries
its own examples, Fixit-style, so ``spaps migrate --list``, docs/MIGRATION_GUIDE.md and the test
suite all read the same text. What a codemod cannot rewrite safely it reports as a follow-up
anchored on the original node; the runner turns anchors into line numbers only for files that
have findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.project_scan import ProjectFacts
from spaps_cli.codemods.traversal import Transformer

#: What a codemod may need before its output can run, and the manual step that provides it.
PREREQUISITES: dict[str, str] = {
    "app-on-create-app": (
        "the app is not built by spaps_server_quickstart.create_app, which wires the runtime's"
        " database (DbSession) and SPAPS auth service: build the app with"
        " create_app(settings, routers=[...]) first, then re-run"
    ),
    "settings-on-runtime": (
        "the service's settings are not a BaseServiceSettings (the object the runtime's"
        " factories read celery_broker_url, celery_result_backend and service_name from), and"
        " settings-to-runtime cannot move them in this run: migrate the settings class first"
    ),
}


def prerequisite_met(name: str, facts: ProjectFacts, provided: frozenset[str]) -> bool:
    """Is ``name`` true of the project already, or made true by a codemod of this run?

    ``provided`` holds what the run's selected codemods provide; whether one of them can
    provide it *for this project* is a fact of the scan (settings-to-runtime moves only a
    class its proof accepts).
    """
    if name == "app-on-create-app":
        return facts.app_on_create_app
    if name == "settings-on-runtime":
        states = set(facts.settings_objects.values())
        return "runtime" in states or ("provable" in states and name in provided)
    return False


@dataclass(frozen=True)
class Example:
    """A before/after pair: documentation, ``--list`` output and a test case at once."""

    title: str
    before: str
    after: str


@dataclass(frozen=True)
class Finding:
    """One thing a codemod found in one file, picklable so workers can return it."""

    codemod: str
    path: str
    line: int
    message: str
    auto_fixable: bool
    #: The follow-up leaves code that is deprecated or already removed upstream (``on_event``,
    #: ``add_event_handler``): ``--check`` fails on it even without ``--strict``.
    deprecated: bool = False
    #: Acknowledged with ``# spaps: ignore[ID]`` on its line or in ``[tool.spaps.migrate]``.
    acknowledged: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "codemod": self.codemod,
            "file": self.path,
            "line": self.line,
            "message": self.message,
            "auto_fixable": self.auto_fixable,
            "deprecated": self.deprecated,
            "acknowledged": self.acknowledged,
        }


@dataclass
class PendingFinding:
    """A finding before its line is known: the node it is about, in the *original* tree."""

    anchor: cst.CSTNode | None
    message: str
    auto_fixable: bool
    hint: str | None = None
    deprecated: bool = False


@dataclass
class Outcome:
    """What one codemod did to one module."""

    module: cst.Module
    changes: int = 0
    pending: list[PendingFinding] = field(default_factory=list)


class Codemod(Transformer):
    """Base of every codemod; subclasses set the class attributes and override hooks."""

    ID: ClassVar[str]
    SUMMARY: ClassVar[str]
    NEEDLES: ClassVar[tuple[bytes, ...]]
    EXAMPLES: ClassVar[tuple[Example, ...]]
    #: The configuration the examples assume (the imports map needs one).
    EXAMPLE_CONFIG: ClassVar[MigrateConfig] = MigrateConfig()
    #: The project facts the examples assume (what the rest of their project shows).
    EXAMPLE_FACTS: ClassVar[ProjectFacts] = ProjectFacts()
    #: Names from :data:`PREREQUISITES` this codemod's output needs; the runner reports its
    #: rewrites as follow-ups naming the prerequisite when it is not met.
    REQUIRES: ClassVar[tuple[str, ...]] = ()
    #: Prerequisites this codemod makes true when it rewrites (it runs before their users).
    PROVIDES: ClassVar[tuple[str, ...]] = ()
    #: The preflight requirement this codemod's output needs (a key of
    #: ``spaps_cli.codemods.preflight.NEEDS``: "runtime" for output that imports the runtime,
    #: "lifespan" for ``FastAPI(lifespan=...)``); the runner skips it where it cannot be met.
    PREFLIGHT: ClassVar[str | None] = None

    def __init__(self, config: MigrateConfig, facts: ProjectFacts | None = None) -> None:
        super().__init__()
        self.config = config
        self.facts = facts if facts is not None else ProjectFacts()
        #: The dotted name of the module being migrated (set by the runner; "" when unknown).
        self.module_name = ""
        #: The module's source text when the runner has it unchanged (None: generate it).
        self.source_text: str | None = None
        self.changes = 0
        self.pending: list[PendingFinding] = []

    @classmethod
    def needles(cls, config: MigrateConfig) -> tuple[bytes, ...]:
        """Byte strings one of which must occur in a file before it is worth parsing."""
        return cls.NEEDLES

    @classmethod
    def wants(cls, data: bytes, config: MigrateConfig) -> bool:
        """The byte pre-filter: is this file worth parsing for this codemod?

        Needles are substring checks (essentially free); a codemod whose needles are common
        words may narrow them further with a regular expression over the same bytes.
        """
        return any(needle in data for needle in cls.needles(config))

    def apply(self, module: cst.Module) -> Outcome:
        """Run the transformer once over ``module`` (subclasses may add an import step)."""
        new_module = module.visit(self)
        assert isinstance(new_module, cst.Module)
        return Outcome(new_module, self.changes, self.pending)

    def imported_elsewhere(self, name: str) -> bool:
        """Does another module of the project (tests included) import ``name`` from this one?"""
        return bool(self.module_name) and self.facts.imported_elsewhere(self.module_name, name)

    def removable(self, names: Iterable[str]) -> set[str]:
        """``names`` minus those another module still imports from this one."""
        return {name for name in names if not self.imported_elsewhere(name)}

    def changed(self, anchor: cst.CSTNode | None, message: str, *, hint: str | None = None) -> None:
        """Record an automatic rewrite (shown in --json as an auto-fixable finding)."""
        self.changes += 1
        self.pending.append(PendingFinding(anchor, message, True, hint))

    def follow_up(
        self,
        anchor: cst.CSTNode | None,
        message: str,
        *,
        hint: str | None = None,
        deprecated: bool = False,
    ) -> None:
        """Record something a person must do; ``hint`` is text to find the line if needed.

        ``deprecated``: the code left in place is deprecated or removed upstream, so the
        ``--check`` gate fails on it (other follow-ups fail it only under ``--strict``).
        """
        self.pending.append(PendingFinding(anchor, message, False, hint, deprecated))


def codemod_ids(codemods: Sequence[type[Codemod]]) -> list[str]:
    return [codemod.ID for codemod in codemods]
