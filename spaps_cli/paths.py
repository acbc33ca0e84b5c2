"""Resolving every path the CLI opens: symlink loops and escapes are one-line errors.

A symlink loop makes ``Path.resolve`` raise ``RuntimeError`` and ``open`` raise ``ELOOP``, and
``Path.is_file()`` quietly answers False, so before this module a loop was a traceback in some
commands and a wrong answer in others ("no CHANGELOG.md", "no pyproject.toml there"). A link
that leads out of the service or distribution let a command read (and plan to write) a file the
user never named. Every command therefore resolves the paths it is given and the files it opens
inside a project through :func:`resolve` or :func:`existing_file`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from spaps_cli.errors import UsageError


def _label(what: str, path: Path) -> str:
    """``--dir loop``; ``src/pkg/api/registry.py`` (already a path); the full path of a bare name."""
    if what == path.name:
        return str(path)
    return what if path.name and what.endswith(path.name) else f"{what} {path}"


def _loop_error(what: str, path: Path) -> UsageError:
    return UsageError(
        f"{_label(what, path)}: symlink loop (a link that points back at itself)",
        hint="remove or repair the link, then re-run",
    )


def resolve(path: Path, *, what: str, within: Path | None = None) -> Path:
    """``path`` with every symlink followed; loops and escapes from ``within`` are refused.

    ``what`` names the path in the message (``--dir``, ``CHANGELOG.md``...). A missing path is
    fine (commands create some); whether it must exist is the caller's business. ``within``,
    when given, must already be resolved.
    """
    try:
        real = path.resolve()
    except RuntimeError:  # Python 3.11/3.12 report a loop so
        raise _loop_error(what, path) from None
    try:
        os.stat(real)  # Python 3.13's resolve() no longer raises on a loop; stat still does
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _loop_error(what, path) from None
        # Missing, or a file in the way: the caller decides what that means for it.
    if within is not None and real != within and within not in real.parents:
        raise UsageError(
            f"{_label(what, path)} leads outside {within} (to {real}) through a symlink",
            hint="replace the link with the file itself; spaps only reads and writes inside"
            " the project",
        )
    return real


def existing_file(path: Path, *, what: str, within: Path | None = None) -> Path | None:
    """The resolved ``path`` if it is a file, None if nothing is there; anything else refused.

    A dangling symlink, a loop, a directory where a file belongs, or a link out of ``within``
    are errors, not "missing": treating them as absent gave wrong answers.
    """
    if not os.path.lexists(path):
        return None
    real = resolve(path, what=what, within=within)
    if not real.exists():
        raise UsageError(
            f"{_label(what, path)} is a symlink to {real}, which does not exist",
            hint="remove or repair the link, then re-run",
        )
    if not real.is_file():
        raise UsageError(f"{_label(what, path)} is not a file", hint="it must be a regular file")
    return real
