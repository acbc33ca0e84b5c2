"""``spaps new ...``: create things from nothing (today: a service).

Thin on purpose: parse options, hand them to :mod:`spaps_cli.generators.service`, print the
plan through the console. Jinja2, tomlkit and Rich are imported inside the command so that
``spaps --help`` pays for none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spaps_cli.commands.options import DryRunOption, JsonOption, SkipOption

#: The generated README's "Install and test" commands on one line (tests/e2e runs both).
NEXT_STEPS = (
    "python3 -m venv .venv && . .venv/bin/activate"
    ' && pip install --find-links wheels -e ".[dev]" && uv lock && pytest'
)

new_app = typer.Typer(
    name="new",
    help="Create a new service.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@new_app.command("service")
def new_service(
    name: Annotated[
        str,
        typer.Argument(help="Service name in kebab-case, e.g. billing-api.", show_default=False),
    ],
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to generate the service (default: ./NAME).",
            show_default=False,
        ),
    ] = None,
    description: Annotated[
        str | None,
        typer.Option("--description", help="One-line description (pyproject, README, OpenAPI)."),
    ] = None,
    celery: Annotated[
        bool,
        typer.Option("--celery/--no-celery", help="Generate the Celery worker and its tests."),
    ] = True,
    pgvector: Annotated[
        bool,
        typer.Option(
            "--pgvector/--no-pgvector",
            help="Record the pgvector answer and create the 'vector' extension in the initial migration.",
        ),
    ] = False,
    dry_run: DryRunOption = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Overwrite files that differ; allow generating into a non-empty directory.",
        ),
    ] = False,
    skip: SkipOption = False,
    json_output: JsonOption = False,
) -> None:
    """Generate a FastAPI + SQLAlchemy + Alembic + Celery service wired to the shared runtime."""
    from spaps_cli import console, names
    from spaps_cli.errors import UsageError
    from spaps_cli.generators.service import ServiceAnswers, generate_service
    from spaps_cli.plan import ConflictPolicy

    if force and skip:
        raise UsageError("--force and --skip contradict each other", hint="pick one")
    service = names.service_name(name)
    answers = ServiceAnswers.build(
        service, description=description, celery=celery, pgvector=pgvector
    )
    policy = (
        ConflictPolicy.FORCE if force else ConflictPolicy.SKIP if skip else ConflictPolicy.ERROR
    )
    result = generate_service(
        answers,
        destination=directory if directory is not None else Path.cwd() / service.name,
        policy=policy,
        dry_run=dry_run,
    )
    if json_output:
        console.emit_json(result.as_json())
    elif not dry_run and result.changed:
        console.info(f"\nNext: cd {result.display_root} && {NEXT_STEPS}")


def register(app: typer.Typer) -> None:
    app.add_typer(new_app, name="new")
