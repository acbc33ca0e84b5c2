"""One ``spaps update`` run, over one service or a fleet: plan, report, apply unless told not to.

A fleet (``--fleet DIR``) is every service ``spaps doctor --fleet`` knows about under ``DIR``
(:func:`spaps_cli.fleet.records.fleet_records`); each is updated on its own (a conflict or an
error in one does not stop the others) and the run ends with one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spaps_cli.errors import ExitCode, SpapsError, UsageError
from spaps_cli.update.engine import REPORTED, UpdatePlan, plan_update
from spaps_cli.update.versions import TemplateVersions, version_key


@dataclass(frozen=True)
class Mode:
    to: str | None
    check: bool
    diff: bool
    dry_run: bool
    json_output: bool

    @property
    def writes(self) -> bool:
        return not (self.check or self.diff or self.dry_run)


def run_update(
    service: Path,
    *,
    to: str | None,
    check: bool,
    diff: bool,
    dry_run: bool,
    json_output: bool,
    fleet: Path | None = None,
    versions: TemplateVersions | None = None,
) -> int:
    """Exit code: 0 current or updated cleanly, 1 behind (``--check``), 3 conflicts left."""
    mode = Mode(to, check, diff, dry_run, json_output)
    versions = versions or TemplateVersions.installed()
    if fleet is not None:
        return _run_fleet(fleet, mode, versions)
    from spaps_cli import console
    from spaps_cli.project import find_project

    if not service.is_dir():
        raise UsageError(f"{service} is not a directory", hint="pass the service's directory")
    project = find_project(service)
    if check:
        payload, code = _check(project, versions, to)
        if json_output:
            console.emit_json(payload)
        elif code:
            console.error(payload["message"])
        else:
            console.info(payload["message"])
        return code
    update, payload = _update(project, versions, mode, verbose=not json_output)
    if json_output:
        console.emit_json(payload)
    else:
        console.info(_summary(update, writes=mode.writes))
    return ExitCode.CONFLICT if update.conflicts else ExitCode.OK


def _update(
    project: Any, versions: TemplateVersions, mode: Mode, *, verbose: bool
) -> tuple[UpdatePlan, dict[str, Any]]:
    """Plan, apply unless ``mode`` writes nothing; print the per-file lines when ``verbose``."""
    from spaps_cli import console

    update = plan_update(project, versions, to=mode.to)
    resolutions = update.plan.resolve()
    if mode.writes and resolutions:
        update.plan.apply(resolutions)
    payload = _payload(update, dry_run=not mode.writes)
    if mode.diff and not verbose:
        payload["diff"] = "".join(r.diff(update.plan.root) for r in resolutions)
    if verbose:
        for outcome in update.files:
            verb = outcome.outcome if mode.writes else f"would {outcome.outcome}"
            where = outcome.path
            if outcome.lines:
                where = ", ".join(f"{outcome.path}:{line}" for line in outcome.lines)
            console.status(verb, f"{where}  {outcome.detail}".rstrip())
        if mode.diff:
            for resolution in resolutions:
                console.print_diff(resolution.diff(update.plan.root))
    return update, payload


def _check(project: Any, versions: TemplateVersions, to: str | None) -> tuple[dict[str, Any], int]:
    from spaps_cli.update.engine import recorded_version, target_version

    source = recorded_version(project)
    target = target_version(project, versions, to)
    behind = version_key(target) - version_key(source)
    name = project.root.name
    if behind:
        plural = "s" if behind != 1 else ""
        message = (
            f"{name} is at template version {source}, the CLI's is {target}"
            f" ({behind} version{plural} behind); run 'spaps update'"
        )
    else:
        message = f"{name} is at template version {target}: up to date"
    payload = {
        "command": "update",
        "check": True,
        "service": str(project.root),
        "from": source,
        "to": target,
        "behind": behind,
        "message": message,
    }
    return payload, ExitCode.CHECK_FAILED if behind else ExitCode.OK


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


def fleet_roots(fleet: Path) -> list[Path]:
    """Every service on record under ``fleet`` that is on disk, once each, in order."""
    from spaps_cli.fleet.records import fleet_records

    if not fleet.exists():
        raise UsageError(f"--fleet {fleet}: no such directory", hint="pass the fleet's directory")
    roots: list[Path] = []
    for record in fleet_records(fleet, exclude=fleet / ".no-service"):
        if (record.root / "pyproject.toml").is_file() and record.root not in roots:
            roots.append(record.root)
    if not roots:
        raise UsageError(
            f"--fleet {fleet}: no service with a [tool.spaps] table in it",
            hint="pass the directory that holds the services (one per subdirectory)",
        )
    return roots


def _run_fleet(fleet: Path, mode: Mode, versions: TemplateVersions) -> int:
    from spaps_cli import console
    from spaps_cli.project import find_project

    rows: list[dict[str, Any]] = []
    codes: list[int] = []
    for root in fleet_roots(fleet):
        row: dict[str, Any] = {"service": root.name, "directory": str(root)}
        try:
            project = find_project(root)
            if mode.check:
                payload, code = _check(project, versions, mode.to)
                row.update(
                    {"from": payload["from"], "to": payload["to"], "behind": payload["behind"]}
                )
                row["result"] = f"{payload['behind']} behind" if code else "up to date"
            else:
                update, payload = _update(project, versions, mode, verbose=False)
                code = ExitCode.CONFLICT if update.conflicts else ExitCode.OK
                row.update({"from": update.source, "to": update.target})
                row["conflicts"] = payload["conflicts"]
                row["result"] = _fleet_result(update, writes=mode.writes)
        except SpapsError as error:
            code = error.exit_code
            row["result"] = f"error: {error.message}"
        row["exit_code"] = int(code)
        rows.append(row)
        codes.append(int(code))
    if mode.json_output:
        console.emit_json({"command": "update", "fleet": str(fleet), "services": rows})
    else:
        console.summary(_fleet_table(rows))
        for row in rows:
            for conflict in row.get("conflicts", []):
                console.status(
                    "conflict", f"{row['service']}/{conflict['path']}:{conflict['line']}"
                )
    return _worst(codes)


def _fleet_result(update: UpdatePlan, *, writes: bool) -> str:
    if update.up_to_date:
        return "up to date"
    if update.conflicts:
        return f"{len(update.conflicts)} conflicted"
    return "updated" if writes else "would update"


def _worst(codes: list[int]) -> int:
    """Conflicts over usage errors over ``behind``: the most serious outcome decides."""
    for code in (ExitCode.CONFLICT, ExitCode.FILE_ACCESS, ExitCode.USAGE, ExitCode.CHECK_FAILED):
        if code in codes:
            return int(code)
    return 0


def _fleet_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="spaps update --fleet")
    for column in ("service", "from", "to", "result"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["service"], str(row.get("from", "-")), str(row.get("to", "-")), row["result"]
        )
    return table
