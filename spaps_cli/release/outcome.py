"""The outcomes of comparing the local version with the index, and their exit codes.

Every outcome has its own exit code (commitizen's lesson: a CI script should not have to parse
text to know what happened). AHEAD is 0 because it is the ordinary "ready to publish" answer;
the others sit at 10-14, clear of the generic codes 0-4 in :class:`spaps_cli.errors.ExitCode`,
so "1" keeps meaning "a local consistency check failed" and "2" keeps meaning "bad input".
Documented in docs/CLI.md and docs/RELEASING.md; the reusable workflow branches on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from spaps_cli.errors import SpapsError

if TYPE_CHECKING:
    from spaps_cli.release.index import IndexLookup


class Outcome(StrEnum):
    AHEAD = "AHEAD"  # local is newer than everything on the index: publish
    # a declared maintenance series: newer than everything in its series, not overall: publish
    MAINTENANCE = "MAINTENANCE"
    NOT_PUBLISHED = "NOT_PUBLISHED"  # the index answered 404: first release, publish
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"  # this exact version is on the index: nothing to do
    BEHIND = "BEHIND"  # the index has a newer version and not this one: refuse
    UNVERIFIABLE = "UNVERIFIABLE"  # time-out, 5xx, DNS, bad JSON: refuse (fail closed)
    OFFLINE = "OFFLINE"  # --offline: only the local checks ran


class ReleaseExitCode(IntEnum):
    """Exit codes of ``spaps release check`` (and of ``bump`` when the index can't be read)."""

    AHEAD = 0
    OFFLINE = 0  # alias: --offline and every local check passed
    CHECK_FAILED = 1  # same as ExitCode.CHECK_FAILED: a local consistency problem
    NOT_PUBLISHED = 10
    ALREADY_PUBLISHED = 11
    BEHIND = 12
    UNVERIFIABLE = 13
    MAINTENANCE = 14


#: Outcomes after which the workflow builds and uploads.
PUBLISHABLE = frozenset({Outcome.AHEAD, Outcome.NOT_PUBLISHED, Outcome.MAINTENANCE})


def exit_code_for(outcome: Outcome) -> int:
    return int(ReleaseExitCode[outcome.value])


class IndexUnverifiableError(SpapsError):
    """The index could not be read, and a release must not guess (fail closed).

    Carries the UNVERIFIABLE code in ``release_exit_code``; the release command exits with it.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.release_exit_code = int(ReleaseExitCode.UNVERIFIABLE)


@dataclass(frozen=True)
class FileChange:
    """A file a release command wrote or would write, as its report shows it."""

    path: str  # relative to the repository
    action: str  # the plan's action: "update", "create", "skip", ...
    shown: str  # what the status line says: "would update" on a dry run
    diff: str | None = None  # on a dry run, for a file that would change


class ReleaseReport(Protocol):
    """What ``release bump`` and ``release check`` tell their user.

    Both commands print these in one layout (spaps_cli/commands/release.py): the headline, what
    the index said, details, warnings, problems, the files, closing status lines, the verdict;
    ``as_json`` is the same facts as the ``--json`` document.
    """

    @property
    def headline(self) -> str: ...
    @property
    def lookup(self) -> IndexLookup: ...
    @property
    def details(self) -> list[str]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def problems(self) -> list[str]: ...
    @property
    def files(self) -> list[FileChange]: ...
    @property
    def closing(self) -> list[tuple[str, str]]: ...
    @property
    def verdict(self) -> str | None: ...
    def as_json(self) -> dict[str, Any]: ...
