"""Which template versions the installed CLI can render, and where each one's tree is.

The current tree stays at ``templates/service`` (the one every generator renders). Every version
a service may have been generated with, the current one included, is also kept as a full tree
under ``spaps_cli/template_history/<version>/service``, shipped in the wheel as package data.
Full trees rather than patches: an update renders the *old* version with the service's answers,
and a tree is rendered by the same :func:`render_tree` as the current one, with nothing to apply
first that could fail to apply; the cost is ~100 kB of text per version. Keeping the current
version there too means its snapshot is taken while it is current (exactly the bytes services
are being generated from), and tests/update/test_versions.py fails the moment
``templates/service`` changes without a new version: bump ``TEMPLATE_VERSION`` and copy the tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from spaps_cli.errors import UsageError

HISTORY_DIR = Path(__file__).resolve().parent.parent / "template_history"


def version_key(version: str) -> int:
    """Template versions are whole numbers; compare them as numbers ("10" after "9")."""
    if not version.isdigit():
        raise UsageError(
            f"template version {version!r} is not a whole number",
            hint="template versions are 1, 2, 3, ...",
        )
    return int(version)


@dataclass(frozen=True)
class TemplateVersions:
    """The service template trees by version, and which version is current."""

    trees: Mapping[str, Path]
    current: str

    @classmethod
    def installed(cls) -> TemplateVersions:
        """The versions this CLI ships: the history, with the live tree as the current one."""
        from spaps_cli.generators.service import TEMPLATE_VERSION
        from spaps_cli.generators.templates_location import template_tree

        trees: dict[str, Path] = {}
        if HISTORY_DIR.is_dir():
            for entry in HISTORY_DIR.iterdir():
                if entry.name.isdigit() and (entry / "service").is_dir():
                    trees[entry.name] = entry / "service"
        trees[TEMPLATE_VERSION] = template_tree("service")
        return cls(trees=trees, current=TEMPLATE_VERSION)

    def ordered(self) -> list[str]:
        return sorted(self.trees, key=version_key)

    def tree(self, version: str, *, role: str) -> Path:
        """The tree of ``version``; ``role`` names what it was asked for in the error."""
        tree = self.trees.get(version)
        if tree is None:
            known = ", ".join(self.ordered())
            raise UsageError(
                f"{role} template version {version!r} is not one this CLI ships (it has {known})",
                hint="install the spaps-cli release that has it, or pass --to with one of those",
            )
        return tree
