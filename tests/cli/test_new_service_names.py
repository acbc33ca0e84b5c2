"""Bad input never reaches the disk: one error line, non-zero exit, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps, spaps_process
from spaps_cli.errors import ExitCode

BAD_NAMES = {
    "keyword": ("class", "Python keyword"),
    "soft keyword": ("match", "Python keyword"),
    "leading digit": ("1svc", "must not start with a digit"),
    "parent traversal": ("../x", "'..' is not allowed"),
    "absolute path": ("/abs", "absolute paths are not allowed"),
    "windows device": ("con", "reserved device name on Windows"),
    "stack package": ("fastapi", "would shadow a package of the service stack"),
    "space": ("a b", "must be kebab-case"),
    "empty": ("", "the service name is empty"),
    "200 characters": ("a" * 200, "is 200 characters long; at most 40"),
    "stdlib module": ("json", "would shadow the standard library module"),
    "snake case": ("billing_api", "must be kebab-case"),
    "upper case": ("Billing", "must be kebab-case"),
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory inside an otherwise empty parent (to see `..` escapes)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize(("name", "problem"), BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_bad_name_is_refused_before_anything_is_written(
    run_spaps: RunSpaps, workdir: Path, name: str, problem: str
) -> None:
    outcome = run_spaps("new", "service", name)

    assert outcome.code == ExitCode.USAGE
    assert len(outcome.error_lines) == 1, outcome.stderr
    assert outcome.stderr.startswith("error: invalid service name")
    assert problem in outcome.stderr
    assert "hint: use lowercase kebab-case" in outcome.stderr
    assert outcome.stdout == ""
    assert list(workdir.iterdir()) == []
    assert [p.name for p in workdir.parent.iterdir()] == ["work"]


def test_bad_name_with_explicit_dir_writes_nothing(run_spaps: RunSpaps, tmp_path: Path) -> None:
    target = tmp_path / "target"
    outcome = run_spaps("new", "service", "class", "--dir", str(target), "--json")
    assert outcome.code == ExitCode.USAGE
    assert outcome.stdout == ""  # no half JSON document either
    assert not target.exists()


def test_caret_points_at_the_first_bad_character(run_spaps: RunSpaps, workdir: Path) -> None:
    outcome = run_spaps("new", "service", "billing_api")
    lines = outcome.stderr.splitlines()
    shown = lines.index("  billing_api")
    assert lines[shown + 1] == "  " + " " * len("billing") + "^"


def test_description_must_be_one_line(run_spaps: RunSpaps, workdir: Path) -> None:
    outcome = run_spaps("new", "service", "billing-api", "--description", "two\nlines")
    assert outcome.code == ExitCode.USAGE
    assert outcome.error_lines == ["error: --description must be a single line of text"]
    assert list(workdir.iterdir()) == []


def test_force_and_skip_together_are_refused(run_spaps: RunSpaps, workdir: Path) -> None:
    outcome = run_spaps("new", "service", "billing-api", "--force", "--skip")
    assert outcome.code == ExitCode.USAGE
    assert outcome.error_lines == ["error: --force and --skip contradict each other"]
    assert list(workdir.iterdir()) == []


def test_bad_name_as_a_real_process(tmp_path: Path) -> None:
    """The exit code survives the console-script path (SystemExit), not only run()."""
    outcome = spaps_process(["new", "service", "1svc"], cwd=tmp_path)
    assert outcome.code == ExitCode.USAGE
    assert outcome.error_lines == [
        "error: invalid service name '1svc': must not start with a digit"
    ]
    assert list(tmp_path.iterdir()) == []
