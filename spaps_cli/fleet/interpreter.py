"""Which Python runs the service: the one doctor inspects and smoke starts the processes with.

A service usually has its own virtualenv, and that environment (not the CLI's) decides which
runtime version is installed and whether the app imports at all.
"""

from __future__ import annotations

import sys
from pathlib import Path

from spaps_cli.errors import UsageError

_VENV_NAMES = (".venv", "venv")


def service_python(root: Path, python: Path | None) -> Path:
    """``--python``, else the service's ``.venv``/``venv``, else the interpreter running the CLI."""
    if python is not None:
        if not python.exists():
            raise UsageError(f"--python {python} does not exist", hint="pass a Python interpreter")
        return python
    for name in _VENV_NAMES:
        candidate = root / name / "bin" / "python"
        if candidate.exists():
            return candidate
    return Path(sys.executable)
