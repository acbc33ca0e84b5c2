"""One ``spaps update`` run: find the service, plan, report, apply unless told not to write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spaps_cli.errors import ExitCode, UsageError
from spaps_cli.update.engine import REPORTED, UpdatePlan, plan_update
from spaps_cli.update.versions import TemplateVersions, version_key


def run_update(
    service: Path,
    *,
    to: str | None,
    check: bool,
    diff: bool,
    dry_run: bool,
    json_output: bool,
    versions: TemplateVersions | None = None,
) -> int:
    """Exit code: 0 current or updated cleanly, 1 behind (``--check``), 3 conflicts left."""
    from spaps_cli import console
    from spaps_cli.project import find_project

    if not service.is_dir():
        raise UsageError(f"{service} is not a directory", hint="pass the service's directory")
    project = find_project(service)
    versions = versions or TemplateVersions.installed()
    if check:
        return _check(project, versions, to, json_output)
    update = plan_update(project, versions, to=to)
    writes = not (diff or dry_run)
    resolutions = update.plan.resolve()
    if writes and resolutions:
        update.plan.apply(resolutions)
    payload = _payload(update, dry_run=not writes)
    if json_output:
        if diff:
            payload["diff"] = "".join(r.diff(update.plan.root) for r in resolutions)
        console.emit_json(payload)
    else:
        for outcome in update.files:
            verb = outcome.outcome if writes else f"would {outcome.outcome}"
            where = outcome.path
            if outcome.lines:
                where = ", ".join(f"{outcome.path}:{line}" for line in outcome.lines)
            console.status(verb, f"{where}  {outcome.detail}".rstrip())
        if diff:
            for resolution in resolutions:
                console.print_diff(resolution.diff(update.plan.root))
        console.info(_summary(update, writes=writes))
    return ExitCode.CONFLICT if update.conflicts else ExitCode.OK


def _check(project: Any, versions: TemplateVersions, to: str | None, json_output: bool) -> int:
    from spaps_cli import console
    from spaps_cli.update.engine import recorded_version, target_version

    source = recorded_version(project)
    target = target_version(project, versions, to)
    behind = version_key(target) - version_key(source)
    if json_output:
        console.emit_json(
            {"command": "update", "check": True, "from": source, "to": target, "behind": behind}
        )
    elif behind:
        plural = "s" if behind != 1 else ""
        console.error(
            f"{project.root.name} is at template version {source}, the CLI's is {target}"
            f" ({behind} version{plural} behind); run 'spaps update'"
        )
    else:
        console.info(f"{project.root.name} is at template version {target}: up to date")
    return ExitCode.CHECK_FAILED if behind else ExitCode.OK


def _payload(update: UpdatePlan, *, dry_run: bool) -> dict[str, Any]:
    return {
        "command": "update",
        "service": str(update.project.root),
        "from": update.source,
        "to": update.target,
        "dry_run": dry_run,
        "recorded": not update.conflicts and not update.up_to_date,
        "files": [
            {"path": f.path, "outcome": f.outcome, "lines": list(f.lines), "detail": f.detail}
            for f in update.files
        ],
        "conflicts": [
            {"path": f.path, "line": line} for f in update.conflicts for line in f.lines or (1,)
        ],
    }


def _summary(update: UpdatePlan, *, writes: bool) -> str:
    if update.up_to_date:
        return f"template version {update.target}: up to date, nothing to do"
    reported = [f for f in update.files if f.outcome in REPORTED]
    if update.conflicts:
        count = len(update.conflicts)
        return (
            f"{count} file{'s' if count != 1 else ''} left with conflict markers; resolve them and"
            f" re-run 'spaps update' to record template version {update.target}"
        )
    verb = "updated" if writes else "would update"
    extra = f" ({len(reported)} reported)" if reported else ""
    return f"{verb} template {update.source} -> {update.target}{extra}"
