"""``spaps add ...``: grow an existing service (a domain, a Celery task).

Thin on purpose: parse options, hand them to :mod:`spaps_cli.generators.domain` or
:mod:`spaps_cli.generators.task`, print through the console. libcst, Jinja2 and tomlkit are
imported inside the commands so ``spaps --help`` pays for none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from spaps_cli.commands.options import DryRunOption, JsonOption, SkipOption

if TYPE_CHECKING:
    from spaps_cli.plan import ConflictPolicy

#: ``--starter`` values: the keys of spaps_cli.generators.starters.STARTERS, spelt out so that
#: parsing the command line imports no generator (a test keeps the two equal).
StarterName = Literal["users", "admin", "crud"]

add_app = typer.Typer(
    name="add",
    help="Add a domain or a Celery task to the service you are in.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="A directory inside the service (default: the current directory).",
        file_okay=False,
        show_default=False,
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Overwrite generated files that differ.")
]


@add_app.command("domain")
def add_domain(
    name: Annotated[
        str | None,
        typer.Argument(help="Domain name in snake_case, e.g. billing.", show_default=False),
    ] = None,
    starter: Annotated[
        StarterName | None,
        typer.Option(
            "--starter",
            help="Default: users/admin for those names, crud otherwise (--list shows them).",
            show_default=False,
        ),
    ] = None,
    list_starters: Annotated[
        bool, typer.Option("--list", help="Show the starters and exit.")
    ] = False,
    directory: DirOption = None,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
    skip: SkipOption = False,
    json_output: JsonOption = False,
) -> None:
    """Render a domain (router, schemas, models, service, tasks, tests, migration) and register it."""
    from spaps_cli import console
    from spaps_cli.errors import UsageError
    from spaps_cli.generators.domain import generate_domain

    if list_starters:
        _print_starters(json_output=json_output)
        return
    if name is None:
        raise UsageError("missing domain NAME", hint="spaps add domain billing (or --list)")
    result = generate_domain(
        name,
        start=directory or Path.cwd(),
        starter=starter,
        policy=_policy(force=force, skip=skip),
        dry_run=dry_run,
        diffs=not json_output,
    )
    if json_output:
        console.emit_json(result.as_json())
    elif not dry_run and result.changed:
        console.info(f"\nNext: pytest tests/domains/test_{result.subject['domain']}_domain.py")


@add_app.command("task")
def add_task(
    name: Annotated[
        str, typer.Argument(help="Task name in snake_case, e.g. send_invoice.", show_default=False)
    ],
    domain: Annotated[
        str,
        typer.Option("--domain", help="The domain that owns the task.", show_default=False),
    ],
    directory: DirOption = None,
    dry_run: DryRunOption = False,
    force: ForceOption = False,
    json_output: JsonOption = False,
) -> None:
    """Add a Celery task built with the runtime's task factory, and a test running it."""
    from spaps_cli import console
    from spaps_cli.generators.task import generate_task

    result = generate_task(
        name,
        domain=domain,
        start=directory or Path.cwd(),
        policy=_policy(force=force, skip=False),
        dry_run=dry_run,
        diffs=not json_output,
    )
    if json_output:
        console.emit_json(result.as_json())


def _policy(*, force: bool, skip: bool) -> ConflictPolicy:
    from spaps_cli.errors import UsageError
    from spaps_cli.plan import ConflictPolicy

    if force and skip:
        raise UsageError("--force and --skip contradict each other", hint="pick one")
    return ConflictPolicy.FORCE if force else ConflictPolicy.SKIP if skip else ConflictPolicy.ERROR


def _print_starters(*, json_output: bool) -> None:
    from spaps_cli import console
    from spaps_cli.generators.starters import DEFAULT_FOR_NAME, STARTERS

    if json_output:
        console.emit_json(
            [
                {
                    "name": s.name,
                    "summary": s.summary,
                    "routes": list(s.routes),
                    "default_for": [n for n, d in DEFAULT_FOR_NAME.items() if d is s],
                }
                for s in STARTERS.values()
            ]
        )
        return
    for starter in STARTERS.values():
        defaults = [n for n, d in DEFAULT_FOR_NAME.items() if d is starter]
        when = f"default for '{defaults[0]}'" if defaults else "default for any other name"
        console.stdout.print(f"[bold]{starter.name}[/bold]  {starter.summary} ({when})")
        for route in starter.routes:
            console.stdout.print(f"    {route}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(add_app, name="add")
