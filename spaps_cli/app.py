"""The ``spaps`` command: registers the command modules, maps typed errors to exit codes.

Command modules import only Typer at module level; libcst, jinja2, tomlkit, httpx and FastAPI are
imported inside the commands that need them, so ``spaps --help`` stays as fast as Typer itself
(see bench/cli_startup.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Annotated

import typer

from spaps_cli import __version__, console
from spaps_cli.errors import InvalidNameError, SpapsError

#: Each module under spaps_cli/commands/ exposes ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = ()

app = typer.Typer(
    name="spaps",
    help="Stand up, grow, migrate and release FastAPI + SQLAlchemy + Celery services on SPAPS.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"spaps {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Show the version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """spaps: one runtime, a generator and a migration tool for SPAPS services."""


for _module_name in COMMAND_MODULES:
    importlib.import_module(f"spaps_cli.commands.{_module_name}").register(app)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (used by main and the tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="spaps", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except SpapsError as exc:
        console.error(exc.message)
        if isinstance(exc, InvalidNameError):
            for line in exc.details:
                console.detail(line)
        if exc.hint:
            console.detail(f"hint: {exc.hint}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    return 0


def main() -> None:
    raise SystemExit(run())
