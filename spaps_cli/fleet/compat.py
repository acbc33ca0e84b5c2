"""The compatibility matrix: runtime versions x CLI/template versions, read from one data file.

``spaps_cli/compat/matrix.toml`` is the only place the matrix is written down; ``spaps doctor``
asks it questions and ``docs/COMPATIBILITY.md`` is rendered from it (:mod:`.compat_doc`).
Versions are compared as :class:`packaging.version.Version` objects and ranges are PEP 440
specifiers, never strings.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

MATRIX_PATH = Path(__file__).resolve().parent.parent / "compat" / "matrix.toml"
RUNTIME_DISTRIBUTION = "spaps-server-quickstart"
#: The official SPAPS client the runtime's auth is built on (a dependency of the runtime).
CLIENT_DISTRIBUTION = "spaps"

RuntimeStatus = Literal["supported", "deprecated", "unsupported"]
_STATUSES: tuple[RuntimeStatus, ...] = ("supported", "deprecated", "unsupported")


class MatrixError(ValueError):
    """The matrix file is malformed (a bug in the CLI release, caught by the test suite)."""


@dataclass(frozen=True)
class RuntimeRelease:
    version: Version
    released: str
    python: SpecifierSet
    status: RuntimeStatus
    notes: str
    #: The ``spaps`` client releases this runtime release was tested with (its own pin).
    client: SpecifierSet = field(default_factory=SpecifierSet)


@dataclass(frozen=True)
class CliRelease:
    version: Version
    released: str
    template_version: str
    runtime: SpecifierSet
    notes: str


@dataclass(frozen=True)
class Verdict:
    """Whether one (template version, runtime version) pair may run, and why not."""

    status: Literal["supported", "deprecated", "unsupported", "unknown"]
    reason: str

    @property
    def ok(self) -> bool:
        return self.status == "supported"


@dataclass(frozen=True)
class CompatibilityMatrix:
    runtimes: tuple[RuntimeRelease, ...]
    clis: tuple[CliRelease, ...]

    def template_versions(self) -> list[str]:
        return list(dict.fromkeys(cli.template_version for cli in self.clis))

    def runtime_range(self, template_version: str) -> SpecifierSet | None:
        """The runtime range a template version was released for."""
        rows = [cli for cli in self.clis if cli.template_version == template_version]
        if not rows:
            return None
        # Several CLI releases may render the same template; the newest one's range wins.
        return max(rows, key=lambda cli: cli.version).runtime

    def supported_runtimes(self, template_version: str) -> list[Version]:
        """Known runtime releases a service of ``template_version`` may run on, newest first."""
        spec = self.runtime_range(template_version)
        if spec is None:
            return []
        return sorted(
            (
                runtime.version
                for runtime in self.runtimes
                if runtime.status != "unsupported" and spec.contains(runtime.version)
            ),
            reverse=True,
        )

    def recommended_runtime(self, template_version: str) -> Version | None:
        """The runtime a service of ``template_version`` should be on: the newest release with
        status ``supported`` inside the template's range (``deprecated`` ones still run, but are
        never recommended). ``spaps update --check`` fails a service below it."""
        spec = self.runtime_range(template_version)
        if spec is None:
            return None
        supported = [
            runtime.version
            for runtime in self.runtimes
            if runtime.status == "supported" and spec.contains(runtime.version)
        ]
        return max(supported, default=None)

    def runtime(self, version: Version) -> RuntimeRelease | None:
        return next((runtime for runtime in self.runtimes if runtime.version == version), None)

    def verdict(self, template_version: str, runtime_version: Version) -> Verdict:
        spec = self.runtime_range(template_version)
        if spec is None:
            known = ", ".join(self.template_versions())
            return Verdict(
                "unknown", f"template version {template_version} is not in the matrix ({known})"
            )
        release = self.runtime(runtime_version)
        if not spec.contains(runtime_version, prereleases=True):
            return Verdict(
                "unsupported",
                f"runtime {runtime_version} is outside {spec} (template {template_version})",
            )
        if release is None:
            return Verdict(
                "unknown",
                f"runtime {runtime_version} is not a released version listed in the matrix",
            )
        if release.status == "unsupported":
            return Verdict("unsupported", f"runtime {runtime_version} is no longer supported")
        if release.status == "deprecated":
            return Verdict("deprecated", f"runtime {runtime_version} is deprecated")
        return Verdict(
            "supported", f"runtime {runtime_version} supports template {template_version}"
        )


_OPERATOR_ORDER = {">=": 0, ">": 0, "==": 1, "===": 1, "~=": 1, "<=": 2, "<": 2, "!=": 3}


def format_range(spec: SpecifierSet) -> str:
    """``>=0.1.0,<0.2`` (lower bound first, as people write it; ``str()`` sorts alphabetically)."""
    items = sorted(spec, key=lambda item: (_OPERATOR_ORDER.get(item.operator, 4), item.version))
    return ",".join(str(item) for item in items)


def _field(row: dict[str, Any], key: str, where: str) -> Any:
    if key not in row:
        raise MatrixError(f"{where}: missing '{key}'")
    return row[key]


def _version(value: Any, where: str) -> Version:
    try:
        return Version(str(value))
    except InvalidVersion as error:
        raise MatrixError(f"{where}: {value!r} is not a PEP 440 version") from error


def _specifier(value: Any, where: str) -> SpecifierSet:
    try:
        return SpecifierSet(str(value))
    except InvalidSpecifier as error:
        raise MatrixError(f"{where}: {value!r} is not a PEP 440 version range") from error


def parse_matrix(data: dict[str, Any]) -> CompatibilityMatrix:
    if data.get("schema") != 1:
        raise MatrixError("schema must be 1")
    runtimes: list[RuntimeRelease] = []
    for index, row in enumerate(data.get("runtime", [])):
        where = f"[[runtime]] #{index + 1}"
        status = str(row.get("status", "supported"))
        if status not in _STATUSES:
            raise MatrixError(f"{where}: status must be one of {', '.join(_STATUSES)}")
        runtimes.append(
            RuntimeRelease(
                version=_version(_field(row, "version", where), where),
                released=str(_field(row, "released", where)),
                python=_specifier(row.get("python", ""), where),
                status=status,  # checked against _STATUSES above
                notes=str(row.get("notes", "")),
                client=_specifier(row.get("spaps-client", ""), where),
            )
        )
    clis: list[CliRelease] = []
    for index, row in enumerate(data.get("cli", [])):
        where = f"[[cli]] #{index + 1}"
        clis.append(
            CliRelease(
                version=_version(_field(row, "version", where), where),
                released=str(_field(row, "released", where)),
                template_version=str(_field(row, "template-version", where)),
                runtime=_specifier(_field(row, "runtime", where), where),
                notes=str(row.get("notes", "")),
            )
        )
    for kind, versions in (
        ("runtime", [r.version for r in runtimes]),
        ("cli", [c.version for c in clis]),
    ):
        if len(set(versions)) != len(versions):
            raise MatrixError(f"[[{kind}]] lists a version twice")
    if not runtimes or not clis:
        raise MatrixError("the matrix needs at least one [[runtime]] and one [[cli]] row")
    return CompatibilityMatrix(
        runtimes=tuple(sorted(runtimes, key=lambda r: r.version, reverse=True)),
        clis=tuple(sorted(clis, key=lambda c: c.version, reverse=True)),
    )


def load_matrix(path: Path = MATRIX_PATH) -> CompatibilityMatrix:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MatrixError(f"{path}: {error}") from error
    return parse_matrix(data)
