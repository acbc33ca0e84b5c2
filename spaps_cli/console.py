"""The one console: status lines and errors on stderr, machine-readable output on stdout.

Keeping stdout free of decoration is what lets ``--json`` output be piped into ``jq`` while the
human still sees progress. The root options ``-q``/``-v``/``--color`` set this module once per
run (:func:`configure`); every command prints through it, so they cannot disagree about what
``-q`` hides or when there is colour.

Verbosity levels, as ruff counts them: ``-qq`` (-2) errors only; ``-q`` (-1) errors, warnings,
problem lines and summaries; default (0) also one status line per file; ``-v`` (1) also debug
lines. Results the user asked for (``--json``, ``--diff``, ``--list``) go to stdout at every
level.

Rich is imported when the first line is printed, not when this module is imported: the root
options configure it on every run, including runs that print nothing (``--help`` of a command).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.text import Text

    from spaps_cli.progress import StepHook

    stderr: Console
    stdout: Console

ColorChoice = Literal["auto", "always", "never"]

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
    "ok": "green",
    "failed": "bold red",
    "findings": "bold yellow",
    # spaps update (docs/UPDATING.md)
    "replace": "cyan",
    "merge": "cyan",
    "keep": "blue",
    "kept": "bold yellow",
    "deleted": "bold yellow",
    "would conflict": "bold red",
}
#: Status verbs that report a problem: still shown under ``-q``, like a diagnostic.
PROBLEM_VERBS = frozenset({"conflict", "would conflict", "failed", "findings", "kept", "deleted"})
_VERB_WIDTH = 12

QUIET_ERRORS_ONLY = -2
QUIET = -1
NORMAL = 0
VERBOSE = 1

_verbosity = NORMAL
_color: ColorChoice = "auto"
#: whether the last line was shown: a ``detail`` continues it, so it follows its visibility
_last_shown = True


def configure(*, verbosity: int = NORMAL, color: ColorChoice = "auto") -> None:
    """Set the verbosity and colour for this run (the root options call this)."""
    global _verbosity, _color, _last_shown
    _verbosity, _color, _last_shown = verbosity, color, True
    _consoles.cache_clear()


def verbosity() -> int:
    return _verbosity


def colour_forced(color: ColorChoice, environ: Mapping[str, str]) -> bool | None:
    """True/False when colour is decided regardless of the terminal, None to ask the terminal.

    The flag wins over the environment (no-color.org: a command-line argument overrides
    ``NO_COLOR``); under ``auto``, ``NO_COLOR`` wins over ``FORCE_COLOR`` as in uv. Any
    non-empty value counts (no-color.org, force-color.org); an empty one is unset, so
    ``NO_COLOR= spaps ...`` disables nothing.
    """
    if color != "auto":
        return color == "always"
    if environ.get("NO_COLOR", ""):
        return False
    if environ.get("FORCE_COLOR", ""):
        return True
    return None


@lru_cache(maxsize=2)
def _consoles(err: bool) -> Console:
    from rich.console import Console

    forced = colour_forced(_color, os.environ)
    # Rich reads NO_COLOR and FORCE_COLOR itself; passing both decisions explicitly keeps the
    # precedence above (flag, then NO_COLOR, then FORCE_COLOR) instead of Rich's.
    return Console(
        stderr=err,
        highlight=False,
        soft_wrap=True,
        force_terminal=forced,
        no_color=forced is False,
        color_system=None if forced is False else "auto",
    )


def __getattr__(name: str) -> Console:
    # ``console.stderr`` / ``console.stdout``: built on first use, with this run's settings.
    if name in ("stderr", "stdout"):
        return _consoles(name == "stderr")
    raise AttributeError(name)


def _print(level: int, renderable: RenderableType) -> None:
    global _last_shown
    _last_shown = _verbosity >= level
    if _last_shown:
        _consoles(True).print(renderable)


def status(verb: str, subject: object) -> None:
    """Print one right-aligned coloured verb and its subject, e.g. ``      create  src/app.py``.

    One per file, so hidden under ``-q`` unless the verb reports a problem.
    """
    from rich.text import Text

    # the verb's style on the verb only (a Text's own style would colour the subject as well)
    line = Text.assemble((verb.rjust(_VERB_WIDTH), VERB_STYLES.get(verb, "bold")), "  ")
    line.append(str(subject))
    _print(QUIET if verb in PROBLEM_VERBS else NORMAL, line)


def info(message: str) -> None:
    """A summary line (what was done, where the logs are): hidden only under ``-qq``."""
    from rich.text import Text

    _print(QUIET, Text(message))


def summary(renderable: RenderableType) -> None:
    """A summary table or block (hidden only under ``-qq``)."""
    _print(QUIET, renderable)


def debug(message: str) -> None:
    """Only under ``-v``: what the command is doing and how long it took."""
    from rich.text import Text

    _print(VERBOSE, Text(message, style="dim"))


def _labelled(label: str, style: str, message: str) -> Text:
    from rich.text import Text

    # Text(label, style=...) + Text(message) would keep the label's style as the base style of
    # the whole line; assembling spans colours the label only, as ruff and uv do.
    return Text.assemble((label, style), message)


def warning(message: str) -> None:
    _print(QUIET, _labelled("warning:", "bold yellow", f" {message}"))


def error(message: str) -> None:
    _print(QUIET_ERRORS_ONLY, _labelled("error:", "bold red", f" {message}"))


def detail(message: str) -> None:
    """A continuation line (the caret under a bad name, a hint): shown when its line was."""
    from rich.text import Text

    if _last_shown:
        _consoles(True).print(Text(message), highlight=False)


def live_allowed() -> bool:
    """Whether a spinner or progress bar may be drawn: stderr is a real terminal, not ``-q``.

    ``FORCE_COLOR``/``--color always`` make Rich treat a pipe as a terminal for colour; a
    spinner redrawn into a CI log is noise, so this asks the stream itself.
    """
    if _verbosity < NORMAL:
        return False
    try:
        interactive = sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
    return interactive and not _consoles(True).is_dumb_terminal


@contextmanager
def step(description: str, *, live: bool = True) -> Iterator[None]:
    """A spinner with ``description`` on stderr while the block runs (a :data:`StepHook`).

    Drawn only when :func:`live_allowed`; transient, so the status lines printed afterwards read
    the same with and without it. Under ``-v`` the step's time is printed when it ends.
    """
    started = time.perf_counter()
    try:
        if live and live_allowed():
            with _consoles(True).status(description, spinner="dots"):
                yield
        else:
            yield
    finally:
        debug(f"{description}: {time.perf_counter() - started:.2f}s")


def step_hook(*, json_output: bool = False) -> StepHook:
    """The hook a command hands its engine: no spinner under ``--json`` (a script is reading)."""
    return partial(step, live=not json_output)


def emit_json(payload: Any) -> None:
    """Write one JSON document to stdout (never through Rich, so it stays byte-exact)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def print_diff(diff: str) -> None:
    """Unified diff on stdout, coloured only when stdout is a terminal (or ``--color always``)."""
    if not diff:
        return
    out = _consoles(False)
    if not out.is_terminal or out.no_color:
        sys.stdout.write(diff if diff.endswith("\n") else diff + "\n")
        return
    from rich.text import Text

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
        out.print(Text(line, style=style or ""))
