"""Options several commands share, declared once so their flags and help never drift apart."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer

from spaps_cli.errors import UsageError

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


#: A day. No stage and no index lookup waits longer; a larger timeout is a typo, and ``inf``
#: would let a stuck process hang the command forever.
MAX_SECONDS = 86_400.0
#: More worker processes than this is never useful (each one imports libcst) and only a typo.
MAX_JOBS = 256


def seconds(option: str, *, minimum: float = 0.0) -> Callable[[float | None], float | None]:
    """A Typer callback: ``option`` is a finite number of seconds, above 0 or at least
    ``minimum`` when one is given, and at most a day.

    Click parses ``nan``, ``inf`` and ``1e400`` as floats, so the range is checked here; the
    error is the CLI's own one-line usage error (exit 2), like every other bad input.
    """

    def check(value: float | None) -> float | None:
        if value is None:
            return None
        too_small = value < minimum if minimum > 0 else value <= 0
        if not math.isfinite(value) or too_small or value > MAX_SECONDS:
            allowed = (
                "a positive number of seconds"
                if minimum == 0
                else f"a number of seconds of at least {minimum:g}"
            )
            raise UsageError(
                f"{option} {value:g} is not {allowed} (at most {MAX_SECONDS:g}, a day)",
                hint=f"e.g. {option} 10",
            )
        return value

    return check


def job_count(value: int | None) -> int | None:
    """A Typer callback for ``--jobs``: 1 to :data:`MAX_JOBS` worker processes."""
    if value is not None and not 1 <= value <= MAX_JOBS:
        raise UsageError(
            f"--jobs {value}: must be between 1 and {MAX_JOBS}",
            hint="leave it out to use one worker per CPU",
        )
    return value


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
