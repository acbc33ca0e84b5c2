"""Locating the distribution to release and reading its version from every place it is written.

``[project].version`` is the single source of truth. The one dynamic form supported is hatch's
``dynamic = ["version"]`` + ``[tool.hatch.version] path = "pkg/__init__.py"``: then that file's
``__version__`` is the source and ``pyproject.toml`` is left alone. Any other dynamic version
(setuptools-scm, hatch-vcs even next to a ``path``, ``attr:``) is a clear error: the version
comes from somewhere this tool cannot and should not edit.

The ``__version__`` file is, in order: ``[tool.spaps.release] version-file``, hatch's version
path, the ``__init__.py`` of each ``[tool.hatch.build.targets.wheel] packages`` entry,
``src/<name>/__init__.py``, ``<name>/__init__.py``. A package without ``__version__`` is fine;
a ``__version__`` that disagrees with ``pyproject.toml`` is drift, an error naming both values.
The file must lie inside the distribution directory (the bump writes it with the other files).

``__version__`` is found with :mod:`ast`, not a line pattern: a pattern misses indented
assignments (``try:``/``if`` blocks), chained ones (``__version__ = version = "1.0"``) and
triple-quoted values, and matches ``__version__ = "..."`` inside a docstring; each miss is a
stale version nobody notices. Only one plain string literal can be kept in sync, edited in place
by its source span (quotes and layout kept); any other form (a tuple, a name, an expression,
several assignments) is refused rather than skipped. A value read from the installed metadata
(``importlib.metadata.version(...)``) cannot go stale, so such a file has no ``__version__`` to
edit.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import UsageError

if TYPE_CHECKING:
    import tomlkit.toml_document

PYPROJECT = "pyproject.toml"
CHANGELOG = "CHANGELOG.md"
DEFAULT_TAG_PREFIX = "v"
DUNDER = "__version__"
#: A string literal as written: optional r/u prefix, the quotes, the text between them.
_STRING_LITERAL = re.compile(
    r"(?P<prefix>[rRuU]?)(?P<quote>\"\"\"|'''|\"|')(?P<body>.*)(?P=quote)", re.DOTALL
)
#: Lines as Python's tokenizer counts them (``ast`` line numbers), each with its line ending.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SUPPORTED_FORM = f'the supported form is one plain string literal: {DUNDER} = "1.2.3"'


class VersionDriftError(UsageError):
    """``pyproject.toml`` and ``__version__`` disagree."""


@dataclass(frozen=True)
class VersionFile:
    path: Path
    text: str
    value: str
    span: tuple[int, int]  # where the value sits in ``text``

    def with_version(self, version: str) -> str:
        start, end = self.span
        return self.text[:start] + version + self.text[end:]


@dataclass(frozen=True)
class Package:
    root: Path  # the directory holding pyproject.toml
    name: str
    document: tomlkit.toml_document.TOMLDocument
    pyproject_text: str
    version_text: str  # as written in the source of truth
    dynamic: bool  # True: the version lives in version_file, not in pyproject.toml
    version_file: VersionFile | None
    tag_prefix: str
    urls: dict[str, str]

    @property
    def pyproject_path(self) -> Path:
        return self.root / PYPROJECT

    @property
    def changelog_path(self) -> Path:
        return self.root / CHANGELOG

    def changelog_file(self) -> Path | None:
        """``CHANGELOG.md`` if there is one; a loop or a link out of the distribution is refused."""
        from spaps_cli.paths import existing_file

        return existing_file(self.changelog_path, what=CHANGELOG, within=self.root.resolve())

    def tag_for(self, version: object) -> str:
        return f"{self.tag_prefix}{version}"

    def drift(self) -> str | None:
        """A one-line description of pyproject/``__version__`` disagreement, or None."""
        from packaging.version import InvalidVersion

        from spaps_cli.release.version import pep440

        if self.version_file is None or self.dynamic:
            return None
        try:
            same = pep440(self.version_file.value) == pep440(self.version_text)
        except InvalidVersion:
            same = self.version_file.value == self.version_text
        if same:
            return None
        return (
            f"{self.pyproject_path.name} says {self.version_text} but "
            f"{self.display(self.version_file.path)} says __version__ = {self.version_file.value}"
        )

    def display(self, path: Path) -> str:
        """``path`` relative to the distribution when inside it, else as given."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def locate(package: str | None, *, cwd: Path | None = None) -> Path:
    """The directory of the distribution: ``--package`` as a path, else the nearest pyproject.

    ``--package runtime`` is tried relative to the current directory, then relative to the
    repository root (the nearest directory with ``.git``), so it works from anywhere in the repo.
    """
    from spaps_cli.paths import existing_file, resolve

    here = resolve(cwd or Path.cwd(), what="the current directory")
    if package is None:
        for directory in (here, *here.parents):
            if existing_file(directory / PYPROJECT, what=PYPROJECT) is not None:
                return directory
        raise UsageError(
            f"no {PYPROJECT} in {here} or any parent directory",
            hint="run inside a Python project or pass --package PATH",
        )
    candidates = [here / package]
    root = next((d for d in (here, *here.parents) if (d / ".git").exists()), None)
    if root is not None:
        candidates.append(root / package)
    for candidate in candidates:
        candidate = resolve(candidate, what=f"--package {package}")
        if candidate.is_file() and candidate.name == PYPROJECT:
            return candidate.parent
        if existing_file(candidate / PYPROJECT, what=PYPROJECT) is not None:
            return candidate
    raise UsageError(
        f"--package {package}: no {PYPROJECT} there",
        hint="pass the directory of a distribution, e.g. --package runtime",
    )


def load_package(root: Path) -> Package:
    """Read ``root/pyproject.toml`` and the ``__version__`` file; malformed input is an error."""
    from spaps_cli.project import read_pyproject

    path = root / PYPROJECT
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: keep CRLF as it is
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from exc
    except OSError as exc:
        raise UsageError(f"could not read {path}: {exc.strerror or exc}") from exc
    document = read_pyproject(path)
    project = document.get("project")
    if not isinstance(project, dict):
        raise UsageError(f"{path} has no [project] table", hint="releases need PEP 621 metadata")
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise UsageError(f"{path}: [project] has no name")
    from spaps_cli.project import config_value, spaps_table

    spaps = spaps_table(document, path)
    tool = document.get("tool", {})
    release = dict(spaps.get("release", {}))
    tag_prefix = str(release.get("tag-prefix", DEFAULT_TAG_PREFIX))
    urls = {
        str(k): str(v) for k, v in config_value(document, "project.urls", dict, path, {}).items()
    }
    dynamic = "version" in config_value(document, "project.dynamic", list, path, [])
    hatch_path = config_value(document, "tool.hatch.version.path", str, path)
    # hatch reads ``path`` only with its default ``regex`` source; ``vcs`` (hatch-vcs) and the
    # other plugins take the version from elsewhere, so editing ``path`` would bump nothing.
    hatch_source = config_value(document, "tool.hatch.version.source", str, path, "regex")
    config_value(document, "tool.hatch.build.targets.wheel.packages", list, path)

    if dynamic:
        if "version" in project:
            raise UsageError(f"{path}: version is both set and listed in [project].dynamic")
        if not isinstance(hatch_path, str) or hatch_source != "regex":
            raise UsageError(
                f"{path}: the version is dynamic and not read from a __version__ file",
                hint='set a static [project].version, or [tool.hatch.version] path = "pkg/__init__.py"',
            )
        hatch_file = _inside(root, hatch_path, f"{path.name} [tool.hatch.version] path")
        version_file = _read_version_file(hatch_file, required=True)
        assert version_file is not None
        return Package(
            root, name, document, text, version_file.value, True, version_file, tag_prefix, urls
        )

    version = project.get("version")
    if version is None:
        raise UsageError(
            f"{path}: [project] has no version",
            hint='add version = "0.1.0" under [project]',
        )
    if not isinstance(version, str):
        raise UsageError(
            f"{path}: [project] version = {version} must be a string",
            hint=f'quote it: version = "{version}"',
        )
    explicit = release.get("version-file")
    if isinstance(explicit, str):
        setting = f"{path.name} [tool.spaps.release] version-file"
        version_file = _read_version_file(_inside(root, explicit, setting), required=True)
    else:
        version_file = _find_version_file(root, name, tool, hatch_path)
    return Package(root, name, document, text, str(version), False, version_file, tag_prefix, urls)


def _find_version_file(root: Path, name: str, tool: Any, hatch_path: object) -> VersionFile | None:
    import_name = re.sub(r"[-.]+", "_", name).lower()
    candidates: list[Path] = []
    if isinstance(hatch_path, str):
        candidates.append(_inside(root, hatch_path, f"{PYPROJECT} [tool.hatch.version] path"))
    wheel = tool.get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    for package_path in wheel.get("packages", []):
        candidates.append(root / str(package_path) / "__init__.py")
    spaps_package = tool.get("spaps", {}).get("package")  # checked by spaps_table
    for module in filter(None, [spaps_package, import_name]):
        candidates += [
            root / "src" / str(module) / "__init__.py",
            root / str(module) / "__init__.py",
        ]
    for candidate in candidates:
        found = _read_version_file(candidate, required=False)
        if found is not None:
            return found
    return None


def _inside(root: Path, given: str, setting: str) -> Path:
    """``given`` (relative to ``root``, or absolute) as a path inside ``root``; else refused.

    The bump writes the version file in the same all-or-nothing plan as ``pyproject.toml``,
    rooted at the distribution, so a file outside it could be read by ``check`` but never
    written by ``bump``: refusing it up front keeps both commands in agreement.
    """
    from spaps_cli.paths import resolve

    base = resolve(root, what="the distribution directory")
    candidate = Path(given)
    resolved = resolve(candidate if candidate.is_absolute() else base / candidate, what=setting)
    if base not in resolved.parents:
        raise UsageError(
            f"{setting} = {given!r} is outside the distribution directory {base}",
            hint="point it at the file inside the distribution, e.g. src/<package>/__init__.py",
        )
    return base / resolved.relative_to(base)


def _read_version_file(path: Path, *, required: bool) -> VersionFile | None:
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: keep CRLF as it is
    except FileNotFoundError as exc:
        if required:
            raise UsageError(f"version file {path} does not exist") from exc
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"could not read version file {path}: {exc}") from exc
    found = _find_dunder_version(path, text) if DUNDER in text else None
    if found is None and required:
        raise UsageError(f'{path} has no {DUNDER} = "..." assignment', hint=_SUPPORTED_FORM)
    return found


def _find_dunder_version(path: Path, text: str) -> VersionFile | None:
    """The one ``__version__ = "X"`` of the module, located by its exact source span."""
    bom = 1 if text.startswith("\ufeff") else 0
    from spaps_cli.python_source import UnparsableSource, check_python

    try:
        tree = check_python(text[bom:], filename=str(path))
    except UnparsableSource as exc:
        reason = exc.reason.removeprefix("syntax error: ")
        raise UsageError(
            f"{path}:{exc.line or 1}: does not parse ({reason}), so {DUNDER} cannot be read",
            hint="fix the syntax error first",
        ) from exc
    assignments = _dunder_assignments(tree)
    if not assignments:
        return None
    if any(_reads_metadata(value) for _, value in assignments):
        return None  # derived from the installed metadata: nothing here can go stale
    if len(assignments) > 1:
        lines = ", ".join(str(node.lineno) for node, _ in assignments)
        raise UsageError(
            f"{path} assigns {DUNDER} {len(assignments)} times (lines {lines})",
            hint=f"keep one assignment so the bump knows which to change; {_SUPPORTED_FORM}",
        )
    node, value = assignments[0]
    if value is None:
        raise UsageError(
            f"{path}:{node.lineno}: {DUNDER} is assigned by unpacking or augmented assignment",
            hint=_SUPPORTED_FORM,
        )
    start, end = _offsets(text, bom, value)
    literal = _STRING_LITERAL.fullmatch(text[start:end])
    if (
        not isinstance(value, ast.Constant)
        or not isinstance(value.value, str)
        or literal is None
        or literal["body"] != value.value  # escapes or implicit concatenation ("1." "0")
    ):
        raise UsageError(
            f"{path}:{node.lineno}: {DUNDER} = {' '.join(text[start:end].split())} is not"
            " a plain string literal",
            hint=_SUPPORTED_FORM,
        )
    body_start = start + literal.start("body")
    return VersionFile(path, text, value.value, (body_start, body_start + len(value.value)))


def _dunder_assignments(tree: ast.Module) -> list[tuple[ast.stmt, ast.expr | None]]:
    """Every statement binding the module's ``__version__``, with the assigned value.

    Statements inside ``if``/``try``/``with``/loops count (they run at import); function and
    class bodies do not (they bind a local name). The value is None for forms that bind it
    without a single value: tuple unpacking and augmented assignment.
    """
    found: list[tuple[ast.stmt, ast.expr | None]] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            if any(_is_dunder(target) for target in node.targets):
                found.append((node, node.value))
            elif any(_binds_dunder(target) for target in node.targets):
                found.append((node, None))
        elif isinstance(node, ast.AnnAssign) and _is_dunder(node.target):
            if node.value is not None:  # a bare annotation binds nothing
                found.append((node, node.value))
        elif isinstance(node, ast.AugAssign) and _is_dunder(node.target):
            found.append((node, None))
        elif _is_block(node):
            pending.extend(child for child in ast.iter_child_nodes(node) if _is_block(child))
    return sorted(found, key=lambda item: item[0].lineno)


def _is_block(node: ast.AST) -> bool:
    return isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case))


def _is_dunder(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == DUNDER


def _binds_dunder(target: ast.expr) -> bool:
    """True for ``__version__`` inside an unpacking target such as ``__version__, x = ...``."""
    return any(_is_dunder(node) for node in ast.walk(target) if isinstance(node, ast.Name))


def _reads_metadata(value: ast.expr | None) -> bool:
    """``version("pkg")`` / ``importlib.metadata.version("pkg")``: the installed version."""
    if not isinstance(value, ast.Call):
        return False
    function = value.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name == "version"


def _offsets(text: str, bom: int, node: ast.expr) -> tuple[int, int]:
    """``node``'s span as offsets into ``text`` (ast counts columns in UTF-8 bytes)."""
    starts: list[int] = []
    lines: list[str] = []
    for match in _LINE.finditer(text, bom):
        starts.append(match.start())
        lines.append(match.group())
    end_line, end_column = node.end_lineno or node.lineno, node.end_col_offset or 0

    def offset(line: int, column: int) -> int:
        prefix = lines[line - 1].encode("utf-8")[:column].decode("utf-8")
        return starts[line - 1] + len(prefix)

    return offset(node.lineno, node.col_offset), offset(end_line, end_column)


def write_pyproject_version(package: Package, version: str) -> str:
    """``pyproject.toml`` with only the version value changed (quote style and comment kept)."""
    import tomlkit
    from tomlkit.items import String

    document = tomlkit.parse(package.pyproject_text)
    project: Any = document["project"]
    old = project["version"]
    project["version"] = String.from_raw(version, old.type) if isinstance(old, String) else version
    updated = document.as_string()
    _assert_only_version_changed(package, updated, version)
    return updated


def _assert_only_version_changed(package: Package, updated: str, version: str) -> None:
    """Refuse if tomlkit touched anything but the one value (the promise is byte-for-byte)."""
    before = package.pyproject_text
    old = package.version_text
    for position in _occurrences(before, old):
        if before[:position] + version + before[position + len(old) :] == updated:
            return
    raise UsageError(
        f"{package.pyproject_path}: could not change only the version value safely",
        hint="edit [project].version by hand; please report this file layout",
    )


def _occurrences(text: str, needle: str) -> list[int]:
    positions: list[int] = []
    start = text.find(needle)
    while start != -1 and needle:
        positions.append(start)
        start = text.find(needle, start + 1)
    return positions
