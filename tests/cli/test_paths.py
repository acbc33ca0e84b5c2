"""Symlink loops and links out of the project, wherever the CLI opens a path.

Before ``spaps_cli.paths``, a loop as ``--dir`` or PATH was a ``RuntimeError`` traceback, a
looping ``registry.py`` an ``OSError`` traceback, a looping ``CHANGELOG.md`` a silent "no
CHANGELOG.md" (and ``release bump`` went on without it), and a ``registry.py`` or
``CHANGELOG.md`` linking out of the project was read as if it were the project's own.
Each case must be one ``error:`` line, exit 2, and nothing written anywhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps

PACKAGE = "billing_api"
REGISTRY = f"src/{PACKAGE}/api/registry.py"
TASKS = f"src/{PACKAGE}/domains/things/tasks.py"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from spaps_cli.app import run

    root = tmp_path_factory.mktemp("pristine") / "billing-api"
    assert run(["new", "service", "billing-api", "--dir", str(root)]) == 0
    assert run(["add", "domain", "things", "--dir", str(root)]) == 0
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n### Added\n- x\n")
    return root


@pytest.fixture
def work(pristine: Path, tmp_path: Path) -> Path:
    """``tmp_path/svc`` (a copy of the service) and ``tmp_path/outside.txt`` next to it."""
    shutil.copytree(pristine, tmp_path / "svc", symlinks=True)
    (tmp_path / "outside.txt").write_text("not the project's\n")
    (tmp_path / "loop").symlink_to("loop")
    return tmp_path


def _loop(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.name)


Case = tuple[Callable[[Path], None], list[str], str]

CASES: dict[str, Case] = {
    "new --dir loop": (lambda w: None, ["new", "service", "demo-api", "--dir", "{w}/loop"], "loop"),
    "add domain --dir loop": (lambda w: None, ["add", "domain", "x", "--dir", "{w}/loop"], "loop"),
    "add task --dir loop": (
        lambda w: None,
        ["add", "task", "ping", "--domain", "things", "--dir", "{w}/loop"],
        "loop",
    ),
    "doctor PATH loop": (lambda w: None, ["doctor", "{w}/loop"], "loop"),
    "smoke PATH loop": (lambda w: None, ["smoke", "{w}/loop"], "loop"),
    "migrate PATH loop": (lambda w: None, ["migrate", "{w}/loop"], "loop"),
    "release --package loop": (
        lambda w: None,
        ["release", "check", "--offline", "--package", "{w}/loop"],
        "loop",
    ),
    "smoke --logs loop": (lambda w: None, ["smoke", "{w}/svc", "--logs", "{w}/loop"], "loop"),
    "doctor --fleet loop": (lambda w: None, ["doctor", "{w}/svc", "--fleet", "{w}/loop"], "loop"),
    "spaps-fleet.toml loop": (
        lambda w: (w / "spaps-fleet.toml").symlink_to("spaps-fleet.toml"),
        ["doctor", "{w}/svc", "--fleet", "{w}"],
        "loop",
    ),
    "registry.py loop": (
        lambda w: _loop(w / "svc" / REGISTRY),
        ["add", "domain", "x", "--dir", "{w}/svc"],
        "loop",
    ),
    "registry.py outside": (
        lambda w: _link_out(w, REGISTRY),
        ["add", "domain", "x", "--dir", "{w}/svc"],
        "outside",
    ),
    "tasks.py loop": (
        lambda w: _loop(w / "svc" / TASKS),
        ["add", "task", "ping", "--domain", "things", "--dir", "{w}/svc"],
        "loop",
    ),
    "tasks.py outside": (
        lambda w: _link_out(w, TASKS),
        ["add", "task", "ping", "--domain", "things", "--dir", "{w}/svc"],
        "outside",
    ),
    "pyproject.toml loop": (
        lambda w: _loop(w / "svc" / "pyproject.toml"),
        ["add", "domain", "x", "--dir", "{w}/svc"],
        "loop",
    ),
    "CHANGELOG.md loop, check": (
        lambda w: _loop(w / "svc" / "CHANGELOG.md"),
        ["release", "check", "--offline", "--package", "{w}/svc"],
        "loop",
    ),
    "CHANGELOG.md loop, bump": (
        lambda w: _loop(w / "svc" / "CHANGELOG.md"),
        ["release", "bump", "patch", "--offline", "--package", "{w}/svc"],
        "loop",
    ),
    "CHANGELOG.md outside, bump": (
        lambda w: _link_out(w, "CHANGELOG.md"),
        ["release", "bump", "patch", "--offline", "--package", "{w}/svc"],
        "outside",
    ),
}


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every entry under ``root``, links as their targets (never followed: some loop)."""
    found: dict[str, bytes] = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            key = path.relative_to(root).as_posix()
            found[key] = (
                b"-> " + os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            )
    return found


def _link_out(work: Path, relative: str) -> None:
    path = work / "svc" / relative
    path.unlink()
    path.symlink_to(work / "outside.txt")


@pytest.mark.parametrize("case", sorted(CASES))
def test_loops_and_escapes_are_one_line_errors(work: Path, run_spaps: RunSpaps, case: str) -> None:
    arrange, argv, kind = CASES[case]
    arrange(work)
    before = _snapshot(work)
    outcome = run_spaps(*(arg.format(w=work) for arg in argv))
    assert outcome.code == 2, outcome.stderr
    [line] = outcome.error_lines
    if kind == "loop":
        assert "symlink loop" in line, line
    else:
        assert "leads outside" in line, line
    assert _snapshot(work) == before
