"""Locating the distribution to release and reading its version from every place it is written.

``[project].version`` is the single source of truth. The one dynamic form supported is hatch's
``dynamic = ["version"]`` + ``[tool.hatch.version] path = "pkg/__init__.py"``: then that file's
``__version__`` is the source and ``pyproject.toml`` is left alone. Any other dynamic version
(setuptools-scm, hatch-vcs even next to a ``path``, ``attr:``) is a clear error: the version
comes from somewhere this tool cannot and should not edit.

The main ``__version__`` file is, in order: ``[tool.spaps.release] version-file``, hatch's
version path, the ``__init__.py`` of each ``[tool.hatch.build.targets.wheel] packages`` entry,
``src/<name>/__init__.py``, ``<name>/__init__.py``. It is not the only one that can go stale: a
``_version.py`` in a src layout, an import package named unlike the distribution, a second
literal next to hatch's version path. So every module directly inside each of the
distribution's import packages is read too (:func:`import_packages` says which they are), and
each plain ``__version__`` literal found there is kept in sync with the rest. Subpackages are
not read: a vendored library (``pkg/_vendor/six.py``) carries its own ``__version__``. A
package without ``__version__`` is fine; a ``__version__`` that disagrees with the version is
drift, an error naming ``file:line`` and both values. Every file must lie inside the
distribution directory (the bump writes them with the other files).

How one module's ``__version__`` is read and edited: :mod:`.version_literal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import UsageError
from spaps_cli.release.version_literal import (
    DUNDER,
    VersionFile,
    find_dunder_version,
    has_plain_literal,
    read_version_file,
)

if TYPE_CHECKING:
    import tomlkit.toml_document

PYPROJECT = "pyproject.toml"
CHANGELOG = "CHANGELOG.md"
DEFAULT_TAG_PREFIX = "v"
#: Top-level directories that hold no import package of the distribution, even with __init__.py.
_NOT_PACKAGES = frozenset(
    {
        "tests",
        "test",
        "docs",
        "doc",
        "examples",
        "example",
        "bench",
        "benchmarks",
        "scripts",
        "tools",
        "build",
        "dist",
        "migrations",
        "templates",
        "site-packages",
        "node_modules",
    }
)


class VersionDriftError(UsageError):
    """``pyproject.toml`` and ``__version__`` disagree."""


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
    series: str | None = None  # [tool.spaps.release] series: the maintenance series, "1.1"
    #: Every other plain ``__version__`` literal in the import packages, kept in sync too.
    other_version_files: tuple[VersionFile, ...] = ()

    @property
    def version_files(self) -> tuple[VersionFile, ...]:
        main = () if self.version_file is None else (self.version_file,)
        return main + self.other_version_files

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
        """A one-line description of the first ``__version__`` that disagrees, or None.

        The version is ``[project].version``, or with a dynamic version the hatch file's value;
        the message names the stale file as ``path:line``, so it can be fixed without a search.
        """
        from packaging.version import InvalidVersion

        from spaps_cli.release.version import pep440

        if self.dynamic and self.version_file is not None:
            source = f"{self.display(self.version_file.path)}:{self.version_file.line}"
        else:
            source = self.pyproject_path.name
        for found in self.version_files:
            if self.dynamic and found is self.version_file:
                continue
            try:
                same = pep440(found.value) == pep440(self.version_text)
            except InvalidVersion:
                same = found.value == self.version_text
            if not same:
                return (
                    f"{source} says {self.version_text} but"
                    f" {self.display(found.path)}:{found.line} says __version__ = {found.value}"
                )
        return None

    def display(self, path: Path) -> str:
        """``path`` relative to the distribution when inside it, else as given."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def locate(package: str | None, *, cwd: Path | None = None, walk_up: bool = True) -> Path:
    """The directory of the distribution: ``--package`` as a path, else the nearest pyproject.

    ``--package runtime`` is tried relative to the current directory, then relative to the
    repository root (the nearest directory with ``.git``), so it works from anywhere in the repo.
    With ``walk_up=False`` (``bump``, which writes) the current directory itself must be the
    distribution: run from ``docs/`` or ``src/pkg/`` of a project, a bump that walked up would
    edit a distribution nobody named, in the worst case the parent of a nested one.
    """
    from spaps_cli.paths import existing_file, resolve

    here = resolve(cwd or Path.cwd(), what="the current directory")
    if package is None:
        if not walk_up:
            if (here / PYPROJECT).is_file():
                return here
            above = next((d for d in here.parents if (d / PYPROJECT).is_file()), None)
            hint = "run it in the distribution's directory or pass --package PATH"
            if above is not None:
                hint = f"to bump {above / PYPROJECT}, pass --package {above} (or run it there)"
            raise UsageError(
                f"no {PYPROJECT} in {here}: the bump only edits a named one", hint=hint
            )
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
    series = release.get("series")
    if series is not None and not isinstance(series, str):
        raise UsageError(
            f"{path}: [tool.spaps.release] series = {series} must be a string",
            hint=f'quote it: series = "{series}"',
        )
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
        version_file = read_version_file(hatch_file, required=True)
        assert version_file is not None
        others = _other_version_files(root, name, tool, version_file)
        return Package(
            root,
            name,
            document,
            text,
            version_file.value,
            True,
            version_file,
            tag_prefix,
            urls,
            series,
            others,
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
        version_file = read_version_file(_inside(root, explicit, setting), required=True)
    else:
        version_file = _find_version_file(root, name, tool, hatch_path)
    others = _other_version_files(root, name, tool, version_file)
    return Package(
        root,
        name,
        document,
        text,
        str(version),
        False,
        version_file,
        tag_prefix,
        urls,
        series,
        others,
    )


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
        found = read_version_file(candidate, required=False)
        if found is not None:
            return found
    return None


def import_packages(root: Path, name: str, tool: Any) -> list[Path]:
    """The directories of the distribution's import packages (regular packages only).

    Named ones first: ``[tool.hatch.build.targets.wheel] packages``, the directory of hatch's
    version path, ``[tool.spaps] package``, setuptools' ``packages`` (dotted names, top level);
    then what a build backend would find on its own: every package under ``src/``, or, in a
    flat layout, every top-level package except the usual non-package directories (tests,
    docs, ...). The import name need not match the distribution's (``pillow`` ships ``PIL``).
    """
    base = root.resolve()
    named: list[Path] = []
    hatch = tool.get("hatch", {})
    wheel = hatch.get("build", {}).get("targets", {}).get("wheel", {})
    named += [root / str(entry) for entry in wheel.get("packages", [])]
    hatch_path = hatch.get("version", {}).get("path")
    if isinstance(hatch_path, str):
        named.append((root / hatch_path).parent)
    spaps_package = tool.get("spaps", {}).get("package")
    import_name = re.sub(r"[-.]+", "_", name).lower()
    for module in filter(None, [spaps_package, import_name]):
        named += [root / "src" / str(module), root / str(module)]
    setuptools_packages = tool.get("setuptools", {}).get("packages", [])
    if isinstance(setuptools_packages, list):
        for dotted in setuptools_packages:
            top = str(dotted).split(".", 1)[0]
            named += [root / "src" / top, root / top]
    source = root / "src"
    found = sorted(source.iterdir()) if source.is_dir() else []
    if not found:
        found = [
            d
            for d in sorted(root.iterdir())
            if d.name not in _NOT_PACKAGES and not d.name.startswith((".", "_"))
        ]
    packages: list[Path] = []
    for directory in [*named, *found]:
        if not (directory / "__init__.py").is_file():
            continue
        resolved = directory.resolve()
        if resolved != base and base not in resolved.parents:
            continue  # a symlink out of the distribution: not ours to edit
        if resolved not in packages:
            packages.append(resolved)
    return packages


def _other_version_files(
    root: Path, name: str, tool: Any, main: VersionFile | None
) -> tuple[VersionFile, ...]:
    """Every plain ``__version__`` literal in a module directly inside an import package.

    Forms other than a plain literal (``__version__ = VERSION``, a metadata call) derive the
    value from somewhere else and are left alone here; only the main file must be a literal.
    """
    seen = {main.path.resolve()} if main is not None else set()
    found: list[VersionFile] = []
    for package in import_packages(root, name, tool):
        for module in sorted(package.glob("*.py")):
            resolved = module.resolve()
            if resolved in seen or not module.is_file():
                continue
            seen.add(resolved)
            try:
                text = module.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # unreadable: nothing this tool could edit either
            if DUNDER not in text:
                continue
            try:
                literal = find_dunder_version(module, text)
            except UsageError:
                if has_plain_literal(text):
                    raise  # a literal this tool cannot keep in sync must not go stale quietly
                continue  # not a plain literal: derived from somewhere else
            if literal is not None:
                found.append(literal)
    return tuple(found)


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
