"""Finding the service a command runs in, and reading/writing its ``[tool.spaps]`` table.

``spaps new service`` records what it generated (CLI and template versions, answers, domains) in
the service's own ``pyproject.toml``; every later command (``add domain``, ``doctor``, ``migrate``)
starts here instead of guessing from the file layout.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import ProjectNotFoundError, UsageError

if TYPE_CHECKING:
    import tomlkit.toml_document

PYPROJECT = "pyproject.toml"

#: Every key each ``[tool.spaps.*]`` table accepts. A misspelt key is refused rather than
#: ignored: ignoring ``tag_prefix`` (for ``tag-prefix``) silently gave releases the wrong tag.
#: A sub-table not listed here (``[tool.spaps.migrate.modules]``) maps the user's own names.
SPAPS_TABLE_KEYS: dict[str, frozenset[str]] = {
    "tool.spaps": frozenset(
        {
            "service",
            # 8 random hex digits in every Alembic revision id: unique across a fleet
            "service-id",
            "package",
            "cli-version",
            "template-version",
            # the template version a ``spaps update`` left conflicts for (see docs/UPDATING.md)
            "update-pending",
            "created",
            "domains",
            "migration-domains",
            "answers",
            "migrate",
            "release",
        }
    ),
    "tool.spaps.answers": frozenset({"description", "celery", "pgvector"}),
    "tool.spaps.migrate": frozenset(
        {
            "select",
            "ignore",
            "exclude",
            "acknowledge",
            "modules",
            "settings-class",
            "settings_class",
        }
    ),
    # ``series``: the maintenance series a branch releases from (read by spaps_cli.release)
    "tool.spaps.release": frozenset({"series", "tag-prefix", "version-file"}),
}


@dataclass(frozen=True)
class Project:
    """A service made by ``spaps new service``."""

    root: Path
    #: The parsed ``pyproject.toml``, read-only: commands that edit it re-read the text and edit
    #: it with tomlkit, which keeps the user's layout.
    document: Mapping[str, Any]

    @property
    def pyproject_path(self) -> Path:
        return self.root / PYPROJECT

    @property
    def spaps(self) -> dict[str, Any]:
        return spaps_table(self.document, self.pyproject_path)

    @property
    def package(self) -> str:
        value = self.spaps.get("package")
        if not isinstance(value, str) or not value:
            raise UsageError(
                f"{self.pyproject_path}: [tool.spaps] has no 'package'",
                hint='add package = "<your_package>" under [tool.spaps]',
            )
        return value

    @property
    def package_dir(self) -> Path:
        return self.root / "src" / self.package

    @property
    def domains(self) -> list[str]:
        return [str(d) for d in self.spaps.get("domains", [])]


def check_spaps_tables(document: Mapping[str, Any], where: Path) -> None:
    """Refuse an unknown key in any ``[tool.spaps.*]`` table, naming the nearest valid one.

    Part of :func:`spaps_table`, which every command reading ``[tool.spaps]`` goes through.
    """
    tool = document.get("tool", {})
    spaps = tool.get("spaps") if isinstance(tool, Mapping) else None
    if spaps is None:
        return
    for name, known in SPAPS_TABLE_KEYS.items():
        table: Any = spaps
        for part in name.split(".")[2:]:
            table = table.get(part) if isinstance(table, Mapping) else None
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise UsageError(
                f"{where}: [{name}] must be a table", hint=f"write it as a [{name}] section"
            )
        unknown = sorted(str(key) for key in set(table) - known)
        if unknown:
            raise UsageError(
                f"{where}: unknown key {unknown[0]!r} in [{name}]{_nearest(unknown[0], known)}",
                hint=f"valid keys: {', '.join(sorted(known))}",
            )


def _nearest(key: str, known: frozenset[str]) -> str:
    import difflib

    # tag_prefix vs tag-prefix: TOML keys here are kebab-case, compare in that spelling too.
    close = difflib.get_close_matches(key.replace("_", "-"), sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


#: Types of the ``[tool.spaps]`` keys spaps reads (which keys exist at all is
#: :data:`SPAPS_TABLE_KEYS`' business). Sub-tables are checked by :data:`_SUBTABLES`.
_KEYS: dict[str, type] = {
    "service": str,
    "service-id": str,
    "package": str,
    "cli-version": str,
    "template-version": str,
    "created": str,
    "domains": list,
    "migration-domains": list,
}
_SUBTABLES: dict[str, dict[str, type]] = {
    "answers": {"description": str, "celery": bool, "pgvector": bool},
    "release": {"series": str, "tag-prefix": str, "version-file": str},
    "migrate": {},  # its keys are checked by spaps_cli.codemods.config
}
_TYPE_NAMES = {str: "a string", bool: "true or false", list: "a list of strings", dict: "a table"}


def _describe(value: object) -> str:
    kind = {str: "a string", bool: "a boolean", int: "an integer", float: "a number"}.get(
        type(value), "a list" if isinstance(value, list) else "a table"
    )
    text = repr(value)
    return f"{kind} ({text if len(text) <= 40 else text[:37] + '...'})"


def spaps_table(document: Mapping[str, Any], where: Path) -> dict[str, Any]:
    """``[tool.spaps]`` of ``document``: every key known, every key spaps reads of the right type.

    Unknown keys are refused by :func:`check_spaps_tables` once the types are checked, so every
    command that reads the table fails the same way on a typo. A hand-edited table (``spaps = "x"``, ``celery = "yes"``, ``package = "/etc"``) is a
    one-line error naming the key, not a traceback or a path outside the service. Returns
    ``{}`` when there is no table.
    """
    tool = document.get("tool", {})
    if hasattr(tool, "unwrap"):  # tomlkit: its booleans are not ``bool``, so check plain values
        tool = tool.unwrap()
    if not isinstance(tool, Mapping):
        raise UsageError(f"{where}: [tool] must be a table, not {_describe(tool)}")
    table = tool.get("spaps", {})
    if not isinstance(table, Mapping):
        raise UsageError(
            f"{where}: [tool.spaps] must be a table, not {_describe(table)}",
            hint='write it as a table: [tool.spaps] on its own line, then package = "..."',
        )
    _check_types(table, _KEYS, "tool.spaps", where)
    for name, keys in _SUBTABLES.items():
        if name not in table:
            continue
        sub = table[name]
        if not isinstance(sub, Mapping):
            raise UsageError(f"{where}: [tool.spaps.{name}] must be a table, not {_describe(sub)}")
        _check_types(sub, keys, f"tool.spaps.{name}", where)
    package = table.get("package")
    if package is not None and not (package.isidentifier() and package.isascii()):
        raise UsageError(
            f"{where}: [tool.spaps] package = {package!r} is not a Python package name",
            hint="it names src/<package>: an identifier such as billing_api, not a path",
        )
    check_spaps_tables(document, where)
    return dict(table)


def config_value(
    document: Mapping[str, Any], dotted: str, expected: type, where: Path, default: Any = None
) -> Any:
    """``document``'s value at ``dotted`` (``"tool.hatch.version.path"``), of type ``expected``.

    Missing anywhere along the way: ``default``. A table along the way that is not a table, or
    a value of another type, is a one-line error naming the key (``list`` means a list of
    strings, ``dict`` a table).
    """
    node: Any = document.unwrap() if hasattr(document, "unwrap") else document
    keys = dotted.split(".")
    for depth, key in enumerate(keys):
        if not isinstance(node, Mapping):
            table = ".".join(keys[:depth])
            raise UsageError(f"{where}: [{table}] must be a table, not {_describe(node)}")
        if key not in node:
            return default
        node = node[key]
    _check_types({keys[-1]: node}, {keys[-1]: expected}, ".".join(keys[:-1]), where)
    return node


def _check_types(table: Mapping[str, Any], keys: dict[str, type], name: str, where: Path) -> None:
    for key, expected in keys.items():
        if key not in table:
            continue
        value = table[key]
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is list:
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        if not ok:
            raise UsageError(
                f"{where}: [{name}] {key} must be {_TYPE_NAMES[expected]}, not {_describe(value)}"
            )


#: ruff's own default, for a ``pyproject.toml`` that sets no ``[tool.ruff] line-length``.
DEFAULT_LINE_LENGTH = 88


def ruff_line_length(document: Mapping[str, Any]) -> int:
    """The service's ruff line length: generated edits wrap where its own lint would."""
    ruff = document.get("tool", {}).get("ruff", {})
    value = ruff.get("line-length", DEFAULT_LINE_LENGTH) if isinstance(ruff, Mapping) else None
    return value if isinstance(value, int) else DEFAULT_LINE_LENGTH


def _read_utf8(path: Path) -> str:
    # utf-8-sig: an editor's byte order mark is not TOML and would make the parsers fail.
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from exc


def read_pyproject(path: Path) -> tomlkit.toml_document.TOMLDocument:
    """Parse ``path`` with tomlkit (which keeps comments and layout for later edits)."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    text = _read_utf8(path)
    try:
        return tomlkit.parse(text)
    except ParseError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}", hint="fix the file and re-run") from exc
    except ValueError as exc:  # a number too long for an int (Python's 4,300-digit limit)
        raise UsageError(f"{path}: unreadable TOML value: {exc}".split(";")[0]) from exc


def load_pyproject(path: Path) -> dict[str, Any]:
    """Parse ``path`` for reading only, with the standard library's ``tomllib``.

    Every command that runs inside a service starts by finding it, and tomlkit, which keeps
    comments and layout for edits, parses a service's ``pyproject.toml`` about ten times slower
    (4.3 ms vs 0.4 ms for a generated service, 17 ms under the profiler), besides costing its
    own import.
    """
    text = _read_utf8(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}", hint="fix the file and re-run") from exc
    except ValueError as exc:  # a number too long for an int (Python's 4,300-digit limit)
        raise UsageError(
            f"{path}: unreadable TOML value: {exc}".split(";")[0], hint="fix the file and re-run"
        ) from exc


def find_project(start: Path, *, what: str = "directory") -> Project:
    """Walk up from ``start`` to the first ``pyproject.toml`` that has a ``[tool.spaps]`` table.

    ``what`` names ``start`` in errors (``--dir``, ``PATH``).
    """
    from spaps_cli.paths import existing_file, resolve

    start = resolve(start, what=what)
    seen_pyproject: Path | None = None
    for directory in (start, *start.parents):
        candidate = existing_file(directory / PYPROJECT, what=PYPROJECT)
        if candidate is None:
            continue
        document = load_pyproject(candidate)
        spaps_table(document, candidate)  # every later read relies on the keys checked here
        if "spaps" in document.get("tool", {}):
            return Project(root=directory, document=document)
        seen_pyproject = seen_pyproject or candidate
    if seen_pyproject is not None:
        raise ProjectNotFoundError(
            f"{seen_pyproject} has no [tool.spaps] table: this is not a service made by spaps",
            hint="run the command inside a service created with 'spaps new service'",
        )
    raise ProjectNotFoundError(
        f"no pyproject.toml with [tool.spaps] in {start} or any parent directory",
        hint="run the command inside a service created with 'spaps new service', or pass --dir",
    )
