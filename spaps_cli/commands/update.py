"""``spaps update``: bring a service up to the CLI's template version (3-way merge per file),
or with ``--runtime`` onto a newer runtime release (its pin and its codemods).

Thin: find the service, ask :mod:`spaps_cli.update.engine` (or :mod:`spaps_cli.update.runtime`)
for the plan, report, apply unless ``--check``/``--diff``/``--dry-run``. Exit codes: 0 up to date
or updated cleanly, 1 ``--check`` found the service behind (template or recommended runtime),
3 conflicts or runtime follow-ups were left (listed with file:line).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spaps_cli.commands.options import JsonOption


def update(
    service: Annotated[
        Path,
        typer.Argument(help="The service directory (default: the current one).", metavar="SERVICE"),
    ] = Path("."),
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="TEMPLATE_VERSION", help="Target template version."),
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option(
            "--runtime",
            metavar="VERSION",
            help="Move to this runtime release: bump the pin, run its upgrade codemods.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 if the service is behind (template or runtime).",
        ),
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Print the unified diff of every change; write nothing.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    json_output: JsonOption = False,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            metavar="DIR",
            help="Every service under DIR (as 'spaps doctor --fleet' finds them); one table.",
        ),
    ] = None,
) -> None:
    """Merge the newer template into a service, keeping the team's edits."""
    from spaps_cli.update.run import run_update

    code = run_update(
        service,
        to=to,
        runtime=runtime,
        check=check,
        diff=diff,
        dry_run=dry_run,
        json_output=json_output,
        fleet=fleet,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(
        "update",
        help=(
            "Bring a service up to the CLI's template version (--runtime: to a runtime"
            " release); --check gates CI."
        ),
    )(update)
