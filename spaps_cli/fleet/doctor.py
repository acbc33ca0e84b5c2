"""``spaps doctor``: is this service on a supported runtime, configured, isolated and migrated?

The checks live in :mod:`spaps_cli.fleet.checks`, one module per family, each check a function
returning :class:`~spaps_cli.fleet.findings.Finding` objects (an id, a severity, a one-line
message and the fix), registered with :func:`~spaps_cli.fleet.findings.check`. This module
gathers the facts they share and runs them.

Facts about the service's *environment* (installed runtime, settings as the service itself
loads them) come from :mod:`.service_probe`, run with the service's interpreter; the CLI never
imports the runtime at import time, and only the migration check imports it lazily (and falls
back to the file-name rule when it is not installed). The services "on record" for the
shared-database check are defined in :mod:`.records`; without ``--fleet`` (or ``SPAPS_FLEET``)
only the database-name rule runs.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spaps_cli.fleet.compat import CompatibilityMatrix
from spaps_cli.fleet.findings import DoctorContext, Finding, registered, run_family
from spaps_cli.fleet.interpreter import service_python
from spaps_cli.progress import StepHook, no_progress
from spaps_cli.project import Project

PROBE_TIMEOUT_SECONDS = 90.0

__all__ = ["DoctorReport", "Finding", "probe_service", "run_doctor"]


@dataclass
class DoctorReport:
    service: str
    root: Path
    python: str
    env: str | None
    findings: list[Finding] = field(default_factory=list)
    #: check family -> "ok" | "findings"
    checks: dict[str, str] = field(default_factory=dict)
    #: check family -> its findings (the same objects as ``findings``), for grouped output
    by_family: dict[str, list[Finding]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Nothing found at all."""
        return not self.findings

    @property
    def ok(self) -> bool:
        """Nothing found that fails the check (exit 0), warnings that do not fail aside."""
        return not any(finding.fails for finding in self.findings)

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "path": str(self.root),
            "python": self.python,
            "env": self.env,
            "clean": self.clean,
            "ok": self.ok,
            "checks": self.checks,
            "notes": self.notes,
            "findings": [finding.as_json() for finding in self.findings],
        }


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
    context = DoctorContext(project=project, probe=probe, fleet=fleet, matrix_override=matrix)
    report = DoctorReport(
        service=str(project.spaps.get("service", project.package)),
        root=project.root,
        python=str(interpreter),
        env=probe.get("env") if isinstance(probe.get("env"), str) else env,
    )
    for family in registered():
        with on_step(f"doctor: checking {family}"):
            found = run_family(family, context)
        report.checks[family] = "findings" if found else "ok"
        report.by_family[family] = found
        report.findings.extend(found)
    report.notes.extend(context.notes)
    return report
