"""Importing the release command must stay as cheap as Typer: the engines load lazily."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("tomlkit", "packaging", "httpx", "spaps_cli.release.bump", "spaps_cli.plan")


def test_command_module_imports_only_typer() -> None:
    code = (
        "import sys, spaps_cli.commands.release; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert completed.stdout.strip() == ""
