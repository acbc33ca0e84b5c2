"""One ``spaps update`` run, over one service or a fleet: plan, report, apply unless told not to.

``--runtime X`` moves the runtime instead (:mod:`spaps_cli.update.runtime`); ``--check`` looks at
both: the template version against the CLI's, the runtime against the compatibility matrix's
recommended one.

A fleet (``--fleet DIR``) is every service ``spaps doctor --fleet`` knows about under ``DIR``
(:func:`spaps_cli.fleet.records.fleet_records`); each is updated on its own (a conflict or an
error in one does not stop the others) and the run ends with one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import ExitCode, SpapsError, UsageError
from spaps_cli.update.engine import REPORTED, UpdatePlan, plan_update
from spaps_cli.update.versions import TemplateVersions, version_key

if TYPE_CHECKING:
    from spaps_cli.codemods.runtime_upgrades import UpgradeRegistry
    from spaps_cli.fleet.compat import CompatibilityMatrix
    from spaps_cli.project import Project
    from spaps_cli.update.runtime import RuntimeUpdatePlan


@dataclass(frozen=True)
class Mode:
    to: str | None
    check: bool
    diff: bool
    dry_run: bool
    json_output: bool
    runtime: str | None = None

    @property
    def writes(self) -> bool:
        return not (self.check or self.diff or self.dry_run)


@dataclass
class Sources:
    """Where a run's knowledge comes from: the CLI's own, or what a test supplies."""

    versions: TemplateVersions
    matrix_override: CompatibilityMatrix | None = None
    registry_override: UpgradeRegistry | None = field(default=None)

    @cached_property
    def matrix(self) -> CompatibilityMatrix:
        from spaps_cli.fleet.compat import load_matrix

        return self.matrix_override or load_matrix()

    @cached_property
    def registry(self) -> UpgradeRegistry:
        from spaps_cli.codemods.runtime_upgrades import UpgradeRegistry

        return self.registry_override or UpgradeRegistry.installed()


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
    runtime: str | None = None,
    matrix: CompatibilityMatrix | None = None,
    registry: UpgradeRegistry | None = None,
) -> int:
    """Exit code: 0 current or updated cleanly, 1 behind (``--check``), 3 conflicts or
    follow-ups left."""
    if runtime is not None and to is not None:
        raise UsageError(
            "--runtime and --to cannot be combined",
            hint="update the template first ('spaps update --to N'), then 'spaps update --runtime'",
        )
    if runtime is not None:
        from spaps_cli.update.runtime import parse_runtime_version

        parse_runtime_version(runtime)  # a bad version is one error, not one per fleet service
    mode = Mode(to, check, diff, dry_run, json_output, runtime)
    sources = Sources(versions or TemplateVersions.installed(), matrix, registry)
    if fleet is not None:
        return _run_fleet(fleet, mode, sources)
    from spaps_cli import console
    from spaps_cli.project import find_project

    if not service.is_dir():
        raise UsageError(f"{service} is not a directory", hint="pass the service's directory")
    project = find_project(service)
    if runtime is not None:
        runtime_update, payload, code = _runtime_update(
            project, sources, mode, verbose=not json_output
        )
        if json_output:
            console.emit_json(payload)
        elif check:
            (console.error if code else console.info)(payload["message"])
        else:
            console.info(_runtime_summary(runtime_update, writes=mode.writes))
        return code
    if check:
        payload, code = _check(project, sources, to)
        if json_output:
            console.emit_json(payload)
        elif code:
            console.error(payload["message"])
        else:
            console.info(payload["message"])
        return code
    update, payload = _update(project, sources, mode, verbose=not json_output)
    if json_output:
        console.emit_json(payload)
    else:
        console.info(_summary(update, writes=mode.writes))
    return _update_code(update)


def _update_code(update: UpdatePlan) -> int:
    """Conflicts, or follow-ups of the runtime upgrade the template's pin took: 3."""
    runtime_left = update.runtime is not None and update.runtime.follow_ups
    return int(ExitCode.CONFLICT if update.conflicts or runtime_left else ExitCode.OK)


def _update(
    project: Any, sources: Sources, mode: Mode, *, verbose: bool
) -> tuple[UpdatePlan, dict[str, Any]]:
    """Plan, apply unless ``mode`` writes nothing; print the per-file lines when ``verbose``."""
    from spaps_cli import console

    update = plan_update(project, sources.versions, to=mode.to, registry=sources.registry)
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
        if update.runtime is not None:
            _print_runtime(update.runtime, writes=mode.writes)
        if mode.diff:
            for resolution in resolutions:
                console.print_diff(resolution.diff(update.plan.root))
    return update, payload


def _check(project: Any, sources: Sources, to: str | None) -> tuple[dict[str, Any], int]:
    """Behind the CLI's template version, or behind the matrix's recommended runtime."""
    from spaps_cli.update.engine import recorded_version, target_version
    from spaps_cli.update.runtime import check_runtime

    source = recorded_version(project)
    target = target_version(project, sources.versions, to)
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
    runtime = check_runtime(project, sources.matrix)
    if runtime.behind:
        message = runtime.message if not behind else f"{message}; {runtime.message}"
    payload = {
        "command": "update",
        "check": True,
        "service": str(project.root),
        "from": source,
        "to": target,
        "behind": behind,
        "runtime": {
            "current": str(runtime.current) if runtime.current else None,
            "recommended": str(runtime.recommended) if runtime.recommended else None,
            "behind": runtime.behind,
            "message": runtime.message,
        },
        "message": message,
    }
    failed = behind or runtime.behind
    return payload, ExitCode.CHECK_FAILED if failed else ExitCode.OK


def _runtime_update(
    project: Project, sources: Sources, mode: Mode, *, verbose: bool
) -> tuple[RuntimeUpdatePlan, dict[str, Any], int]:
    """``--runtime``: plan, apply unless ``mode`` writes nothing, report; the exit code.

    A file the codemods cannot read or parse stops the run before anything is written (the
    upgrade would be half done otherwise); exclude it in ``[tool.spaps.migrate]`` to go on.
    """
    from spaps_cli import console
    from spaps_cli.update.runtime import plan_runtime_upgrade, unmigratable

    assert mode.runtime is not None
    update = plan_runtime_upgrade(
        project, mode.runtime, matrix=sources.matrix, registry=sources.registry
    )
    if update.errors:
        raise unmigratable(update)
    resolutions = update.plan.resolve()
    if mode.writes and resolutions:
        update.plan.apply(resolutions)
    follow_ups = update.follow_ups
    if mode.check:
        code = ExitCode.CHECK_FAILED if (not update.up_to_date or follow_ups) else ExitCode.OK
    else:
        code = ExitCode.CONFLICT if follow_ups else ExitCode.OK
    payload: dict[str, Any] = {
        "command": "update",
        "service": str(project.root),
        "runtime": {"from": str(update.source), "to": str(update.target)},
        "dry_run": not mode.writes,
        "pin": [{"from": old, "to": new} for old, new in update.pin_changes],
        "upgrades": update.upgrades,
        "codemods": update.codemods,
        "changed_files": update.changed_files,
        "findings": [finding.as_json() for finding in update.findings],
        "follow_ups": len(follow_ups),
        "up_to_date": update.up_to_date,
        "exit_code": int(code),
    }
    if mode.check:
        payload["check"] = True
        payload["message"] = _runtime_check_message(update)
    if mode.diff and not verbose:
        payload["diff"] = "".join(r.diff(update.plan.root) for r in resolutions)
    if verbose:
        _print_runtime(update, writes=mode.writes)
        if mode.diff:
            for resolution in resolutions:
                console.print_diff(resolution.diff(update.plan.root))
    return update, payload, int(code)


def _print_runtime(update: RuntimeUpdatePlan, *, writes: bool) -> None:
    """The pin moves, the files the codemods rewrote, the follow-ups with file:line."""
    from spaps_cli import console

    for old, new in update.pin_changes:
        console.status("pin" if writes else "would pin", f"{old} -> {new}")
    for path in update.changed_files:
        console.status("update" if writes else "would update", path)
    for finding in update.findings:
        if finding.auto_fixable:
            continue
        verb = "acknowledged" if finding.acknowledged else "follow-up"
        console.status(verb, f"{finding.path}:{finding.line}  {finding.message}")


def _runtime_payload(update: RuntimeUpdatePlan) -> dict[str, Any]:
    return {
        "from": str(update.source),
        "to": str(update.target),
        "pin": [{"from": old, "to": new} for old, new in update.pin_changes],
        "upgrades": update.upgrades,
        "codemods": update.codemods,
        "changed_files": update.changed_files,
        "findings": [finding.as_json() for finding in update.findings],
        "follow_ups": len(update.follow_ups),
    }


def _runtime_check_message(update: RuntimeUpdatePlan) -> str:
    name = update.project.root.name
    if update.up_to_date and not update.follow_ups:
        return f"{name} is ready for runtime {update.target}: nothing to change"
    parts = []
    if update.pin_changes:
        parts.append("the pin")
    if update.changed_files:
        parts.append(f"{len(update.changed_files)} file(s)")
    left = f"; {len(update.follow_ups)} follow-up(s) left" if update.follow_ups else ""
    changes = " and ".join(parts) or "nothing"
    return (
        f"{name}: runtime {update.source} -> {update.target} would change {changes}{left};"
        f" run 'spaps update --runtime {update.target}'"
    )


def _runtime_summary(update: RuntimeUpdatePlan, *, writes: bool) -> str:
    follow_ups = update.follow_ups
    left = (
        f"; {len(follow_ups)} follow-up(s) left for you (listed above with file:line)"
        if follow_ups
        else ""
    )
    if update.up_to_date:
        return f"runtime {update.target}: nothing to change{left}"
    verb = "upgraded" if writes else "would upgrade"
    files = len(update.changed_files)
    ran = f", {files} file(s) rewritten by {', '.join(update.codemods)}" if update.codemods else ""
    return f"{verb} runtime {update.source} -> {update.target}{ran}{left}"


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
        # the runtime upgrade the new template's pin took: null when the floor did not rise
        "runtime": _runtime_payload(update.runtime) if update.runtime is not None else None,
    }


def _summary(update: UpdatePlan, *, writes: bool) -> str:
    if update.up_to_date:
        return f"template version {update.target}: up to date, nothing to do"
    reported = [f for f in update.files if f.outcome in REPORTED]
    if update.conflicts:
        count = len(update.conflicts)
        text = (
            f"{count} file{'s' if count != 1 else ''} left with conflict markers; resolve them and"
            f" re-run 'spaps update' to record template version {update.target}"
        )
    else:
        verb = "updated" if writes else "would update"
        extra = f" ({len(reported)} reported)" if reported else ""
        text = f"{verb} template {update.source} -> {update.target}{extra}"
    runtime = update.runtime
    if runtime is not None:
        files = len(runtime.changed_files)
        ran = (
            f", {files} file(s) rewritten by {', '.join(runtime.codemods)}"
            if runtime.codemods
            else ", no upgrade codemods registered"
        )
        text += f"; runtime {runtime.source} -> {runtime.target} (the new template's pin){ran}"
        if runtime.follow_ups:
            text += (
                f"; {len(runtime.follow_ups)} follow-up(s) left for you"
                " (listed above with file:line)"
            )
    return text


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


def _run_fleet(fleet: Path, mode: Mode, sources: Sources) -> int:
    from spaps_cli import console
    from spaps_cli.project import find_project

    rows: list[dict[str, Any]] = []
    codes: list[int] = []
    for root in fleet_roots(fleet):
        row: dict[str, Any] = {"service": root.name, "directory": str(root)}
        try:
            project = find_project(root)
            if mode.runtime is not None:
                runtime_update, payload, code = _runtime_update(
                    project, sources, mode, verbose=False
                )
                row["runtime"] = f"{runtime_update.source} -> {runtime_update.target}"
                row["follow_ups"] = [
                    {"path": f.path, "line": f.line, "message": f.message}
                    for f in runtime_update.follow_ups
                ]
                row["result"] = _fleet_runtime_result(runtime_update, code, writes=mode.writes)
            elif mode.check:
                payload, code = _check(project, sources, mode.to)
                row.update(
                    {"from": payload["from"], "to": payload["to"], "behind": payload["behind"]}
                )
                row["runtime"] = _runtime_cell(payload["runtime"])
                row["runtime_behind"] = payload["runtime"]["behind"]
                lag = []
                if payload["behind"]:
                    lag.append(f"{payload['behind']} behind")
                if payload["runtime"]["behind"]:
                    lag.append(f"runtime {payload['runtime']['behind']} behind")
                row["result"] = ", ".join(lag) if code else "up to date"
            else:
                update, payload = _update(project, sources, mode, verbose=False)
                code = _update_code(update)
                row.update({"from": update.source, "to": update.target})
                row["conflicts"] = payload["conflicts"]
                if update.runtime is not None:
                    row["follow_ups"] = [
                        {"path": f.path, "line": f.line, "message": f.message}
                        for f in update.runtime.follow_ups
                    ]
                row["result"] = _fleet_result(update, writes=mode.writes)
                row["runtime"] = _installed_cell(project)
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
            for item in row.get("follow_ups", []):
                console.status(
                    "follow-up",
                    f"{row['service']}/{item['path']}:{item['line']}  {item['message']}",
                )
    return _worst(codes)


def _runtime_cell(runtime: dict[str, Any]) -> str:
    current = runtime["current"] or "-"
    if runtime["behind"]:
        return f"{current} ({runtime['behind']} behind {runtime['recommended']})"
    return str(current)


def _installed_cell(project: Project) -> str:
    from spaps_cli.update.runtime import runtime_state

    state = runtime_state(project)
    if state.installed is not None:
        return str(state.installed)
    return str(state.pinned.specifier) if state.pinned is not None else "-"


def _fleet_runtime_result(update: RuntimeUpdatePlan, code: int, *, writes: bool) -> str:
    if update.follow_ups:
        return f"{len(update.follow_ups)} follow-up(s)"
    if update.up_to_date:
        return "up to date"
    if code == ExitCode.CHECK_FAILED:
        return "behind"
    return "upgraded" if writes else "would upgrade"


def _fleet_result(update: UpdatePlan, *, writes: bool) -> str:
    if update.up_to_date:
        return "up to date"
    if update.conflicts:
        return f"{len(update.conflicts)} conflicted"
    done = "updated" if writes else "would update"
    if update.runtime is not None:
        done += f" (runtime {update.runtime.source} -> {update.runtime.target})"
        if update.runtime.follow_ups:
            done += f", {len(update.runtime.follow_ups)} follow-up(s)"
    return done


def _worst(codes: list[int]) -> int:
    """Conflicts over usage errors over ``behind``: the most serious outcome decides."""
    for code in (ExitCode.CONFLICT, ExitCode.FILE_ACCESS, ExitCode.USAGE, ExitCode.CHECK_FAILED):
        if code in codes:
            return int(code)
    return 0


def _fleet_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="spaps update --fleet")
    for column in ("service", "from", "to", "runtime", "result"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["service"],
            str(row.get("from", "-")),
            str(row.get("to", "-")),
            str(row.get("runtime", "-")),
            row["result"],
        )
    return table
