"""``spaps migrate``: run the migration codemods over a service's code.

Thin on purpose: parse options, hand them to :mod:`spaps_cli.codemods.runner`, print through
the console. libcst and Rich are imported inside the command so ``spaps --help`` pays for
neither. Exit codes are in the command's help text and docs/CLI.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spaps_cli.commands.options import JsonOption, complete_codemod_ids, job_count

EXIT_CODES = (
    "Exit codes: 0 done (nothing left for the gate); 1 with --check/--diff, a file would"
    " change or a follow-up leaves deprecated code such as on_event/add_event_handler (with"
    " --strict: any follow-up not acknowledged); 2 a file could not be migrated (the others"
    " still were) or a usage error. Acknowledge a follow-up with '# spaps: ignore[ID]' on its"
    ' line or acknowledge = ["GLOB:ID"] in [tool.spaps.migrate].'
)


def _ids(values: list[str] | None) -> tuple[str, ...]:
    ids: list[str] = []
    for value in values or []:
        ids.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(ids)


def migrate(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files or directories (default: the current directory).",
            show_default=False,
            metavar="PATHS",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Write nothing; exit 1 if a file would change or a follow-up leaves deprecated"
            " code (on_event, add_event_handler).",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="With --check/--diff: every unacknowledged follow-up fails too."
        ),
    ] = False,
    diff: Annotated[
        bool,
        typer.Option("--diff", help="Print unified diffs; write nothing; exit codes as --check."),
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            metavar="ID,...",
            autocompletion=complete_codemod_ids,
            help="Only these codemod ids (comma-separated, repeatable).",
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="ID,...",
            autocompletion=complete_codemod_ids,
            help="Skip these codemod ids (comma-separated, repeatable).",
        ),
    ] = None,
    list_codemods: Annotated[
        bool, typer.Option("--list", help="Show every codemod with its before/after example.")
    ] = False,
    json_output: JsonOption = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            help="Worker processes, 1 to 256 (default: CPU count).",
            callback=job_count,
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", metavar="GLOB", help="Glob of paths to skip (repeatable)."),
    ] = None,
) -> None:
    """Move a FastAPI/Celery service onto spaps_server_quickstart (libcst codemods)."""
    from spaps_cli.codemods.migration import run_migration

    code = run_migration(
        paths=list(paths or [Path(".")]),
        check=check,
        diff=diff,
        select=_ids(select),
        ignore=_ids(ignore),
        list_only=list_codemods,
        json_output=json_output,
        strict=strict,
        jobs=jobs,
        exclude=tuple(exclude or ()),
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(
        "migrate",
        help="Rewrite a service to use the shared runtime; --check gates CI.",
        epilog=EXIT_CODES,
        no_args_is_help=False,
    )(migrate)
