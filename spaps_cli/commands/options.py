"""Options several commands share, declared once so their flags and help never drift apart."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from spaps_cli.errors import UsageError

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
