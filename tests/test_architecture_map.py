"""docs/ARCHITECTURE.md's module map names what the code has, and nothing it no longer has.

The map is the first fenced block of the document. An entry's name runs up to the first gap of
two spaces; several names are separated by ", ". An entry at column 0 is a path from the
repository root; one indented 4 (or 8) spaces is a path inside the last directory entry one
level up. Lines indented further continue a description. ``*`` and ``<family>`` stand for any
name. The runtime's public modules are named by the table "The runtime's public surface".
"""

from __future__ import annotations

import re
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "ARCHITECTURE.md"
#: The packages whose every module and subpackage the map must name.
PACKAGES = ("spaps_cli", "runtime/spaps_server_quickstart")
RUNTIME = "runtime/spaps_server_quickstart"
_ENTRY_INDENTS = (0, 4, 8)


def map_entries(text: str) -> list[tuple[str, int]]:
    """Every path pattern the map names, with the document line it is on."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("```")) + 1
    entries: list[tuple[str, int]] = []
    parents: dict[int, str] = {}
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.startswith("```"):
            break
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip() or indent not in _ENTRY_INDENTS:
            continue
        head = re.split(r" {2,}", line.strip(), maxsplit=1)[0]
        prefix = parents.get(indent - 4, "") if indent else ""
        for name in head.split(", "):
            pattern = prefix + re.sub(r"<[a-z]+>", "*", name.strip())
            entries.append((pattern, number))
            if pattern.endswith("/"):
                parents[indent] = pattern
    return entries


def public_modules(text: str) -> list[tuple[str, int]]:
    """The runtime modules named in the first column of the public-surface table."""
    found: list[tuple[str, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cell = re.match(r"\| `([a-z_]+)` \|", line)
        if cell:
            found.append((f"{RUNTIME}/{cell.group(1)}", number))
    return found


def _exists(pattern: str) -> bool:
    if "*" in pattern:
        return any(ROOT.glob(pattern))
    return (ROOT / pattern.rstrip("/")).exists()


def code_paths() -> tuple[list[str], list[str]]:
    """(packages as ``dir/``, modules as ``dir/name.py``) of every package the map must cover."""
    packages: list[str] = []
    modules: list[str] = []
    for top in PACKAGES:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT).as_posix()
            if "{{" in relative:  # template data shipped inside the CLI, not a package of it
                continue
            packages.append(relative + "/")
            modules.extend(
                module.relative_to(ROOT).as_posix()
                for module in sorted(init.parent.glob("*.py"))
                if module.name != "__init__.py"
            )
    return packages, modules


def _named(path: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if path == pattern or fnmatch(path, pattern):
            return True
        # A runtime module named by the table: ``settings`` for settings.py, ``auth`` for auth/.
        if path in {pattern + ".py", pattern + "/"}:
            return True
    return False


def test_every_path_the_map_names_exists() -> None:
    text = DOCUMENT.read_text()
    stale = [
        f"line {number}: {pattern}"
        for pattern, number in [*map_entries(text), *public_modules(text)]
        if not _exists(pattern) and not _exists(pattern + ".py")
    ]
    assert not stale, (
        "docs/ARCHITECTURE.md names paths the code no longer has (rename or drop them):\n  "
        + "\n  ".join(stale)
    )


def test_every_package_and_module_is_in_the_map() -> None:
    text = DOCUMENT.read_text()
    patterns = [pattern for pattern, _ in [*map_entries(text), *public_modules(text)]]
    packages, modules = code_paths()
    missing = [path for path in [*packages, *modules] if not _named(path, patterns)]
    # A package is named by its own entry or by the entries of what it holds.
    missing = [
        path
        for path in missing
        if not (path.endswith("/") and any(p.startswith(path) for p in patterns))
    ]
    assert not missing, (
        "docs/ARCHITECTURE.md's module map does not name these (add a line saying what each"
        " is for):\n  " + "\n  ".join(missing)
    )


def test_the_map_reader_sees_nested_entries_and_globs() -> None:
    sample = (
        "```\n"
        "pkg/a.py          first\n"
        "                  continued, not an entry\n"
        "pkg/sub/          a package:\n"
        "    b.py, c.py      two modules\n"
        "    deeper/\n"
        "        d.py          nested\n"
        "    <family>.py     any\n"
        "```\n"
        "pkg/after.py outside the block\n"
    )
    assert [pattern for pattern, _ in map_entries(sample)] == [
        "pkg/a.py",
        "pkg/sub/",
        "pkg/sub/b.py",
        "pkg/sub/c.py",
        "pkg/sub/deeper/",
        "pkg/sub/deeper/d.py",
        "pkg/sub/*.py",
    ]
