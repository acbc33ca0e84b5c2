"""Options several commands share, declared once so their flags and help never drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
