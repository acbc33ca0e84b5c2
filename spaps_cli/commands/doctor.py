"""``spaps doctor``: one command that says whether a service is fit to run with the fleet.

Thin on purpose: find the service, hand it to :mod:`spaps_cli.fleet.doctor`, print the findings.
The engine (packaging, subprocess, the matrix) and Rich are imported inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spaps_cli.commands.options import EnvOption, JsonOption, ServicePythonOption


def doctor(
    context: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(help="The service (or any directory inside it).", show_default=False),
    ] = Path("."),
    json_output: JsonOption = False,
    python: ServicePythonOption = None,
    env: EnvOption = None,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            envvar="SPAPS_FLEET",
            help="Directory of the sibling services (and spaps-fleet.toml) on record.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check runtime, settings, database, migrations and leftover code.

    Exit 0 when clean, 1 when anything was found (each finding carries its fix).
    """
    from spaps_cli import console
    from spaps_cli.errors import CheckFailedError
    from spaps_cli.fleet.doctor import run_doctor
    from spaps_cli.fleet.records import FLEET_FILE
    from spaps_cli.paths import existing_file, resolve
    from spaps_cli.project import find_project

    project = find_project(path, what="PATH")
    if fleet is not None:
        from spaps_cli.fleet.records import require_fleet

        # By name: Typer may hand over its own copy of Click's ParameterSource enum.
        source = getattr(context.get_parameter_source("fleet"), "name", "")
        named = f"SPAPS_FLEET={fleet}" if source == "ENVIRONMENT" else f"--fleet {fleet}"
        fleet = require_fleet(resolve(fleet, what=named), named=named)
        if fleet.is_dir():
            existing_file(fleet / FLEET_FILE, what=FLEET_FILE, within=fleet)
    report = run_doctor(
        project,
        python=python,
        env=env,
        fleet=fleet,
        on_step=console.step_hook(json_output=json_output),
    )
    if json_output:
        console.emit_json(report.as_json())
    else:
        console.info(f"spaps doctor: {report.service} ({report.root}, python {report.python})")
        for family, outcome in report.checks.items():
            console.status(outcome, family)
            for finding in report.by_family[family]:
                console.detail(f"    {finding.severity}: [{finding.id}] {finding.message}")
                console.detail(f"      fix: {finding.hint}")
        for note in report.notes:
            console.detail(f"note: {note}")
    if report.ok and not report.clean:
        console.warning(
            f"{len(report.findings)} warning(s) in {report.service}, none that fails the check"
        )
    if not report.ok:
        raise CheckFailedError(
            f"{len(report.findings)} finding(s) in {report.service}",
            hint="fix them and re-run spaps doctor",
        )


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
