"""The ``spaps`` program itself: help, version, colour, start-up cost."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cli.cli_runner import RunSpaps, spaps_process
from spaps_cli import __version__

#: SGR sequences that set a colour (30-37, 90-97 foreground, 38;... extended); bold is not one.
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])(?:;[0-9;]*)?m")

#: Imported only inside the commands that need them (see spaps_cli/app.py).
HEAVY_MODULES = ("libcst", "jinja2", "tomlkit", "fastapi", "sqlalchemy", "rich.markdown")


def test_version(run_spaps: RunSpaps) -> None:
    outcome = run_spaps("--version")
    assert outcome.code == 0
    assert outcome.stdout.strip() == f"spaps {__version__}"


def test_help_lists_new_service(run_spaps: RunSpaps) -> None:
    root = run_spaps("--help")
    assert root.code == 0
    assert "new" in root.stdout
    assert "--install-completion" in root.stdout  # shell completion is on

    service = run_spaps("new", "service", "--help")
    assert service.code == 0
    for option in ("--dir", "--description", "--no-celery", "--pgvector", "--dry-run", "--force"):
        assert option in service.stdout


def _modules_loaded_by(argv: list[str], cwd: Path | None = None) -> set[str]:
    """Every module in ``sys.modules`` after ``spaps argv`` ran in a fresh interpreter."""
    probe = (
        "import contextlib, io, sys\n"
        "from spaps_cli.app import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = run({argv!r})\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.__stderr__)\n"
        "raise SystemExit(code)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = set(completed.stderr.split())
    assert "typer" in loaded  # the probe really ran the CLI
    return loaded


def test_help_imports_nothing_heavy() -> None:
    """`spaps --help` must cost about an `import typer` (bench/cli_startup.py times it)."""
    loaded = _modules_loaded_by(["--help"])
    for module in HEAVY_MODULES:
        assert module not in loaded, f"`spaps --help` imports {module}"


def test_parsing_arguments_does_not_import_pydantic(tmp_path: Path) -> None:
    """Typer 0.29 coerces every parameter through pydantic (+150-200 ms per command).

    pyproject.toml keeps Typer below 0.29 for that reason; this fails when a Typer that does it
    comes back, or when a command starts importing pydantic itself.
    """
    for argv in (
        ["doctor", "--help"],
        ["add", "domain", "--list"],
        ["new", "service", "billing-api", "--dry-run", "--no-celery"],
        ["release", "check", "--help"],
    ):
        loaded = _modules_loaded_by(argv, cwd=tmp_path)
        assert "pydantic" not in loaded, f"`spaps {' '.join(argv)}` imports pydantic"
    assert list(tmp_path.iterdir()) == []  # the dry run wrote nothing


def test_no_color_is_respected(tmp_path: Path) -> None:
    argv = ["new", "service", "billing-api", "--dry-run"]
    coloured = spaps_process(argv, cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert coloured.code == 0, coloured.stderr
    assert COLOUR.search(coloured.stderr), "FORCE_COLOR should colour the status verbs"

    plain = spaps_process(argv, cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.code == 0, plain.stderr
    assert "would create" in plain.stderr
    assert not COLOUR.search(plain.stderr)
    assert list(tmp_path.iterdir()) == []


def test_json_output_parses_and_matches_the_disk(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "svc"
    outcome = run_spaps("new", "service", "billing-api", "--dir", str(target), "--json")
    assert outcome.code == 0, outcome.stderr
    payload = json.loads(outcome.stdout)  # stdout holds nothing but the document
    assert payload["command"] == "new service"
    assert payload["service"] == "billing-api"
    assert payload["package"] == "billing_api"
    assert payload["changed"] is True
    assert payload["dry_run"] is False
    assert Path(payload["directory"]) == target.resolve()
    written = {row["path"] for row in payload["files"]}
    assert {row["action"] for row in payload["files"]} == {"create"}
    on_disk = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert written == on_disk


def test_every_registered_command_is_listed_and_has_help(run_spaps: RunSpaps) -> None:
    """The root group builds commands lazily; each must still be listed and reachable."""
    from spaps_cli.app import COMMAND_MODULES, _command_table

    table = _command_table()
    assert len(table) >= len(COMMAND_MODULES)
    root = run_spaps("--help")
    for name, entry in table.items():
        assert f"  {name} " in root.stdout
        assert entry.short_help, name
        outcome = run_spaps(name, "--help")
        assert outcome.code == 0, (name, outcome.stderr)
        assert f"Usage: spaps {name}" in outcome.stdout


def test_unknown_command_is_a_usage_error(run_spaps: RunSpaps) -> None:
    outcome = run_spaps("nope")
    assert outcome.code == 2
    assert "No such command 'nope'" in outcome.stderr
