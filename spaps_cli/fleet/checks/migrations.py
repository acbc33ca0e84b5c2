"""Migrations family: ``alembic.ini`` is readable and points at a versions directory whose files
follow the ``<YYYYMMDDHHMM>_<domain>_<slug>.py`` rule and form one history (no cycle, no
dangling ``down_revision``, one head), as Alembic itself judges them."""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterable
from pathlib import Path

from spaps_cli.fleet.findings import DoctorContext, Finding, check
from spaps_cli.project import Project
from spaps_cli.revision_graph import RevisionGraph, read_graph


class UnreadableConfig(ValueError):
    """``alembic.ini`` exists but Alembic could not use it (the message says why)."""


def script_location(project: Project) -> str | None:
    """``script_location`` from ``alembic.ini`` as Alembic's ``Config`` parses it: a plain
    ``ConfigParser`` with ``here`` set, ``%`` interpolation on, duplicate keys refused.

    ``None`` when there is no ``alembic.ini``; :class:`UnreadableConfig` when Alembic would stop
    at it (a parse error, an undefined ``%(name)s``, not UTF-8, no ``[alembic]
    script_location``). Never a guessed default: that is how a broken ini passed as "ok".
    """
    ini = project.root / "alembic.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser(defaults={"here": str(project.root)})
    try:
        with ini.open(encoding="utf-8") as handle:
            parser.read_file(handle)
        location = parser.get("alembic", "script_location", fallback=None)
    except (configparser.Error, UnicodeDecodeError, OSError) as error:
        raise UnreadableConfig(" ".join(f"{type(error).__name__}: {error}".split())) from error
    if not location or not location.strip():
        raise UnreadableConfig("No 'script_location' key found in configuration.")
    return location.strip()


def versions_directory(project: Project) -> Path | None:
    """``<script_location>/versions`` from ``alembic.ini`` (``%(here)s`` resolved)."""
    location = script_location(project)
    if location is None:
        return None
    return _script_directory(project, location) / "versions"


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
    try:
        versions = versions_directory(project)
    except UnreadableConfig:
        return []  # reported by alembic_history
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
        # Heads are judged with the rest of the graph, by alembic_history.
        if not problem.startswith("several heads")
    ]


_CONFIG_HINT = (
    "fix alembic.ini so `alembic heads` runs (spaps new service renders a working one:"
    " script_location = %(here)s/migrations)"
)


@check("migrations")
def alembic_history(context: DoctorContext) -> list[Finding]:
    """``alembic.ini`` and the revision graph, judged by Alembic in the service's interpreter
    (the probe's ``alembic`` answer); by :mod:`spaps_cli.revision_graph` when Alembic could not
    run there (no interpreter, no Alembic installed)."""
    view = context.probe.get("alembic")
    if not isinstance(view, dict) or "unavailable" in view:
        context.notes.append(
            "migrations: Alembic could not run in the service's Python, so spaps read"
            " alembic.ini and the revision graph itself"
        )
        return _history_read_by_spaps(context.project)
    if view.get("missing"):
        return []  # migration_files says alembic.ini is missing
    if "config_error" in view:
        return [_unreadable(str(view["config_error"]))]
    graph = _graph_or_none(context.project)
    if "cycle" in view:
        return [_cycle(list(view["cycle"]), graph)]
    if "dangling" in view:
        return [_dangling(missing, graph) for missing in view["dangling"]]
    if "history_error" in view:
        return [
            Finding(
                "migrations.unloadable",
                "error",
                f"Alembic could not load the migrations: {view['history_error']}",
                "fix the migration it names so `alembic heads` runs",
            )
        ]
    heads = [str(head) for head in view.get("heads", [])]
    return _heads(heads)


def _graph_or_none(project: Project) -> RevisionGraph | None:
    try:
        versions = versions_directory(project)
    except UnreadableConfig:
        return None
    return read_graph(versions) if versions is not None and versions.is_dir() else None


def _history_read_by_spaps(project: Project) -> list[Finding]:
    try:
        versions = versions_directory(project)
    except UnreadableConfig as error:
        return [_unreadable(str(error))]
    if versions is None or not versions.is_dir():
        return []  # migration_files says what is missing
    graph = read_graph(versions)
    dangling = graph.dangling()
    if dangling:
        return [_dangling(missing, graph) for missing in dict.fromkeys(m for _, m in dangling)]
    cycle = graph.in_cycles()
    if cycle:
        return [_cycle([revision.revision for revision in cycle], graph)]
    return _heads([revision.revision for revision in graph.heads()])


def _unreadable(reason: str) -> Finding:
    return Finding(
        "migrations.config-unreadable",
        "error",
        f"alembic.ini: Alembic cannot use it: {reason}",
        _CONFIG_HINT,
    )


def _files(revisions: list[str], graph: RevisionGraph | None) -> str:
    by_id = graph.by_id if graph is not None else {}
    return ", ".join(by_id[rev].filename if rev in by_id else rev for rev in revisions)


def _cycle(revisions: list[str], graph: RevisionGraph | None) -> Finding:
    return Finding(
        "migrations.cycle",
        "error",
        f"the revision history has a cycle: {_files(sorted(revisions), graph)}",
        "fix down_revision in those files so the history runs from one base to one head",
    )


def _dangling(missing: str, graph: RevisionGraph | None) -> Finding:
    users = [r.filename for r, down in (graph.dangling() if graph else []) if down == missing]
    where = f" (down_revision of {', '.join(users)})" if users else ""
    return Finding(
        "migrations.dangling",
        "error",
        f"revision {missing!r} is not in the history{where}",
        "point down_revision at an existing revision (alembic history lists them), or restore"
        " the deleted migration",
    )


def _heads(heads: list[str]) -> list[Finding]:
    if len(heads) <= 1:
        return []
    return [
        Finding(
            "migrations.multiple-heads",
            "error",
            f"{len(heads)} heads: {', '.join(sorted(heads))}",
            "merge them (`alembic merge heads`) or rebase one branch onto the other",
        )
    ]
