"""``spaps new service``: render ``templates/service`` into a plan, check the destination, apply.

The generator is one pipeline: answers -> context -> rendered plan -> ``[tool.spaps]`` written with
tomlkit -> resolve against the disk -> report -> apply. Everything that can refuse (name,
destination, conflicts, containment of every rendered path) refuses before the first byte is
written, and :meth:`Plan.apply` rolls back what it wrote if a later write fails.

Re-running on a service this command generated reuses the ``created`` timestamp and the
``service-id`` recorded in ``[tool.spaps]`` (they name the initial migration and its revision),
so the same answers render the same bytes and every file reports ``identical``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from spaps_cli import __version__
from spaps_cli.errors import ConflictError, FileAccessError, UsageError
from spaps_cli.generators.migration import SERVICE_ID_PATTERN, new_service_id, revision_id
from spaps_cli.generators.spaps_table import DEFAULT_MIGRATION_DOMAINS
from spaps_cli.generators.wheelhouse import (
    CLI_DISTRIBUTION,
    RUNTIME_DISTRIBUTION,
    WHEELS_DIR,
    Wheel,
    service_wheels,
)
from spaps_cli.names import ServiceName
from spaps_cli.plan import Action, ConflictPolicy, Plan, report

#: Bump when the rendered output changes in a way ``spaps migrate`` may need to know about.
TEMPLATE_VERSION = "1"

#: The runtime versions this CLI's templates are written against: the range of this template
#: version in spaps_cli/compat/matrix.toml (tests/fleet/test_compat.py keeps the two equal).
#: The runtime follows SemVer from 1.0.0 (minors add, majors break), so the range stops at the
#: next major; and its floor, 1.0, is above every release of the other distribution that
#: carries this name on the public index (0.1.0 to 0.9.1), so no resolver can pick one of them.
RUNTIME_REQUIREMENT = "spaps-server-quickstart{extras}>=1.0,<2"

#: The one ruff every generated tool runs: the ``dev`` extra pins it (so CI and ``uv.lock``
#: install exactly this one) and pre-commit's ruff hook uses the matching tag, so a file that
#: passes the hook passes CI. tests/cli/test_service_toolchain.py keeps the two equal.
RUFF_VERSION = "0.17.6"

#: The uv that writes and installs the service's ``uv.lock``: the ``dev`` extra, CI and the
#: Dockerfile all pin this one, so the lock is read by the uv that wrote it.
UV_VERSION = "0.13.9"

#: Template files that exist only when the service has a Celery worker.
CELERY_ONLY = frozenset(
    {
        PurePosixPath("src/{{ package }}/worker.py.jinja"),
        PurePosixPath("tests/test_worker.py.jinja"),
    }
)

#: Template files that exist only when the service opted into pgvector.
PGVECTOR_ONLY = frozenset({PurePosixPath("tests/test_pgvector.py.jinja")})

#: The untracked local settings file, holding this copy's random ``AUTH_LOCAL_SECRET``. Written
#: owner-only when missing and never touched again (not by re-runs, not by ``--force``): it is
#: the developer's file from then on, and a new secret would invalidate their dev tokens.
LOCAL_ENV = ".env"
LOCAL_ENV_TEMPLATE = PurePosixPath(".env.jinja")

CREATED_FORMAT = "%Y%m%d%H%M"
_CREATED_PATTERN = re.compile(r"^\d{12}$")

DEFAULT_DESCRIPTION = "A SPAPS service."

#: Entries that do not make a directory "not empty": `git init svc && spaps new service svc`.
IGNORED_ENTRIES = frozenset({".git", ".hg", ".DS_Store"})


@dataclass(frozen=True)
class ServiceAnswers:
    """Everything the user decides about a new service (recorded in ``[tool.spaps.answers]``)."""

    name: ServiceName
    description: str
    celery: bool = True
    pgvector: bool = False

    @classmethod
    def build(
        cls,
        name: ServiceName,
        *,
        description: str | None = None,
        celery: bool = True,
        pgvector: bool = False,
    ) -> ServiceAnswers:
        text = DEFAULT_DESCRIPTION if description is None else description.strip()
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
            raise UsageError(
                "--description must be a single line of text",
                hint="drop newlines and control characters",
            )
        if len(text) > 300:
            raise UsageError(
                f"--description is {len(text)} characters long; at most 300",
                hint="keep it to one sentence; the README is the place for more",
            )
        return cls(name=name, description=text, celery=celery, pgvector=pgvector)


@dataclass
class ServiceResult:
    """What ``generate_service`` planned and (unless a dry run) did."""

    answers: ServiceAnswers
    root: Path
    display_root: str
    dry_run: bool
    rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(Action(row["action"]).writes for row in self.rows)

    def as_json(self) -> dict[str, Any]:
        return {
            "command": "new service",
            "service": self.answers.name.name,
            "package": self.answers.name.package,
            "directory": str(self.root),
            "dry_run": self.dry_run,
            "changed": self.changed,
            "files": self.rows,
        }


def generate_service(
    answers: ServiceAnswers,
    *,
    destination: Path,
    policy: ConflictPolicy = ConflictPolicy.ERROR,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ServiceResult:
    """Plan the service, print the plan, and write it unless ``dry_run``."""
    plan = plan_service(answers, destination=destination, policy=policy, now=now)
    resolutions = plan.resolve(policy)
    conflicts = [r for r in resolutions if r.action is Action.CONFLICT]
    result = ServiceResult(
        answers=answers, root=plan.root, display_root=_display(destination), dry_run=dry_run
    )
    if dry_run or conflicts:
        # Conflicts are listed before the error so the user sees every file in the way.
        result.rows = report(plan, resolutions, dry_run=dry_run)
        if conflicts and not dry_run:
            plan.apply(resolutions)  # raises ConflictError with the hint
        return result
    plan.apply(resolutions)
    result.rows = report(plan, resolutions, dry_run=False)
    return result


def plan_service(
    answers: ServiceAnswers,
    *,
    destination: Path,
    policy: ConflictPolicy = ConflictPolicy.ERROR,
    now: datetime | None = None,
) -> Plan:
    """The complete in-memory plan of the service; reads the destination, never writes."""
    from spaps_cli.generators.render import render_tree
    from spaps_cli.generators.templates_location import template_tree

    previous = inspect_destination(destination, answers.name, policy)
    previous_created = str(previous.get("created") or "") if previous else ""
    if not _CREATED_PATTERN.fullmatch(previous_created):
        # Local time, like Alembic's own file_template, so later migrations sort after this one.
        previous_created = (now or datetime.now()).strftime(CREATED_FORMAT)
    created = previous_created
    recorded_id = str(previous.get("service-id") or "") if previous else ""
    if SERVICE_ID_PATTERN.fullmatch(recorded_id):
        service_id, initial_revision = recorded_id, revision_id(created, recorded_id, "core")
    elif previous:
        # Generated before service ids: its initial revision is in deployed databases already.
        service_id, initial_revision = new_service_id(), f"{created}_core"
    else:
        service_id = new_service_id()
        initial_revision = revision_id(created, service_id, "core")
    plan = Plan(destination)
    wheels = service_wheels()
    context = service_context(
        answers,
        created=created,
        service_id=service_id,
        initial_revision=initial_revision,
        local_auth_secret=new_local_secret(),
        wheels=wheels,
    )
    local_env = destination / LOCAL_ENV
    keep_local_env = local_env.is_symlink() or local_env.exists()

    def include(source: PurePosixPath) -> bool:
        if source == LOCAL_ENV_TEMPLATE:
            return not keep_local_env
        if source in CELERY_ONLY:
            return answers.celery
        if source in PGVECTOR_ONLY:
            return answers.pgvector
        return True

    render_tree(template_tree("service"), context, plan, include=include)
    if not keep_local_env:
        rendered_env = plan.pending(LOCAL_ENV)
        if rendered_env is not None:
            plan.add(LOCAL_ENV, rendered_env, private=True)
    for wheel in wheels:
        plan.add(wheel.path, wheel.content)
    pyproject = plan.pending("pyproject.toml")
    if pyproject is None:  # pragma: no cover - the template tree always has one
        raise FileAccessError("templates/service has no pyproject.toml.jinja")
    recorded = record_spaps_table(
        pyproject.decode("utf-8"), answers, created, previous or {}, service_id=service_id
    )
    plan.add("pyproject.toml", recorded)
    _register_recorded_domains(plan, answers.name.package, recorded)
    plan.files.sort(key=lambda planned: planned.path)  # report in tree order, pyproject included
    return plan


def _register_recorded_domains(plan: Plan, package: str, pyproject: str) -> None:
    """Render the registry with every domain ``spaps add domain`` recorded, in order.

    The template's registry knows no domains; written as is, a re-run would report a conflict
    and ``--force`` would unregister every domain the table still lists. Replaying the very
    edit ``add domain`` made gives its bytes back, so an untouched service stays ``identical``.
    """
    import tomllib

    from spaps_cli.generators.registry_edit import (
        REGISTRY_PATH,
        RouterRegistration,
        register_router,
    )
    from spaps_cli.names import SNAKE_PATTERN
    from spaps_cli.project import ruff_line_length

    document = tomllib.loads(pyproject)
    domains = [str(d) for d in document["tool"]["spaps"]["domains"]]
    if not domains:
        return
    registry = REGISTRY_PATH.format(package=package)
    planned = plan.pending(registry)
    if planned is None:  # pragma: no cover - the template tree always has one
        raise FileAccessError(f"templates/service has no {registry}")
    source = planned.decode("utf-8")
    for domain in domains:
        if not SNAKE_PATTERN.fullmatch(domain):
            raise UsageError(
                f"pyproject.toml: [tool.spaps] domains lists {domain!r}, which is not a domain"
                " name",
                hint="remove it from [tool.spaps] domains, or fix its spelling",
            )
        source = register_router(
            source,
            RouterRegistration.for_domain(package, domain),
            filename=registry,
            registry_module=f"{package}.api.registry",
            line_length=ruff_line_length(document),
        )
    plan.add(registry, source)


def new_local_secret() -> str:
    """A signing secret for local dev tokens: 256 random bits, URL-safe (fits a ``.env`` line)."""
    import secrets

    return secrets.token_urlsafe(32)


def service_context(
    answers: ServiceAnswers,
    *,
    created: str,
    service_id: str,
    initial_revision: str,
    local_auth_secret: str,
    wheels: list[Wheel],
) -> dict[str, Any]:
    """The variables every service template may use (StrictUndefined: nothing else exists)."""
    wheel_paths = {wheel.distribution: wheel.path for wheel in wheels}
    extras = ["postgres", "redis", "server"]
    if answers.pgvector:
        extras.append("pgvector")
    return {
        "service": answers.name.name,
        "package": answers.name.package,
        "title": answers.name.title,
        "class_prefix": answers.name.class_prefix,
        "description": answers.description,
        "celery": answers.celery,
        "pgvector": answers.pgvector,
        "created": created,
        "service_id": service_id,
        "initial_revision": initial_revision,
        "local_auth_secret": local_auth_secret,
        "cli_version": __version__,
        "template_version": TEMPLATE_VERSION,
        "runtime_requirement": RUNTIME_REQUIREMENT.format(extras=f"[{','.join(extras)}]"),
        "runtime_testing_requirement": RUNTIME_REQUIREMENT.format(extras="[testing]"),
        "python_version": "3.11",
        "ruff_version": RUFF_VERSION,
        "uv_version": UV_VERSION,
        "wheels_dir": WHEELS_DIR,
        "runtime_wheel": wheel_paths[RUNTIME_DISTRIBUTION],
        "cli_wheel": wheel_paths[CLI_DISTRIBUTION],
    }


def record_spaps_table(
    pyproject: str,
    answers: ServiceAnswers,
    created: str,
    previous: dict[str, Any],
    *,
    service_id: str,
) -> str:
    """Fill ``[tool.spaps]`` with tomlkit (exact TOML quoting, the template's comments kept).

    ``previous`` is the table an earlier generation of this service recorded: the domains that
    ``spaps add domain`` added since are kept, so re-generating never forgets them.
    """
    import tomlkit

    document = tomlkit.parse(pyproject)
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    spaps = tool.setdefault("spaps", tomlkit.table())
    spaps["service"] = answers.name.name
    spaps["package"] = answers.name.package
    spaps["cli-version"] = __version__
    spaps["template-version"] = TEMPLATE_VERSION
    spaps["created"] = created
    spaps["service-id"] = service_id
    domains = [str(d) for d in previous.get("domains", [])]
    migration_domains = [str(d) for d in previous.get("migration-domains", [])]
    spaps["domains"] = tomlkit.array()
    spaps["domains"].extend(domains)
    spaps["migration-domains"] = tomlkit.array()
    spaps["migration-domains"].extend(migration_domains or DEFAULT_MIGRATION_DOMAINS)
    recorded = tomlkit.table()
    recorded["description"] = answers.description
    recorded["celery"] = answers.celery
    recorded["pgvector"] = answers.pgvector
    recorded.add(tomlkit.nl())
    spaps["answers"] = recorded
    return tomlkit.dumps(document)


def inspect_destination(
    destination: Path, name: ServiceName, policy: ConflictPolicy
) -> dict[str, Any] | None:
    """Refuse a destination that is not ours; return the recorded ``[tool.spaps]`` of a re-run.

    An empty or missing directory is fine; a previous generation of the *same* service is fine
    (that is how re-runs, ``--force`` and ``--skip`` work); anything else needs ``--force``.
    """
    from spaps_cli.paths import resolve

    resolve(destination, what="--dir")  # a symlink loop is an error, not a missing directory
    try:
        if not destination.exists():
            _check_creatable(destination)
            return None
        if not destination.is_dir():
            raise UsageError(
                f"{destination} exists and is not a directory",
                hint="pass --dir with a directory path",
            )
        entries = [entry for entry in os.listdir(destination) if entry not in IGNORED_ENTRIES]
    except PermissionError as exc:
        raise FileAccessError(
            f"cannot read {destination}: permission denied", hint="check its permissions"
        ) from exc
    if not entries:
        return None
    recorded = _recorded_spaps(destination)
    if recorded is not None:
        other = recorded.get("service")
        if other == name.name:
            return recorded
        if policy is not ConflictPolicy.FORCE:
            raise ConflictError(
                f"{destination} already holds the spaps service {other!r}, not {name.name!r}",
                hint="pick another --dir, or re-run with --force to generate over it",
            )
        return None
    if policy is not ConflictPolicy.FORCE:
        raise ConflictError(
            f"{destination} is not empty and was not generated by spaps for {name.name!r}",
            hint="pick an empty --dir, or re-run with --force to generate into it",
        )
    return None


def _check_creatable(destination: Path) -> None:
    """Fail early, with the real reason, when ``destination`` cannot be created."""
    ancestor = destination.absolute().parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise FileAccessError(
            f"cannot create {destination}: {ancestor} is a file, not a directory",
            hint="pick another --dir",
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise FileAccessError(
            f"cannot create {destination}: {ancestor} is not writable",
            hint="pick another --dir or fix the permissions",
        )


def _recorded_spaps(destination: Path) -> dict[str, Any] | None:
    pyproject = destination / "pyproject.toml"
    if not pyproject.is_file():
        return None
    from spaps_cli.project import read_pyproject

    try:
        document = read_pyproject(pyproject)
    except UsageError:
        return None  # unreadable TOML: treat as a foreign project
    from spaps_cli.project import spaps_table

    tool = document.get("tool", {})
    if not isinstance(tool, Mapping) or "spaps" not in tool:
        return None
    return spaps_table(document, pyproject)


def _display(destination: Path) -> str:
    """How to name the destination in the "next steps" line: relative when it is below cwd."""
    absolute = destination.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return str(absolute)
