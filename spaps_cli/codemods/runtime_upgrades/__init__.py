"""The runtime's upgrade codemods, registered by the runtime release that needs them.

``spaps update --runtime X`` runs, in version order, the codemods of every release in
``(the service's runtime, X]``. A runtime release that changes public API adds, in the same
pull request:

1. one module per codemod in this package (a rename is a subclass of
   :class:`~spaps_cli.codemods.runtime_upgrades.renamed_names.RenamedRuntimeNames` with its
   ``RENAMES``; anything else is a :class:`~spaps_cli.codemods.base.Codemod` with examples);
2. a :class:`RuntimeUpgrade` row in :data:`UPGRADES` naming the release and its codemods;
3. its ``[[runtime]]`` row in ``spaps_cli/compat/matrix.toml`` (``--runtime`` refuses versions
   the matrix does not know).

The codemods run through the same engine as ``spaps migrate`` (byte needles, one parse, the
proof rules, follow-ups with file:line), so the same tests and ``# spaps: ignore[ID]`` apply.
This module imports no codemod until asked, so ``spaps`` starts as fast as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.version import Version

if TYPE_CHECKING:
    from spaps_cli.codemods.base import Codemod


@dataclass(frozen=True)
class RuntimeUpgrade:
    """What moving a service onto runtime ``version`` takes: its codemods, in order."""

    version: str
    codemods: tuple[type[Codemod], ...]
    summary: str = ""

    @property
    def parsed(self) -> Version:
        return Version(self.version)


#: One row per runtime release that changes public API, any order (sorted when used). 1.0.0 is
#: the first release, so there is nothing to upgrade from yet.
UPGRADES: tuple[RuntimeUpgrade, ...] = ()


@dataclass(frozen=True)
class UpgradeRegistry:
    """The rows a run uses: :data:`UPGRADES`, or the ones a test supplies."""

    upgrades: tuple[RuntimeUpgrade, ...] = UPGRADES

    def __post_init__(self) -> None:
        versions = [upgrade.parsed for upgrade in self.upgrades]
        if len(set(versions)) != len(versions):
            raise ValueError("a runtime version is registered twice")
        ids = [codemod.ID for upgrade in self.upgrades for codemod in upgrade.codemods]
        if len(set(ids)) != len(ids):
            raise ValueError("a runtime upgrade codemod id is registered twice")

    @classmethod
    def of(cls, upgrades: Iterable[RuntimeUpgrade]) -> UpgradeRegistry:
        return cls(tuple(upgrades))

    @classmethod
    def installed(cls) -> UpgradeRegistry:
        """The rows this CLI ships (tests replace this, as they do ``TemplateVersions``)."""
        return cls(UPGRADES)

    def between(self, after: Version, upto: Version) -> Sequence[RuntimeUpgrade]:
        """The releases in ``(after, upto]``, oldest first: each one's codemods see the code the
        previous release's codemods left."""
        return sorted(
            (upgrade for upgrade in self.upgrades if after < upgrade.parsed <= upto),
            key=lambda upgrade: upgrade.parsed,
        )
