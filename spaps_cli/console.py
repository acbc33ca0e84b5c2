"""The one console: status lines and errors on stderr, machine-readable output on stdout.

Keeping stdout free of decoration is what lets ``--json`` output be piped into ``jq`` while the
human still sees progress. Rich already honours ``NO_COLOR`` and non-terminal output.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)

#: Colours for plan verbs, as Thor and copier print them.
VERB_STYLES = {
    "create": "green",
    "update": "cyan",
    "identical": "blue",
    "skip": "yellow",
    "force": "yellow",
    "conflict": "bold red",
    "remove": "red",
    "would create": "green",
    "would update": "cyan",
    "would force": "yellow",
}
_VERB_WIDTH = 12


def status(verb: str, subject: str) -> None:
    """Print one right-aligned coloured verb and its subject, e.g. ``      create  src/app.py``."""
    line = Text(verb.rjust(_VERB_WIDTH), style=VERB_STYLES.get(verb, "bold"))
    line.append("  ")
    line.append(subject)
    stderr.print(line)


def info(message: str) -> None:
    stderr.print(Text(message))


def _labelled(label: str, style: str, message: str) -> Text:
    # Text(label, style=...) + Text(message) would keep the label's style as the base style of
    # the whole line; assembling spans colours the label only, as ruff and uv do.
    return Text.assemble((label, style), message)


def warning(message: str) -> None:
    stderr.print(_labelled("warning:", "bold yellow", f" {message}"))


def error(message: str) -> None:
    stderr.print(_labelled("error:", "bold red", f" {message}"))


def detail(message: str) -> None:
    """A continuation line under an error (e.g. the caret under a bad name)."""
    stderr.print(Text(message), highlight=False)


def emit_json(payload: Any) -> None:
    """Write one JSON document to stdout (never through Rich, so it stays byte-exact)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def print_diff(diff: str) -> None:
    """Unified diff on stdout, coloured only when stdout is a terminal."""
    if not diff:
        return
    if not stdout.is_terminal:
        sys.stdout.write(diff if diff.endswith("\n") else diff + "\n")
        return
    for line in diff.splitlines():
        style = None
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        stdout.print(Text(line, style=style or ""))
