"""How ``spaps`` prints: label-only colouring, ``-q``/``-v``, ``--color`` and ``NO_COLOR``.

Colour is asserted on the bytes a real process writes (ANSI escapes), with ``--color always`` or
``FORCE_COLOR`` standing in for a terminal, because that is what a user's terminal receives.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps, spaps_process

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _error_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if "error:" in ANSI.sub("", line))


def test_error_colours_only_its_label(tmp_path: Path) -> None:
    """The message after ``error:`` is plain text: only the label carries the colour."""
    outcome = spaps_process(
        ["add", "domain", "users", "--dir", str(tmp_path)], env={"FORCE_COLOR": "1", "NO_COLOR": ""}
    )
    assert outcome.code == 2
    line = _error_line(outcome.stderr)
    # a style, the label, a reset, then the message without a single escape
    assert re.fullmatch(r"\x1b\[[0-9;]+merror:\x1b\[0m no pyproject\.toml[^\x1b]*", line), line


def test_status_colours_only_its_verb(tmp_path: Path) -> None:
    """``would update  app.py``: the verb is coloured, the path is plain."""
    root = _service_with_changes(tmp_path / "svc", 1)
    outcome = spaps_process(["--color", "always", "migrate", "--check", str(root)])
    assert outcome.code == 1
    line = next(line for line in outcome.stderr.splitlines() if "would update" in line)
    assert re.fullmatch(r"\x1b\[[0-9;]+m {0,12}would update\x1b\[0m  [^\x1b]*app_0\.py", line), line


def _service_with_changes(root: Path, files: int) -> Path:
    """A directory of ``files`` modules that each need the on-event-to-lifespan rewrite."""
    from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan

    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "old"\nversion = "1.0"\n')
    for index in range(files):
        (root / f"app_{index}.py").write_text(OnEventToLifespan.EXAMPLES[0].before)
    return root


def test_check_prints_one_line_per_file_by_default(run_spaps: RunSpaps, tmp_path: Path) -> None:
    root = _service_with_changes(tmp_path / "svc", 40)
    outcome = run_spaps("migrate", "--check", "--jobs", "1", str(root))
    assert outcome.code == 1
    assert sum("would update" in line for line in outcome.stderr.splitlines()) == 40


def test_quiet_check_prints_only_the_summary(run_spaps: RunSpaps, tmp_path: Path) -> None:
    root = _service_with_changes(tmp_path / "svc", 40)
    outcome = run_spaps("-q", "migrate", "--check", "--jobs", "1", str(root))
    assert outcome.code == 1
    assert "would update" not in outcome.stderr
    assert "files scanned" in outcome.stderr  # the summary table stays
    assert len(outcome.stderr.splitlines()) < 20


def test_double_quiet_prints_nothing_but_errors(run_spaps: RunSpaps, tmp_path: Path) -> None:
    root = _service_with_changes(tmp_path / "svc", 40)
    (root / "broken.py").write_text('@app.on_event("startup")\ndef broken(:\n')
    outcome = run_spaps("-qq", "migrate", "--check", "--jobs", "1", str(root))
    assert outcome.code == 2  # a file that cannot be parsed
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert lines
    assert all(line.startswith("error: ") for line in lines), outcome.stderr
    assert "broken.py" in lines[0]


def test_quiet_keeps_errors_and_their_hint(run_spaps: RunSpaps, tmp_path: Path) -> None:
    outcome = run_spaps("-qq", "add", "domain", "users", "--dir", str(tmp_path))
    assert outcome.code == 2
    assert outcome.stderr.splitlines()[0].startswith("error: no pyproject.toml")
    assert outcome.stderr.splitlines()[1].startswith("hint: ")


def test_quiet_does_not_hide_results_asked_for(run_spaps: RunSpaps, tmp_path: Path) -> None:
    root = _service_with_changes(tmp_path / "svc", 2)
    outcome = run_spaps("-qq", "migrate", "--diff", "--jobs", "1", str(root))
    assert outcome.code == 1
    assert outcome.stdout.count("+++ ") == 2
    json_outcome = run_spaps("-qq", "migrate", "--check", "--json", "--jobs", "1", str(root))
    assert json_outcome.json()["files"]["changed"] == 2


def test_verbose_adds_debug_lines(run_spaps: RunSpaps, tmp_path: Path) -> None:
    root = _service_with_changes(tmp_path / "svc", 2)
    quiet = run_spaps("migrate", "--check", "--jobs", "1", str(root))
    verbose = run_spaps("-v", "migrate", "--check", "--jobs", "1", str(root))
    assert verbose.code == quiet.code == 1
    assert "codemods: " in verbose.stderr
    assert "codemods: " not in quiet.stderr


COLOR_CASES = [
    # (flag, environment, coloured?)
    (None, {}, False),  # not a terminal
    (None, {"FORCE_COLOR": "1"}, True),
    (None, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins, as in uv
    (None, {"FORCE_COLOR": "0"}, True),  # any non-empty value (force-color.org)
    (None, {"NO_COLOR": ""}, False),
    ("always", {}, True),
    ("always", {"NO_COLOR": "1"}, True),  # the flag wins over the environment
    ("never", {"FORCE_COLOR": "1"}, False),
    ("auto", {"FORCE_COLOR": "1"}, True),
]


@pytest.mark.parametrize(("flag", "environ", "coloured"), COLOR_CASES)
def test_color_flag_and_environment(
    tmp_path: Path, flag: str | None, environ: dict[str, str], coloured: bool
) -> None:
    argv = ["--color", flag] if flag else []
    env = {"NO_COLOR": "", "FORCE_COLOR": "", **environ}
    outcome = spaps_process([*argv, "add", "domain", "users", "--dir", str(tmp_path)], env=env)
    assert outcome.code == 2
    assert bool(ANSI.search(outcome.stderr)) is coloured, outcome.stderr


def test_color_always_colours_diffs_on_stdout(tmp_path: Path) -> None:
    root = _service_with_changes(tmp_path / "svc", 1)
    env = {"NO_COLOR": "", "FORCE_COLOR": ""}
    plain = spaps_process(["migrate", "--diff", str(root)], env=env)
    coloured = spaps_process(["--color", "always", "migrate", "--diff", str(root)], env=env)
    assert plain.code == coloured.code == 1
    assert not ANSI.search(plain.stdout)
    assert ANSI.search(coloured.stdout)
    assert ANSI.sub("", coloured.stdout) == plain.stdout


def test_a_bad_color_is_refused_by_the_parser(run_spaps: RunSpaps) -> None:
    outcome = run_spaps("--color", "sometimes", "doctor")
    assert outcome.code == 2
    assert "'sometimes' is not one of 'auto', 'always', 'never'" in outcome.stderr
