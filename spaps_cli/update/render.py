"""Rendering a service's recorded answers at one template version, in memory.

Both sides of an update come from here: the *base* (what ``spaps new service`` wrote, at the
recorded version) and the *target* (the same answers at the new version). The recorded
``created`` timestamp, domains and CLI version are replayed, so the base of an untouched service
is byte for byte the service on disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from spaps_cli.errors import UsageError


def recorded_answers(spaps: Mapping[str, Any], where: Path) -> Any:
    """The :class:`ServiceAnswers` recorded in ``[tool.spaps]``."""
    from spaps_cli.generators.service import ServiceAnswers
    from spaps_cli.names import service_name

    service = spaps.get("service")
    if not isinstance(service, str):
        raise UsageError(f"{where}: [tool.spaps] has no 'service'", hint='add service = "name"')
    answers = spaps.get("answers", {})
    return ServiceAnswers.build(
        service_name(service),
        description=str(answers.get("description")) if "description" in answers else None,
        celery=bool(answers.get("celery", True)),
        pgvector=bool(answers.get("pgvector", False)),
    )


def render_service_at(
    tree: Path,
    spaps: Mapping[str, Any],
    *,
    root: Path,
    template_version: str,
    cli_version: str,
) -> dict[str, bytes]:
    """Every file ``tree`` renders for the recorded answers: relative path -> content."""
    from spaps_cli.generators.render import render_tree
    from spaps_cli.generators.service import (
        CELERY_ONLY,
        LOCAL_ENV_TEMPLATE,
        PGVECTOR_ONLY,
        _register_recorded_domains,
        record_spaps_table,
        service_context,
    )
    from spaps_cli.plan import Plan

    where = root / "pyproject.toml"
    answers = recorded_answers(spaps, where)
    created = str(spaps.get("created") or "")
    if not created.isdigit():
        raise UsageError(
            f"{where}: [tool.spaps] created is {created!r}, expected the 12-digit timestamp"
            " spaps new service recorded",
            hint="restore it from the initial migration's file name (migrations/versions/)",
        )
    from spaps_cli.generators.migration import SERVICE_ID_PATTERN, revision_id, service_id_of
    from spaps_cli.generators.wheelhouse import Wheel, service_wheel_filenames

    # The identity the service was generated with: its recorded id (a service from before ids
    # were recorded kept the plain ``<created>_core`` revision, and gets the stable stand-in
    # ``add domain`` uses), never a new random one, so both renders agree with the disk.
    service_id = service_id_of(dict(spaps), answers.name.package)
    recorded_id = SERVICE_ID_PATTERN.fullmatch(str(spaps.get("service-id") or "")) is not None
    initial_revision = (
        revision_id(created, service_id, "core") if recorded_id else f"{created}_core"
    )
    context = service_context(
        answers,
        created=created,
        service_id=service_id,
        initial_revision=initial_revision,
        local_auth_secret="",  # .env is the team's own file: never rendered by an update
        # the templates only name the wheels; an update never writes wheels/
        wheels=[Wheel(name, b"") for name in service_wheel_filenames()],
    )
    context["template_version"] = template_version
    context["cli_version"] = cli_version

    def include(source: Any) -> bool:
        if source == LOCAL_ENV_TEMPLATE:
            return False
        if source in CELERY_ONLY:
            return bool(answers.celery)
        if source in PGVECTOR_ONLY:
            return bool(answers.pgvector)
        return True

    plan = Plan(root)
    render_tree(tree, context, plan, include=include)
    pyproject = plan.pending("pyproject.toml")
    if pyproject is None:
        raise UsageError(f"template tree {tree} has no pyproject.toml.jinja")
    # [tool.spaps] as the service records it now, on both sides: the engine alone moves its
    # versions, and only when nothing is left conflicted.
    recorded = _versions_recorded(
        record_spaps_table(
            pyproject.decode("utf-8"), answers, created, dict(spaps), service_id=service_id
        ),
        template_version=str(spaps.get("template-version", template_version)),
        cli_version=str(spaps.get("cli-version", cli_version)),
    )
    plan.add("pyproject.toml", recorded)
    _register_recorded_domains(plan, answers.name.package, recorded)
    return {planned.relative_to(plan.root): planned.content for planned in plan.files}


def _versions_recorded(pyproject: str, *, template_version: str, cli_version: str) -> str:
    """``[tool.spaps]`` with these versions (the generator records the current CLI's)."""
    import tomlkit

    document = tomlkit.parse(pyproject)
    spaps: Any = document["tool"]["spaps"]
    spaps["cli-version"] = cli_version
    spaps["template-version"] = template_version
    return tomlkit.dumps(document)
