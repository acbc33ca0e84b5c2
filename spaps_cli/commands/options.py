"""Options several commands share, declared once so their flags and help never drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

# Root options (``spaps -q migrate --check``), as ruff and uv spell them.
QuietOption = Annotated[
    int,
    typer.Option(
        "--quiet",
        "-q",
        count=True,
        help="Print only errors, warnings and summaries; -qq only errors.",
        show_default=False,
    ),
]
VerboseOption = Annotated[
    int,
    typer.Option(
        "--verbose", "-v", count=True, help="Also print what is being done.", show_default=False
    ),
]
ColorOption = Annotated[
    Literal["auto", "always", "never"],
    typer.Option(
        "--color",
        help="Colour on a terminal (auto), always or never; auto honours NO_COLOR and FORCE_COLOR.",
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]

DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the files and the diff of each edit; write nothing."),
]

SkipOption = Annotated[
    bool, typer.Option("--skip", help="Keep existing files that differ instead of failing.")
]

ServicePythonOption = Annotated[
    Path | None,
    typer.Option(
        "--python",
        help="The service's interpreter (default: PATH/.venv/bin/python, else this one).",
        dir_okay=False,
        show_default=False,
    ),
]


# --------------------------------------------------------------------------- completion
# Completion callbacks run only when the shell asks (``_SPAPS_COMPLETE``), never on a normal run,
# so they may import what they need; the values come from the engines' own tables.


def _complete_list(incomplete: str, candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Complete the last item of a comma-separated list, skipping the items already given."""
    head, _, last = incomplete.rpartition(",")
    given = {part.strip() for part in head.split(",")} if head else set()
    prefix = f"{head}," if head else ""
    return [
        (prefix + value, summary)
        for value, summary in candidates
        if value.startswith(last) and value not in given
    ]


def complete_codemod_ids(incomplete: str) -> list[tuple[str, str]]:
    """The codemod ids for ``--select``/``--ignore`` (``a,b,<TAB>`` completes the third)."""
    from spaps_cli.codemods.registry import CODEMODS

    return _complete_list(incomplete, [(codemod.ID, codemod.SUMMARY) for codemod in CODEMODS])


def complete_bump_target(incomplete: str) -> list[tuple[str, str]]:
    """The bump kinds; an explicit VERSION is the user's to type."""
    from spaps_cli.release.version import BumpKind

    return [(kind.value, "bump kind") for kind in BumpKind if kind.value.startswith(incomplete)]


#: The env names services usually load; the runtime accepts any name (``eu-prod``) and decides
#: which are production from its ``production_environments`` setting, so these are offered,
#: not imposed.
COMMON_ENVS: tuple[str, ...] = ("dev", "test", "staging", "prod")


def complete_env(incomplete: str) -> list[str]:
    return [env for env in COMMON_ENVS if env.startswith(incomplete)]


def env_name(value: str | None) -> str | None:
    """Refuse at parse time what no ``ENV`` variable could hold (blanks, ``=``, spaces)."""
    if value is None:
        return value
    if not value or value != value.strip() or any(c.isspace() or c == "=" for c in value):
        raise typer.BadParameter(
            f"{value!r} is not an env name; use e.g. {', '.join(COMMON_ENVS)}", param_hint="--env"
        )
    return value


EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="ENV",
        help=f"Check the settings as this env ({'|'.join(COMMON_ENVS)}, or any name the service"
        " uses) would load them.",
        callback=env_name,
        autocompletion=complete_env,
        show_default=False,
    ),
]
