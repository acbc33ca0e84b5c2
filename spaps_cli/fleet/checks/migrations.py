"""Migrations family: ``alembic.ini`` points at a versions directory whose files follow the
``<YYYYMMDDHHMM>_<domain>_<slug>.py`` rule and form one history."""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterable
from pathlib import Path

from spaps_cli.fleet.findings import DoctorContext, Finding, check
from spaps_cli.project import Project


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


@check("migrations")
def migration_files(context: DoctorContext) -> list[Finding]:
    project = context.project
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
