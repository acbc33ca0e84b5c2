"""The ``spaps`` command: registers the command modules, maps typed errors to exit codes.

Command modules import only Typer at module level; libcst, jinja2, tomlkit, httpx and FastAPI are
imported inside the commands that need them, so ``spaps --help`` stays as fast as Typer itself
(see bench/cli_startup.py). For the same reason the root group turns a module's commands into
Click commands only when one of them runs (``_LazyCommandGroup``): ``--help`` lists the names and
first lines of help without building every command's parameters.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.models import DefaultPlaceholder

from spaps_cli import __version__
from spaps_cli.commands.options import ColorOption, QuietOption, VerboseOption
from spaps_cli.errors import InvalidNameError, SpapsError

#: Each module under spaps_cli/commands/ exposes ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "new",
    "release",
    "doctor",
    "add",
    "smoke",
    "migrate",
    "update",
)


@dataclass(frozen=True)
class _LazyCommand:
    """A top-level command as its module registered it, not yet turned into a Click command."""

    holder: typer.Typer  # a throwaway Typer the module's register() filled
    short_help: str
    hidden: bool

    def build(self, name: str) -> Any:
        return typer.main.get_group(self.holder).commands.get(name)


def _unset(value: Any) -> Any:
    return value.value if isinstance(value, DefaultPlaceholder) else value


def _first_sentence(text: str | None) -> str:
    words = " ".join((text or "").strip().split("\n\n")[0].split())
    end = words.find(". ")
    sentence = words if end < 0 else words[: end + 1]
    return sentence if len(sentence) <= 70 else sentence[:67].rstrip() + "..."


@lru_cache(maxsize=1)
def _command_table() -> dict[str, _LazyCommand]:
    """Every top-level command name -> where it comes from (importing modules is cheap)."""
    table: dict[str, _LazyCommand] = {}
    for module_name in COMMAND_MODULES:
        holder = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)
        importlib.import_module(f"spaps_cli.commands.{module_name}").register(holder)
        for group in holder.registered_groups:
            info = group.typer_instance.info if group.typer_instance is not None else None
            name = _unset(group.name) or (_unset(info.name) if info else None)
            callback = _unset(info.callback) if info else None
            text = _unset(group.help) or (_unset(info.help) if info else None)
            table[str(name)] = _LazyCommand(
                holder,
                _first_sentence(text or (callback.__doc__ if callback else None)),
                bool(_unset(group.hidden) or (info is not None and _unset(info.hidden))),
            )
        for command in holder.registered_commands:
            callback = command.callback
            name = command.name or typer.main.get_command_name(
                callback.__name__ if callback else ""
            )
            text = command.help or (callback.__doc__ if callback else None)
            table[name] = _LazyCommand(holder, _first_sentence(text), command.hidden)
    return table


class _LazyCommandGroup(TyperGroup):
    """The root group: a command module becomes Click commands only when one of them runs.

    Turning every command's signature into Click parameters costs more than importing Typer
    (it evaluates every annotation); ``spaps --help`` needs only the names and one line each.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(_command_table())

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = _command_table().get(cmd_name)
        return entry.build(cmd_name) if entry is not None else None

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [
            (name, entry.short_help)
            for name, entry in sorted(_command_table().items())
            if not entry.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_LazyCommandGroup,
    name="spaps",
    help="Stand up, grow, migrate and release FastAPI + SQLAlchemy + Celery services on SPAPS.",
    no_args_is_help=True,
    # None keeps Typer on Click's plain help formatter: the Rich one imports rich.markdown and
    # markdown-it, which alone makes `spaps --help` ~2.5x slower than `import typer`.
    rich_markup_mode=None,
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
    quiet: QuietOption = 0,
    verbose: VerboseOption = 0,
    color: ColorOption = "auto",
) -> None:
    """spaps: one runtime, a generator and a migration tool for SPAPS services."""
    from spaps_cli import console  # cheap: Rich loads when the first line is printed

    console.configure(verbosity=verbose - quiet, color=color)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (used by main and the tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    from spaps_cli import console

    console.configure()  # the root options set it again; a --help run prints with defaults
    try:
        app(args=args, prog_name="spaps", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except SpapsError as exc:
        from spaps_cli import console  # Rich is imported only when there is something to print

        console.error(exc.message)
        if isinstance(exc, InvalidNameError):
            for line in exc.details:
                console.detail(line)
        if exc.hint:
            console.detail(f"hint: {exc.hint}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        from spaps_cli import console

        console.error("interrupted")
        return 130
    return 0


def main() -> None:
    raise SystemExit(run())
