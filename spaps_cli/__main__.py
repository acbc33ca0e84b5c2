"""The ``spaps`` console script (and ``python -m spaps_cli``): Ctrl-C is answered from the start.

The script's first import used to be ``spaps_cli.app``, which imports Typer and Click: a Ctrl-C
in those first tenths of a second escaped every handler as a ``KeyboardInterrupt`` traceback.
This module imports nothing but ``sys`` before it can catch that.
"""

from __future__ import annotations

import sys


def _interrupted(when: str) -> SystemExit:
    sys.stderr.write(f"error: interrupted (Ctrl-C) {when}\n")
    return SystemExit(130)


def main() -> None:
    try:
        from spaps_cli.app import run
    except KeyboardInterrupt:
        raise _interrupted("while starting: nothing was changed") from None
    try:
        code = run()
    except KeyboardInterrupt:  # a second Ctrl-C while the answer to an error was printed
        raise _interrupted("while reporting the outcome") from None
    raise SystemExit(code)


if __name__ == "__main__":
    main()
