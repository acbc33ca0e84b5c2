"""Preflight: which FastAPI, pydantic, SQLAlchemy and Celery a project declares and runs.

A codemod whose output imports the runtime is only correct where the runtime itself can be
installed next to the project's own pins: on a project pinned to pydantic 1, rewriting five
modules to import a pydantic 2 runtime makes every test fail at import. And ``FastAPI(lifespan=)``
is accepted but ignored before FastAPI 0.93.0, so moving handlers into a lifespan there means
they silently never run (Starlette's own ``lifespan=`` takes the generated context manager from
0.16.0 on). So before any rewrite the runner reads what the project declares
(``pyproject.toml``'s PEP 621 and Poetry tables, ``requirements*.txt``/``*.in``/``*.lock``),
what its lock files pin (``uv.lock``, ``poetry.lock``) and what is installed in its
virtualenv, and a codemod runs only where its :attr:`~spaps_cli.codemods.base.Codemod.PREFLIGHT`
requirement can be met. Everything here is cheap file reading; nothing is imported or executed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

#: The first FastAPI that honours ``FastAPI(lifespan=...)`` (release 0.93.0, "Add support for
#: lifespan async context managers"); older ones accept the argument and ignore it.
LIFESPAN_FASTAPI = "0.93.0"
#: The first Starlette whose ``Starlette(lifespan=...)``/``Router(lifespan=...)`` enters an
#: ``@asynccontextmanager`` function (0.16.0, "use an async context manager factory for
#: lifespan", encode/starlette#1227). 0.13.5 added ``lifespan=`` for generator functions only:
#: there the generated lifespan fails at startup. FastAPI >= 0.93.0 requires a newer one anyway.
LIFESPAN_STARLETTE = "0.16.0"
#: The runtime's own lower bounds (``runtime/pyproject.toml``; a test keeps them in sync).
RUNTIME_REQUIREMENTS: Mapping[str, str] = {
    "fastapi": "0.121",
    "pydantic": "2.7",
    "sqlalchemy": "2.0.30",
    "celery": "5.4",
}
#: What each preflight requirement needs: distribution -> lowest acceptable version.
NEEDS: Mapping[str, Mapping[str, str]] = {
    "runtime": RUNTIME_REQUIREMENTS,
    "lifespan": {"fastapi": LIFESPAN_FASTAPI, "starlette": LIFESPAN_STARLETTE},
}
#: What to do first when a distribution is too old, beyond "upgrade it".
ADVICE: Mapping[str, str] = {
    "pydantic": "migrate to pydantic 2 first (bump-pydantic rewrites most of it)",
}
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "uv.lock")
_REQUIREMENT_FILES = re.compile(r"^requirements.*\.(txt|in|lock)$")
_POETRY_VERSION = re.compile(r"^\s*(?P<op>\^|~(?!=))?\s*(?P<version>\d+(\.\d+)*)\s*$")


@dataclass(frozen=True)
class Declared:
    """One requirement the project states: where, and the specifier it gives."""

    source: str
    specifier: str
    line: int = 1


@dataclass(frozen=True)
class Resolved:
    """A version the project actually has: installed in its virtualenv, or pinned by a lock."""

    source: str
    version: str


@dataclass(frozen=True)
class ProjectVersions:
    """What the project declares and resolves, by canonical distribution name. Picklable."""

    declared: Mapping[str, tuple[Declared, ...]] = field(default_factory=dict)
    resolved: Mapping[str, Resolved] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.declared.items())), tuple(sorted(self.resolved.items()))))

    def _specifiers(self, name: str) -> SpecifierSet | None:
        entries = self.declared.get(canonicalize_name(name), ())
        if not entries:
            return None
        combined = SpecifierSet()
        for entry in entries:
            combined &= SpecifierSet(entry.specifier)
        return combined

    def can_meet(self, name: str, minimum: str) -> bool:
        """Can the project run ``name >= minimum``? Unknown counts as yes (nothing says no).

        The version in use decides when one is known (installed, else locked); otherwise the
        declared specifiers must allow some version at or above ``minimum``.
        """
        floor = Version(minimum)
        resolved = self.resolved.get(canonicalize_name(name))
        if resolved is not None:
            return _version(resolved.version) >= floor
        specifiers = self._specifiers(name)
        if specifiers is None:
            return True
        probes = {floor, Version("9999")}
        for spec in specifiers:
            version = _version(spec.version.rstrip(".*"))
            if version >= floor:
                probes.update({version, Version(f"{version}.1"), Version(f"{version.major + 1}")})
        return any(specifiers.contains(probe, prereleases=True) for probe in probes)

    def guarantees(self, name: str, minimum: str) -> bool:
        """Does every version the project's requirement allows reach ``minimum``?

        With no declared requirement the version in use decides; with neither, no.
        """
        floor = Version(minimum)
        specifiers = self._specifiers(name)
        if specifiers is None:
            resolved = self.resolved.get(canonicalize_name(name))
            return resolved is not None and _version(resolved.version) >= floor
        probes = {Version("0")}
        for spec in specifiers:
            version = _version(spec.version.rstrip(".*"))
            if version < floor:
                probes.update({version, Version(f"{version}.post1")})
        return not any(specifiers.contains(probe, prereleases=True) for probe in probes)

    def describe(self, name: str) -> str:
        """``fastapi==0.87.0 (requirements.txt:3), 0.87.0 installed (.venv)`` for a message."""
        key = canonicalize_name(name)
        parts = [
            f"{key}{entry.specifier or ' (any version)'} ({entry.source}:{entry.line})"
            for entry in self.declared.get(key, ())
        ]
        resolved = self.resolved.get(key)
        if resolved is not None:
            parts.append(f"{key} {resolved.version} in {resolved.source}")
        return ", ".join(parts) or f"{key} (not declared)"

    def blocking(self, need: str) -> list[tuple[str, str]]:
        """The (distribution, minimum) pairs of ``need`` this project cannot meet."""
        return [
            (name, minimum)
            for name, minimum in NEEDS[need].items()
            if not self.can_meet(name, minimum)
        ]

    def blocking_declaration(self, name: str, minimum: str) -> Declared | None:
        """The declaration to change: the first that alone cannot reach ``minimum``."""
        entries = self.declared.get(canonicalize_name(name), ())
        for entry in entries:
            if not ProjectVersions({name: (entry,)}).can_meet(name, minimum):
                return entry
        return entries[0] if entries else None


@dataclass(frozen=True)
class Blocked:
    """A preflight requirement the project cannot meet, and the codemods it stops."""

    need: str
    codemods: tuple[str, ...]
    source: str
    line: int
    message: str


def check(versions: ProjectVersions, needs: Mapping[str, str | None]) -> list[Blocked]:
    """``needs`` maps codemod id -> its PREFLIGHT requirement; one :class:`Blocked` per need."""
    found: list[Blocked] = []
    by_need: dict[str, list[str]] = {}
    for codemod, need in needs.items():
        if need is not None:
            by_need.setdefault(need, []).append(codemod)
    for need, codemods in by_need.items():
        too_old = versions.blocking(need)
        if not too_old:
            continue
        steps = []
        for name, minimum in too_old:
            advice = ADVICE.get(name, f"upgrade {name} to >={minimum} first")
            steps.append(f"{versions.describe(name)} but {name}>={minimum} is needed: {advice}")
        declaration = versions.blocking_declaration(*too_old[0])
        source, line = (declaration.source, declaration.line) if declaration else ("<project>", 1)
        what = (
            "the runtime"
            if need == "runtime"
            else " and ".join(
                f"{'FastAPI' if name == 'fastapi' else 'Starlette'}(lifespan=...)"
                for name, _ in too_old
            )
        )
        found.append(
            Blocked(
                need,
                tuple(codemods),
                source,
                line,
                f"{'; '.join(steps)}; then re-run. Until then {what} cannot work here, so"
                f" {', '.join(codemods)} rewrote nothing",
            )
        )
    return found


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


# -- reading a project ---------------------------------------------------------------------


def project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` that looks like a project's root."""
    start = start.resolve()
    if start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        if any((directory / marker).exists() for marker in _PROJECT_MARKERS):
            return directory
        if (directory / ".git").exists():
            break
    return start


def read_versions(root: Path, environ: Mapping[str, str] | None = None) -> ProjectVersions:
    """Everything the project at ``root`` says about its dependencies' versions."""
    declared: dict[str, list[Declared]] = {}
    resolved: dict[str, Resolved] = {}
    for name, declaration in _declarations(root):
        declared.setdefault(name, []).append(declaration)
    for name, locked in _locked(root):
        resolved.setdefault(name, locked)
    for name, installed in _installed(root, os.environ if environ is None else environ):
        resolved[name] = installed  # what is installed beats what a lock says
    return ProjectVersions({k: tuple(v) for k, v in declared.items()}, resolved)


def _declarations(root: Path) -> Iterator[tuple[str, Declared]]:
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8", errors="replace")
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            document = {}
        yield from _pyproject_declarations(document, text)
    candidates = [p for p in root.glob("requirements*") if _REQUIREMENT_FILES.match(p.name)]
    candidates += sorted((root / "requirements").glob("*.txt"))
    for path in sorted(set(candidates)):
        yield from _requirements_file(path, path.relative_to(root).as_posix())


def _pyproject_declarations(
    document: Mapping[str, Any], text: str
) -> Iterator[tuple[str, Declared]]:
    project = document.get("project", {})
    strings: list[str] = [s for s in project.get("dependencies", []) if isinstance(s, str)]
    for group in project.get("optional-dependencies", {}).values():
        strings += [s for s in group if isinstance(s, str)]
    for group in document.get("dependency-groups", {}).values():
        strings += [s for s in group if isinstance(s, str)]
    for value in strings:
        parsed = _requirement(value)
        if parsed is not None:
            yield parsed[0], Declared("pyproject.toml", parsed[1], _line_of(text, value))
    poetry = document.get("tool", {}).get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [g.get("dependencies", {}) for g in poetry.get("group", {}).values()]
    for table in tables:
        for name, value in table.items():
            if canonicalize_name(name) == "python":
                continue
            constraint = value.get("version") if isinstance(value, Mapping) else value
            specifier = _poetry_specifier(constraint) if isinstance(constraint, str) else ""
            if specifier is not None:
                yield (
                    canonicalize_name(name),
                    Declared("pyproject.toml", specifier, _line_of(text, name)),
                )


def _poetry_specifier(constraint: str) -> str | None:
    """Poetry's ``^1.2``/``~1.2``/``1.2.*``/``*``/PEP 440 constraints as a PEP 440 specifier."""
    parts = []
    for piece in constraint.split(","):
        piece = piece.strip()
        if piece in ("", "*"):
            continue
        match = _POETRY_VERSION.match(piece)
        if match is None:
            parts.append(piece)
            continue
        numbers = [int(n) for n in match["version"].split(".")]
        if match["op"] == "^":
            first = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
            upper = [*numbers[:first], numbers[first] + 1]
        elif match["op"] == "~":
            keep = 2 if len(numbers) > 1 else 1
            upper = [*numbers[: keep - 1], numbers[keep - 1] + 1]
        else:
            parts.append(f"=={match['version']}")
            continue
        parts.append(f">={match['version']},<{'.'.join(map(str, upper))}")
    specifier = ",".join(parts)
    try:
        SpecifierSet(specifier)
    except InvalidSpecifier:
        return None
    return specifier


def _requirement(value: str) -> tuple[str, str] | None:
    try:
        parsed = Requirement(value)
    except InvalidRequirement:
        return None
    return canonicalize_name(parsed.name), str(parsed.specifier)


def _requirements_file(path: Path, display: str) -> Iterator[tuple[str, Declared]]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for number, raw in enumerate(lines, start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-", "git+", "http:", "https:", ".", "/")):
            continue
        parsed = _requirement(line.rstrip("\\").strip())
        if parsed is not None:
            yield parsed[0], Declared(display, parsed[1], number)


def _locked(root: Path) -> Iterator[tuple[str, Resolved]]:
    for lock in ("uv.lock", "poetry.lock", "pdm.lock"):
        path = root / lock
        if not path.is_file():
            continue
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for package in document.get("package", []):
            name, version = package.get("name"), package.get("version")
            if isinstance(name, str) and isinstance(version, str):
                yield canonicalize_name(name), Resolved(lock, version)


def _environments(root: Path, environ: Mapping[str, str]) -> Iterable[Path]:
    """The project's virtualenvs: ``.venv``/``venv``/``env`` in it, then ``$VIRTUAL_ENV``."""
    for name in (".venv", "venv", "env"):
        if (root / name / "pyvenv.cfg").is_file():
            yield root / name
    active = environ.get("VIRTUAL_ENV")
    if active:
        yield Path(active)


def _installed(root: Path, environ: Mapping[str, str]) -> Iterator[tuple[str, Resolved]]:
    for environment in _environments(root, environ):
        try:
            source = environment.relative_to(root).as_posix()
        except ValueError:
            source = str(environment)
        site_packages: Sequence[Path] = [
            *environment.glob("lib/python*/site-packages"),
            *environment.glob("Lib/site-packages"),
        ]
        for directory in site_packages:
            for info in directory.glob("*.dist-info"):
                name, _, version = info.name.removesuffix(".dist-info").partition("-")
                if version:
                    yield canonicalize_name(name), Resolved(source, version)
        if site_packages:
            return


def _line_of(text: str, needle: str) -> int:
    offset = text.find(needle)
    return text.count("\n", 0, offset) + 1 if offset >= 0 else 1
