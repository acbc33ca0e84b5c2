"""How ``spaps`` prints: label-only colouring, ``-q``/``-v``, ``--color`` and ``NO_COLOR``.

Colour is asserted on the bytes a real process writes (ANSI escapes), with ``--color always`` or
``FORCE_COLOR`` standing in for a terminal, because that is what a user's terminal receives.
"""

from __future__ import annotations

import re
from pathlib import Path

from cli.cli_runner import spaps_process

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _error_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "error:" in ANSI.sub("", line))


def test_error_colours_only_its_label(tmp_path: Path) -> None:
    """The message after ``error:`` is plain text: only the label carries the colour."""
    outcome = spaps_process(
        ["add", "domain", "users", "--dir", str(tmp_path)], env={"FORCE_COLOR": "1"}
    )
    assert outcome.code == 2
    line = _error_line(outcome.stderr)
    # a style, the label, a reset, then the message without a single escape
    assert re.fullmatch(r"\x1b\[[0-9;]+merror:\x1b\[0m no pyproject\.toml[^\x1b]*", line), line
