"""``spaps add domain``: render a starter into the service and register it, in one plan.

The pipeline mirrors ``new service``: find the service -> validate the name against what the
service already has -> pick the starter -> plan the rendered files, the first migration, the
edit of ``api/registry.py`` (:mod:`~spaps_cli.generators.registry_edit`) and the tomlkit edit of
``[tool.spaps]`` -> resolve against
the disk -> report -> apply. Every refusal (name, unparsable registry, two migration heads,
conflicting files) happens before anything is written; a dry run prints the same plan with the
diff of each edit.

Re-running for a domain already recorded in ``[tool.spaps] domains`` is not a name clash: it
renders the same bytes (the migration slot is reused), the registry and the table already hold
the domain, so every file reports ``identical``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from spaps_cli import names
from spaps_cli.errors import UsageError
from spaps_cli.generators.registry_edit import REGISTRY_PATH
from spaps_cli.generators.source_text import read_source
from spaps_cli.generators.starters import Starter, choose_starter
from spaps_cli.plan import Action, ConflictPolicy, Plan, report
from spaps_cli.project import Project, find_project, ruff_line_length

#: Template files that only make sense when the service runs a Celery worker.
_CELERY_ONLY = re.compile(r"(^|/)tasks\.py\.jinja$")


@dataclass
class GeneratorResult:
    """What ``add domain`` / ``add task`` planned and (unless a dry run) did."""

    command: str
    subject: dict[str, str]
    root: Path
    dry_run: bool
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(Action(row["action"]).writes for row in self.rows)

    def as_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            **self.subject,
            "directory": str(self.root),
            "dry_run": self.dry_run,
            "changed": self.changed,
            "files": self.rows,
        }


def generate_domain(
    raw_name: str,
    *,
    start: Path,
    starter: str | None = None,
    policy: ConflictPolicy = ConflictPolicy.ERROR,
    dry_run: bool = False,
    now: datetime | None = None,
    diffs: bool = True,
) -> GeneratorResult:
    """Plan the domain, print the plan, and write it unless ``dry_run``."""
    project = find_project(start, what="--dir")
    plan, chosen, name = plan_domain(project, raw_name, starter=starter, policy=policy, now=now)
    result = GeneratorResult(
        command="add domain",
        subject={"domain": name, "starter": chosen.name, "service": _service(project)},
        root=plan.root,
        dry_run=dry_run,
    )
    result.rows = apply_and_report(plan, policy, dry_run=dry_run, diffs=diffs)
    return result


def apply_and_report(
    plan: Plan, policy: ConflictPolicy, *, dry_run: bool, diffs: bool = True
) -> list[dict[str, str]]:
    """Resolve, then print and apply; conflicts are listed before the error is raised.

    ``diffs=False`` (``--json``) puts a dry run's diffs into the rows instead of on stdout.
    """
    resolutions = plan.resolve(policy)
    conflicts = any(r.action is Action.CONFLICT for r in resolutions)
    if dry_run or conflicts:
        rows = report(plan, resolutions, dry_run=dry_run, diffs=diffs)
        if conflicts and not dry_run:
            plan.apply(resolutions)  # raises ConflictError with the --force/--skip hint
        return rows
    plan.apply(resolutions)
    return report(plan, resolutions, dry_run=False)


def plan_domain(
    project: Project,
    raw_name: str,
    *,
    starter: str | None = None,
    policy: ConflictPolicy = ConflictPolicy.ERROR,
    now: datetime | None = None,
) -> tuple[Plan, Starter, str]:
    """The complete in-memory plan for one domain; reads the service, never writes."""
    from spaps_cli.generators.registry_edit import RouterRegistration, register_router
    from spaps_cli.generators.render import render_tree
    from spaps_cli.generators.spaps_table import record_domain
    from spaps_cli.generators.templates_location import template_tree

    package = project.package
    domains_dir = _domains_dir(project)
    name = validate_domain_name(project, raw_name, domains_dir=domains_dir, policy=policy)
    chosen = choose_starter(name, starter)
    celery = _uses_celery(project)
    context = render_context(project, name, chosen, now=now or datetime.now(UTC))

    plan = Plan(project.root)
    render_tree(
        template_tree(f"domain/{chosen.name}"),
        context,
        plan,
        include=lambda source: renders(source, celery=celery),
    )

    registry = REGISTRY_PATH.format(package=package)
    registry_source = read_source(
        project.root / registry,
        display=registry,
        hint="restore it from the template",
        within=project.root,
    )
    registered = register_router(
        registry_source.text,
        RouterRegistration.for_domain(package, name),
        filename=registry,
        registry_module=f"{package}.api.registry",
        line_length=ruff_line_length(project.document),
    )
    plan.add(registry, registry_source.restore(registered), is_edit=True)
    pyproject = read_source(project.pyproject_path, display="pyproject.toml", within=project.root)
    recorded = record_domain(pyproject.text, name, filename="pyproject.toml")
    plan.add("pyproject.toml", pyproject.restore(recorded), is_edit=True)
    return plan, chosen, name


def render_context(
    project: Project, name: str, starter: Starter, *, now: datetime
) -> dict[str, Any]:
    """Everything the domain templates render with, the first migration's slot included.

    Public so that ``bench/add_domain.py`` gives copier the very same answers.
    """
    from spaps_cli.generators.migration import VERSIONS_DIR, first_migration_slot, service_id_of

    slot = first_migration_slot(
        project.root / VERSIONS_DIR,
        name,
        now=now,
        service_id=service_id_of(project.spaps, project.package),
    )
    context = domain_context(project, name, starter, celery=_uses_celery(project))
    context.update(
        migration_stem=slot.stem,
        revision=slot.revision,
        down_revision=slot.down_revision,
        create_date=slot.create_date,
    )
    return context


def renders(source: PurePosixPath, *, celery: bool) -> bool:
    """Whether a template file of the starter is rendered (task modules need a worker)."""
    return celery or not _CELERY_ONLY.search(source.as_posix())


def validate_domain_name(
    project: Project, raw_name: str, *, domains_dir: Path, policy: ConflictPolicy
) -> str:
    """The shared validator, fed with what this service already has.

    A domain recorded in ``[tool.spaps]`` is a re-run, not a clash; a domain folder spaps did
    not record (made by hand) is a clash unless ``--force``/``--skip`` says to generate over it.
    """
    recorded = set(project.domains)
    on_disk = {
        child.name
        for child in _children(domains_dir)
        if child.is_dir() and (child / "__init__.py").is_file()
    }
    taken = recorded | on_disk
    if raw_name in recorded or policy is not ConflictPolicy.ERROR:
        taken.discard(raw_name)
    package_dir = project.package_dir
    modules = {
        child.name.removesuffix(".py")
        for child in _children(package_dir)
        if (child.suffix == ".py" or child.is_dir()) and not child.name.startswith(("_", "."))
    }
    return names.domain_name(
        raw_name,
        existing=frozenset(taken),
        service_package=project.package,
        package_modules=frozenset(modules),
        api_modules=_api_modules(package_dir),
    )


def _api_modules(package_dir: Path) -> frozenset[str]:
    """The service's ``api`` modules, on disk and in the template (a deleted one may return)."""
    from spaps_cli.generators.templates_location import template_tree

    directories = (package_dir / "api", template_tree("service") / "src" / "{{ package }}" / "api")
    return frozenset(
        child.name.split(".")[0]
        for directory in directories
        for child in _children(directory)
        if child.name.endswith((".py", ".py.jinja")) and not child.name.startswith(("_", "."))
    )


def domain_context(
    project: Project, name: str, starter: Starter, *, celery: bool
) -> dict[str, Any]:
    """The variables every domain template may use (StrictUndefined: nothing else exists)."""
    class_prefix = "".join(part.capitalize() for part in name.split("_"))
    return {
        "service": _service(project),
        "package": project.package,
        "domain": name,
        "domain_class": class_prefix,
        "domain_title": name.replace("_", " ").capitalize(),
        "domain_path": name.replace("_", "-"),
        "starter": starter.name,
        "tables": starter.table_names(name),
        "celery": celery,
    }


def _domains_dir(project: Project) -> Path:
    domains_dir = project.package_dir / "domains"
    if not (domains_dir / "__init__.py").is_file():
        raise UsageError(
            f"{domains_dir.relative_to(project.root)}/__init__.py is missing: this service has no"
            " domains package",
            hint="restore src/<package>/domains/__init__.py from 'spaps new service'",
        )
    return domains_dir


def _uses_celery(project: Project) -> bool:
    answers = project.spaps.get("answers", {})
    celery = answers.get("celery", True) if isinstance(answers, Mapping) else True
    return bool(celery) and (project.package_dir / "worker.py").is_file()


def _service(project: Project) -> str:
    return str(project.spaps.get("service", project.package))


def _children(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except FileNotFoundError:
        return []
