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
from spaps_cli.errors import ExitCode, InterruptedByUser, SpapsError

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


#: What exit code 130 (Ctrl-C) means for each command, when the command had nothing more
#: precise to say; the same sentences are in docs/CLI.md. ``migrate`` says itself which files
#: it wrote and which remain; this covers an interrupt before it started writing.
INTERRUPTED_MEANING: dict[str, str] = {
    "new": "nothing was changed (files already written by this run were removed or restored)",
    "add": "nothing was changed (files already written by this run were removed or restored)",
    "migrate": "no file was written",
    "update": "nothing was changed (files already written by this run were removed or restored)",
    "release bump": (
        "nothing was changed, unless it came during --commit/--tag after the files were"
        " written: then see git status"
    ),
    "release check": "nothing was changed (release check only reads)",
    "doctor": "nothing was changed (doctor only reads)",
    "smoke": "every process smoke started was stopped; the logs are kept",
}


def _interrupted_line(args: Sequence[str]) -> str:
    words = [arg for arg in args if not arg.startswith("-")][:2]
    meaning = INTERRUPTED_MEANING.get(" ".join(words)) or INTERRUPTED_MEANING.get(
        words[0] if words else "", "nothing was changed"
    )
    return f"interrupted (Ctrl-C): {meaning}"


def _from_interrupt(exit_: SystemExit) -> bool:
    """Typer turns KeyboardInterrupt into a silent exit 130; find it in the exception chain."""
    seen: BaseException | None = exit_
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (used by main and the tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    from spaps_cli import console

    console.configure()  # the root options set it again; a --help run prints with defaults
    try:
        app(args=args, prog_name="spaps", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        if code == ExitCode.INTERRUPTED and _from_interrupt(exit_):
            return _report(InterruptedByUser(_interrupted_line(args)))
        return code if isinstance(code, int) else (0 if code is None else 1)
    except SpapsError as exc:
        return _report(exc)
    except KeyboardInterrupt:
        return _report(InterruptedByUser(_interrupted_line(args)))
    return 0


def _report(exc: SpapsError) -> int:
    """One ``error:`` line, its detail lines and hint, on stderr; the error's exit code."""
    from spaps_cli import console  # Rich is imported only when there is something to print

    console.error(exc.message)
    for line in exc.details:
        console.detail(line)
    if exc.hint:
        console.detail(f"hint: {exc.hint}")
    return int(exc.exit_code)


def main() -> None:
    raise SystemExit(run())
