"""Where the Jinja2 template trees live, installed or in a checkout.

The trees sit at the repository's top level (``templates/``) so they read like the projects they
produce; the wheel force-includes them as ``spaps_cli/templates`` (see pyproject.toml). An
editable install or a plain checkout has no ``spaps_cli/templates``, so both places are tried,
packaged first.
"""

from __future__ import annotations

from pathlib import Path

from spaps_cli.errors import FileAccessError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent

#: Installed wheel first, then the checkout this module was imported from.
CANDIDATES: tuple[Path, ...] = (_PACKAGE_DIR / "templates", _PACKAGE_DIR.parent / "templates")


def template_tree(name: str) -> Path:
    """The directory of the template tree ``name`` (``service``, ``domain``)."""
    for root in CANDIDATES:
        tree = root / name
        if tree.is_dir():
            return tree
    searched = ", ".join(str(root) for root in CANDIDATES)
    raise FileAccessError(
        f"template tree {name!r} not found (looked in {searched})",
        hint="reinstall spaps-cli; the wheel ships the templates as spaps_cli/templates",
    )
