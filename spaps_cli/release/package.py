"""Locating the distribution to release and reading its version from every place it is written.

``[project].version`` is the single source of truth. The one dynamic form supported is hatch's
``dynamic = ["version"]`` + ``[tool.hatch.version] path = "pkg/__init__.py"``: then that file's
``__version__`` is the source and ``pyproject.toml`` is left alone. Any other dynamic version
(setuptools-scm, hatch-vcs, ``attr:``) is a clear error: the version comes from somewhere this
tool cannot and should not edit.

The ``__version__`` file is, in order: ``[tool.spaps.release] version-file``, hatch's version
path, the ``__init__.py`` of each ``[tool.hatch.build.targets.wheel] packages`` entry,
``src/<name>/__init__.py``, ``<name>/__init__.py``. A package without ``__version__`` is fine;
a ``__version__`` that disagrees with ``pyproject.toml`` is drift, an error naming both values.
"""

from __future__ import annotations

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
_DUNDER_VERSION = re.compile(
    r"^(?P<head>__version__\s*(?::\s*(?:str|typing\.Final|Final)(?:\[str\])?\s*)?=\s*)"
    r"(?P<quote>['\"])(?P<value>[^'\"\n]*)(?P=quote)",
    re.MULTILINE,
)


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

    def tag_for(self, version: object) -> str:
        return f"{self.tag_prefix}{version}"

    def drift(self) -> str | None:
        """A one-line description of pyproject/``__version__`` disagreement, or None."""
        from packaging.version import InvalidVersion, Version

        if self.version_file is None or self.dynamic:
            return None
        try:
            same = Version(self.version_file.value) == Version(self.version_text)
        except InvalidVersion:
            same = self.version_file.value == self.version_text
        if same:
            return None
        return (
            f"{self.pyproject_path.name} says {self.version_text} but "
            f"{self._display(self.version_file.path)} says __version__ = {self.version_file.value}"
        )

    def _display(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def locate(package: str | None, *, cwd: Path | None = None) -> Path:
    """The directory of the distribution: ``--package`` as a path, else the nearest pyproject.

    ``--package runtime`` is tried relative to the current directory, then relative to the
    repository root (the nearest directory with ``.git``), so it works from anywhere in the repo.
    """
    here = (cwd or Path.cwd()).resolve()
    if package is None:
        for directory in (here, *here.parents):
            if (directory / PYPROJECT).is_file():
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
        if candidate.is_file() and candidate.name == PYPROJECT:
            return candidate.parent.resolve()
        if (candidate / PYPROJECT).is_file():
            return candidate.resolve()
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
    tool = document.get("tool", {})
    release = dict(tool.get("spaps", {}).get("release", {}))
    tag_prefix = str(release.get("tag-prefix", DEFAULT_TAG_PREFIX))
    urls = {str(k): str(v) for k, v in dict(project.get("urls", {})).items()}
    dynamic = "version" in [str(item) for item in project.get("dynamic", [])]
    hatch_path = tool.get("hatch", {}).get("version", {}).get("path")

    if dynamic:
        if "version" in project:
            raise UsageError(f"{path}: version is both set and listed in [project].dynamic")
        if not isinstance(hatch_path, str):
            raise UsageError(
                f"{path}: the version is dynamic and not read from a __version__ file",
                hint='set a static [project].version, or [tool.hatch.version] path = "pkg/__init__.py"',
            )
        version_file = _read_version_file(root / hatch_path, required=True)
        assert version_file is not None
        return Package(
            root, name, document, text, version_file.value, True, version_file, tag_prefix, urls
        )

    version = project.get("version")
    if not isinstance(version, str):
        raise UsageError(
            f"{path}: [project] has no version",
            hint='add version = "0.1.0" under [project]',
        )
    explicit = release.get("version-file")
    if isinstance(explicit, str):
        version_file = _read_version_file(root / explicit, required=True)
    else:
        version_file = _find_version_file(root, name, tool, hatch_path)
    return Package(root, name, document, text, str(version), False, version_file, tag_prefix, urls)


def _find_version_file(root: Path, name: str, tool: Any, hatch_path: object) -> VersionFile | None:
    import_name = re.sub(r"[-.]+", "_", name).lower()
    candidates: list[Path] = []
    if isinstance(hatch_path, str):
        candidates.append(root / hatch_path)
    wheel = tool.get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    for package_path in wheel.get("packages", []):
        candidates.append(root / str(package_path) / "__init__.py")
    spaps_package = tool.get("spaps", {}).get("package")
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


def _read_version_file(path: Path, *, required: bool) -> VersionFile | None:
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: keep CRLF as it is
    except FileNotFoundError as exc:
        if required:
            raise UsageError(f"version file {path} does not exist") from exc
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"could not read version file {path}: {exc}") from exc
    matches = list(_DUNDER_VERSION.finditer(text))
    if not matches:
        if required:
            raise UsageError(f'{path} has no __version__ = "..." line')
        return None
    if len(matches) > 1:
        raise UsageError(
            f"{path} assigns __version__ {len(matches)} times",
            hint="keep one '__version__ = \"X\"' line so the bump knows which to change",
        )
    match = matches[0]
    return VersionFile(path, text, match["value"], match.span("value"))


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
