"""``spaps doctor``: is this service on a supported runtime, configured, isolated and migrated?

One function per check family, each returning :class:`Finding` objects (an id, a severity, a
one-line message and the fix). Facts about the service's *environment* (installed runtime,
settings as the service itself loads them) come from :mod:`.service_probe`, run with the
service's interpreter; the CLI never imports the runtime at import time, and only the migration
check imports it lazily (and falls back to the file-name rule when it is not installed).

The services "on record" for the shared-database check are defined in :mod:`.records`;
without ``--fleet`` (or ``SPAPS_FLEET``) only the database-name rule runs.
"""

from __future__ import annotations

import configparser
import json
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from spaps_cli.fleet.compat import (
    RUNTIME_DISTRIBUTION,
    CompatibilityMatrix,
    format_range,
    load_matrix,
)
from spaps_cli.fleet.interpreter import service_python
from spaps_cli.fleet.records import database_identity, database_name, fleet_records, redact
from spaps_cli.progress import StepHook, no_progress
from spaps_cli.project import Project

Severity = Literal["error", "warning"]

PROBE_TIMEOUT_SECONDS = 90.0
_UPPER_BOUND_OPERATORS = frozenset({"<", "<=", "==", "~=", "==="})


@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    message: str
    hint: str

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class DoctorReport:
    service: str
    root: Path
    python: str
    env: str | None
    findings: list[Finding] = field(default_factory=list)
    #: check family -> "ok" | "findings" | "skipped: <why>"
    checks: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "path": str(self.root),
            "python": self.python,
            "env": self.env,
            "clean": self.clean,
            "checks": self.checks,
            "notes": self.notes,
            "findings": [finding.as_json() for finding in self.findings],
        }


# --------------------------------------------------------------------------- the probe


def probe_service(project: Project, python: Path, env: str | None) -> dict[str, Any]:
    """Run :mod:`.service_probe` in the service's interpreter, from the service's directory
    (so its ``.env`` is read exactly as the service reads it)."""
    script = Path(__file__).with_name("service_probe.py")
    args = [str(python), str(script), str(project.root / "src"), project.package]
    if env is not None:
        args.append(env)
    try:
        completed = subprocess.run(
            args,
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"probe_error": f"{python} did not answer within {PROBE_TIMEOUT_SECONDS:g}s"}
    except OSError as error:
        return {"probe_error": f"{python} could not run: {error}"}
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return {"probe_error": f"{python} failed to inspect the service: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


# --------------------------------------------------------------------------- runtime versions


def pinned_runtime(project: Project) -> Requirement | None:
    dependencies = project.document.get("project", {}).get("dependencies", [])
    for raw in dependencies:
        try:
            requirement = Requirement(str(raw))
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == RUNTIME_DISTRIBUTION:
            return requirement
    return None


def _has_upper_bound(spec: SpecifierSet) -> bool:
    return any(item.operator in _UPPER_BOUND_OPERATORS for item in spec)


def versions_outside(pin: SpecifierSet, allowed: SpecifierSet) -> list[Version]:
    """Versions the pin admits that the template's range does not (empty: the pin fits).

    Two specifier sets can only disagree near the versions they name, so the candidates are
    every version either set mentions, the release just below it (previous major, minor and
    patch, and ``0.0.0``), and the next patch, minor and major beyond it. ``>=0.1.0,<1.0``
    against ``>=0.1.0,<0.2`` is caught by 0.2.0, ``<0.2`` by 0.0.0, ``~=0.1`` by 0.2.0. Every
    version returned really is admitted by the pin and refused by the range, so the rule never
    reports a pin that fits; an exotic pin could slip through, never a wrong finding.
    """
    named: set[Version] = set()
    for item in (*pin, *allowed):
        try:
            named.add(Version(item.version.removesuffix(".*")))
        except InvalidVersion:
            continue  # '===' with an arbitrary string: nothing to compare against
    candidates: set[Version] = {Version("0.0.0")}
    for version in named:
        major, minor, micro = (*version.release, 0, 0)[:3]
        candidates |= {
            version,
            Version(f"{major}.{minor}.{micro + 1}"),
            Version(f"{major}.{minor + 1}.0"),
            Version(f"{major + 1}.0.0"),
            Version(f"{max(major - 1, 0)}.0.0"),
            Version(f"{major}.{max(minor - 1, 0)}.0"),
            Version(f"{major}.{minor}.{max(micro - 1, 0)}"),
        }
    return sorted(
        version
        for version in candidates
        if pin.contains(version, prereleases=True)
        and not allowed.contains(version, prereleases=True)
    )


def check_runtime_version(
    project: Project, probe: dict[str, Any], matrix: CompatibilityMatrix
) -> list[Finding]:
    findings: list[Finding] = []
    template = str(project.spaps.get("template-version", ""))
    allowed = matrix.runtime_range(template)
    if allowed is None:
        known = ", ".join(matrix.template_versions())
        findings.append(
            Finding(
                "runtime.template-unknown",
                "error",
                f"template-version {template or '(missing)'} is not in the compatibility matrix"
                f" (known: {known})",
                "upgrade the spaps CLI (a newer CLI knows newer templates), or fix"
                " [tool.spaps] template-version",
            )
        )
        return findings
    supported = matrix.supported_runtimes(template)
    wanted = f"{RUNTIME_DISTRIBUTION}{format_range(allowed)}"

    pin = pinned_runtime(project)
    if pin is None:
        findings.append(
            Finding(
                "runtime.not-pinned",
                "error",
                f"pyproject.toml does not depend on {RUNTIME_DISTRIBUTION}",
                f'add "{wanted}" to [project] dependencies',
            )
        )
    else:
        allowed_by_pin = [version for version in supported if pin.specifier.contains(version)]
        listed = [
            runtime.version
            for runtime in matrix.runtimes
            if pin.specifier.contains(runtime.version) and not allowed.contains(runtime.version)
        ]
        outside = listed or versions_outside(pin.specifier, allowed)[:3]
        if not allowed_by_pin:
            findings.append(
                Finding(
                    "runtime.pin-unsupported",
                    "error",
                    f"the pin {pin} allows no supported runtime"
                    f" (template {template} supports {format_range(allowed)})",
                    f'change the dependency to "{wanted}"',
                )
            )
        elif outside or not _has_upper_bound(pin.specifier):
            reason = (
                f"allows {', '.join(map(str, outside))} outside {format_range(allowed)}"
                if outside
                else "has no upper bound, so the next breaking runtime release installs"
            )
            findings.append(
                Finding(
                    "runtime.pin-too-wide",
                    "error",
                    f"the pin {pin} {reason}",
                    f'change the dependency to "{wanted}"',
                )
            )

    findings += _pgvector_findings(project, pin, probe)
    installed_text = probe.get("runtime_version")
    python = probe.get("python", "the service's Python")
    if "probe_error" in probe:
        return findings  # reported once, by the settings family
    if not installed_text:
        findings.append(
            Finding(
                "runtime.not-installed",
                "error",
                f"{RUNTIME_DISTRIBUTION} is not installed in {python}",
                "install the service (pip install -e .) in its environment, or pass --python",
            )
        )
        return findings
    try:
        installed = Version(str(installed_text))
    except InvalidVersion:
        installed = Version("0")
    verdict = matrix.verdict(template, installed)
    if verdict.status == "deprecated":
        findings.append(
            Finding(
                "runtime.deprecated",
                "warning",
                f"installed {verdict.reason}",
                f"upgrade to {supported[0]}" if supported else "upgrade the runtime",
            )
        )
    elif not verdict.ok:
        findings.append(
            Finding(
                f"runtime.{verdict.status}",
                "error",
                f"installed {RUNTIME_DISTRIBUTION} {installed}: {verdict.reason}",
                f'pip install "{RUNTIME_DISTRIBUTION}=={supported[0]}"'
                if supported
                else f'pip install "{wanted}"',
            )
        )
    if pin is not None and not pin.specifier.contains(installed, prereleases=True):
        findings.append(
            Finding(
                "runtime.pin-mismatch",
                "error",
                f"installed {RUNTIME_DISTRIBUTION} {installed} does not satisfy the pin {pin}",
                "reinstall the service's dependencies (pip install -e .)",
            )
        )
    return findings


def _pgvector_findings(
    project: Project, pin: Requirement | None, probe: dict[str, Any]
) -> list[Finding]:
    """A service that opted into pgvector (``spaps new service --pgvector``) needs the extra."""
    answers = project.spaps.get("answers", {})
    if not (isinstance(answers, dict) and answers.get("pgvector")):
        return []
    findings: list[Finding] = []
    if pin is not None and "pgvector" not in pin.extras:
        findings.append(
            Finding(
                "runtime.pgvector-extra",
                "error",
                f"the service uses pgvector but the pin {pin} lacks the pgvector extra",
                "add pgvector to the extras: spaps-server-quickstart[...,pgvector]",
            )
        )
    if "probe_error" not in probe and probe.get("pgvector_installed") is False:
        findings.append(
            Finding(
                "runtime.pgvector-missing",
                "error",
                f"the service uses pgvector but it is not installed in {probe.get('python')}",
                "reinstall the service's dependencies (pip install -e .)",
            )
        )
    return findings


# --------------------------------------------------------------------------- settings


def check_settings(probe: dict[str, Any]) -> list[Finding]:
    if "probe_error" in probe:
        return [
            Finding(
                "settings.probe-failed",
                "error",
                str(probe["probe_error"]),
                "make the service importable in that interpreter (pip install -e .), or pass"
                " --python",
            )
        ]
    if "settings_error" in probe:
        return [
            Finding(
                "settings.unloadable",
                "error",
                f"the service's settings could not be loaded: {probe['settings_error']}",
                "fix the import error; doctor loads <package>.settings like the app does",
            )
        ]
    findings = [
        Finding(
            "settings.missing",
            "error",
            f"{name} has no value in the environment or .env",
            f"set {name} in the environment (or in .env; see .env.example)",
        )
        for name in probe.get("missing", [])
    ]
    findings += [
        Finding(
            "settings.invalid",
            "error",
            f"{item['setting']}: {item['message']}",
            f"fix {item['setting']} in the environment or .env",
        )
        for item in probe.get("invalid", [])
    ]
    if probe.get("env") == "prod":
        findings += [
            Finding(
                "settings.production",
                "error",
                f"env=prod would refuse to start: {problem}",
                "set the production value in the deployment environment",
            )
            for problem in probe.get("production_problems", [])
        ]
    return findings


# --------------------------------------------------------------------------- database


def check_database(project: Project, probe: dict[str, Any], fleet: Path | None) -> list[Finding]:
    url = probe.get("database_url")
    if not isinstance(url, str):
        return []
    findings: list[Finding] = []
    service = str(project.spaps.get("service", project.package))
    own_names = {project.package, service, service.replace("-", "_")}
    name = database_name(url)
    if name is not None and not any(
        name == own or name.startswith((f"{own}_", f"{own}-")) for own in own_names
    ):
        findings.append(
            Finding(
                "database.foreign-name",
                "error",
                f"the database name {name!r} in DATABASE_URL is not the service's own"
                f" (expected {project.package!r} or {project.package}_<suffix>)",
                f"create a database named {project.package} (or {project.package}_<env>) and"
                " point DATABASE_URL at it",
            )
        )
    if fleet is not None:
        mine = database_identity(url, project.root)
        for record in fleet_records(fleet, exclude=project.root):
            if mine is not None and database_identity(record.database_url, record.root) == mine:
                findings.append(
                    Finding(
                        "database.shared",
                        "error",
                        f"DATABASE_URL {redact(url)} is the database of service"
                        f" {record.name!r} too (on record in {record.source})",
                        "give every service its own database: one database per service,"
                        " created by its own migrations",
                    )
                )
    return findings


# --------------------------------------------------------------------------- migrations


def versions_directory(project: Project) -> Path | None:
    """``<script_location>/versions`` from ``alembic.ini`` (``%(here)s`` resolved)."""
    ini = project.root / "alembic.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser(defaults={"here": str(project.root)})
    try:
        parser.read(ini, encoding="utf-8")
        location = parser.get("alembic", "script_location", fallback="migrations")
    except configparser.Error:
        location = "migrations"
    return _script_directory(project, location.strip()) / "versions"


def _script_directory(project: Project, location: str) -> Path:
    """Where ``script_location`` points, found on disk without importing the service.

    Alembic also accepts ``package:directory`` (a directory inside an importable package);
    the package is looked up in the service's own layout, ``src/<package>`` first.
    """
    path = Path(location)
    if path.is_absolute():
        return path
    package, colon, inside = location.partition(":")
    if colon and package and all(part.isidentifier() for part in package.split(".")):
        package_dir = Path(*package.split("."))
        for base in (project.root / "src", project.root):
            if (base / package_dir).is_dir():
                return base / package_dir / inside
        return project.root / "src" / package_dir / inside
    return project.root / path


def _shown(project: Project, path: Path) -> str:
    """``path`` relative to the service when inside it, else as written."""
    try:
        return path.relative_to(project.root).as_posix()
    except ValueError:
        return str(path)


def migration_domains(project: Project) -> list[str]:
    recorded = project.spaps.get("migration-domains")
    if isinstance(recorded, list) and recorded:
        return [str(domain) for domain in recorded]
    return ["core", *project.domains]


def _validator() -> Callable[[Path, Iterable[str]], list[str]]:
    """The runtime's validator when the runtime is installed next to the CLI; else the rule
    this CLI was released with (the file-name pattern only, reimplemented here once)."""
    try:
        from spaps_server_quickstart.db.migrations import validate_migrations
    except ImportError:
        return _validate_names_only
    return validate_migrations  # type: ignore[return-value]


def _validate_names_only(versions: Path, domains: Iterable[str]) -> list[str]:
    import re

    pattern = re.compile(r"^(?P<timestamp>\d{12})_(?P<rest>[a-z0-9_]+)\.py$")
    problems: list[str] = []
    allowed = sorted(domains, key=len, reverse=True)
    for path in sorted(versions.glob("*.py")):
        if path.name == "__init__.py":
            continue
        match = pattern.fullmatch(path.name)
        if match is None:
            problems.append(f"{path.name}: expected <YYYYMMDDHHMM>_<domain>_<slug>.py")
        elif not any(match["rest"].startswith(f"{domain}_") for domain in allowed):
            problems.append(f"{path.name}: domain is not one of: {', '.join(sorted(allowed))}")
    return problems


def check_migrations(project: Project) -> list[Finding]:
    versions = versions_directory(project)
    if versions is None:
        return [
            Finding(
                "migrations.no-alembic",
                "error",
                "alembic.ini not found next to pyproject.toml",
                "restore alembic.ini from the template (spaps new service renders one)",
            )
        ]
    if not versions.is_dir():
        return [
            Finding(
                "migrations.no-versions",
                "error",
                f"{_shown(project, versions)} does not exist",
                "create it; spaps add domain writes each domain's first migration there",
            )
        ]
    domains = migration_domains(project)
    return [
        Finding(
            "migrations.invalid",
            "error",
            problem,
            "rename it to <YYYYMMDDHHMM>_<domain>_<slug>.py with a domain from [tool.spaps]"
            f" migration-domains ({', '.join(domains)}); merge multiple heads",
        )
        for problem in _validator()(versions, domains)
    ]


# --------------------------------------------------------------------------- spaps migrate


def check_codemods(project: Project) -> list[Finding]:
    """What ``spaps migrate --check`` still finds (duplicated runtime code left behind)."""
    from spaps_cli.codemods.migration import check_tree

    results = check_tree(project.root)
    findings: list[Finding] = []
    for result in results:
        if result.error is not None:
            findings.append(
                Finding(
                    "migrate.unreadable",
                    "error",
                    f"{result.path}: {result.error}",
                    "fix the file so spaps migrate can parse it",
                )
            )
            continue
        if result.changed:
            findings.extend(
                Finding(
                    f"migrate.{codemod}",
                    "warning",
                    f"{result.path}: {count} rewrite(s) by {codemod} pending"
                    " (duplicated runtime code)",
                    "run `spaps migrate` (review first with `spaps migrate --diff`)",
                )
                for codemod, count in result.counts
            )
        findings.extend(
            Finding(
                f"migrate.{item.codemod}",
                "warning",
                f"{item.path}:{item.line}: {item.message}",
                "remove it by hand (see docs/MIGRATION_GUIDE.md), then re-run spaps doctor",
            )
            for item in result.findings
            if not item.auto_fixable
        )
    return findings


# --------------------------------------------------------------------------- all together


def run_doctor(
    project: Project,
    *,
    python: Path | None = None,
    env: str | None = None,
    fleet: Path | None = None,
    matrix: CompatibilityMatrix | None = None,
    on_step: StepHook = no_progress,
) -> DoctorReport:
    interpreter = service_python(project.root, python)
    with on_step(f"doctor: probing the service with {interpreter}"):
        probe = probe_service(project, interpreter, env)
    report = DoctorReport(
        service=str(project.spaps.get("service", project.package)),
        root=project.root,
        python=str(interpreter),
        env=probe.get("env") if isinstance(probe.get("env"), str) else env,
    )
    from spaps_cli.fleet.runtime_origin import check_runtime_origin  # imports Finding from here

    families: dict[str, Callable[[], list[Finding]]] = {
        "runtime": lambda: (
            check_runtime_origin(probe)
            + check_runtime_version(project, probe, matrix or load_matrix())
        ),
        "settings": lambda: check_settings(probe),
        "database": lambda: check_database(project, probe, fleet),
        "migrations": lambda: check_migrations(project),
        "codemods": lambda: check_codemods(project),
    }
    for family, check in families.items():
        with on_step(f"doctor: checking {family}"):
            found = check()
        report.checks[family] = "findings" if found else "ok"
        report.findings.extend(found)
    if fleet is None:
        report.notes.append("database: no --fleet given, so only the database name was checked")
    return report
