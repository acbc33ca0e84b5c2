"""Which version of a project a distribution file on an index belongs to, read from its name.

A version counts as published as soon as the index holds any file of it, whatever its format:
an index never takes a file name back, and a version that only has a ``.tar.bz2`` or an ``.egg``
still sits above everything older. So every format that pip (or its predecessors) can read a
version from is understood, not only wheels and ``.tar.gz``:

* wheels, by the wheel file name rules (``packaging.utils.parse_wheel_filename``);
* source archives ``.tar.gz .tgz .tar.bz2 .tbz .tar.xz .txz .tlz .tar.lz .tar.lzma .tar .zip``:
  ``<name>-<version>``, where the name is matched the way pip matches it, after
  normalisation, at a ``-``, so ``foo__bar-1.0`` belongs to ``foo-bar`` and the version may
  itself hold a dash (``1.0-rc1`` is ``1.0rc1``);
* eggs, ``<name>-<version>[-pyX.Y[-platform]].egg``;
* Windows installers ``.exe``/``.msi`` from ``bdist_wininst``/``bdist_msi``:
  ``<name>-<version>.<platform>[-pyX.Y].exe``: the longest leading part that is a version.

A file whose name belongs to another project, or carries no readable version, tells nothing
and gives None (pip skips such links too).
"""

from __future__ import annotations

import re

SOURCE_SUFFIXES = (
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".tar",
    ".zip",
)
INSTALLER_SUFFIXES = (".exe", ".msi")
EGG_SUFFIX = ".egg"
WHEEL_SUFFIX = ".whl"


def normalise_name(name: str) -> str:
    """PEP 503 normalised project name (``Spaps_CLI`` -> ``spaps-cli``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_of_file(filename: str, project: str) -> str | None:
    """The normalised version ``filename`` holds for ``project``, or None if it tells nothing."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename
    from packaging.version import InvalidVersion

    lowered = filename.lower()
    wanted = normalise_name(project)
    if lowered.endswith(WHEEL_SUFFIX):
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
        return str(version) if name == wanted else None
    for suffix in SOURCE_SUFFIXES:
        if lowered.endswith(suffix):
            rest = _after_name(filename[: -len(suffix)], wanted)
            return None if rest is None else _version(rest)
    if lowered.endswith(EGG_SUFFIX):
        rest = _after_name(filename[: -len(EGG_SUFFIX)], wanted)
        return None if rest is None else _version(rest.split("-", 1)[0])
    for suffix in INSTALLER_SUFFIXES:
        if lowered.endswith(suffix):
            rest = _after_name(filename[: -len(suffix)], wanted)
            return None if rest is None else _leading_version(rest.split("-", 1)[0])
    return None


def _after_name(stem: str, wanted: str) -> str | None:
    """What follows ``<name>-`` in ``stem`` when the name normalises to ``wanted``."""
    for position, character in enumerate(stem):
        if character == "-" and normalise_name(stem[:position]) == wanted:
            return stem[position + 1 :] or None
    return None


def _version(text: str) -> str | None:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(text))
    except InvalidVersion:
        return None


def _leading_version(text: str) -> str | None:
    """The longest ``.``-separated prefix of ``text`` that is a version (``1.0.win32`` -> 1.0)."""
    parts = text.split(".")
    for end in range(len(parts), 0, -1):
        found = _version(".".join(parts[:end]))
        if found is not None:
            return found
    return None
