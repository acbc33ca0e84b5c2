"""Absurd numbers are one-line errors: 10,000-digit versions and non-finite or huge options.

Before: a 10,000-digit version in ``release bump VERSION`` or in ``pyproject.toml`` was a
``ValueError`` traceback (Python refuses to turn more than 4,300 digits into an ``int``; that
is not ``InvalidVersion``), a 10,000-digit integer anywhere in ``pyproject.toml`` was one in
``doctor``, ``smoke --timeout nan|inf`` was accepted (``inf`` waits forever), and
``release --timeout 1e300`` or ``migrate -j 100000`` went through.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps

BIG = "1" * 10_000


def _distribution(root: Path, version: str = "1.0.0", changelog: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(f'[project]\nname = "demo-pkg"\nversion = "{version}"\n')
    (root / "demo_pkg").mkdir(exist_ok=True)
    (root / "demo_pkg" / "__init__.py").write_text(f'__version__ = "{version}"\n')
    if changelog is not None:
        (root / "CHANGELOG.md").write_text(changelog)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("arrange", "argv", "code"),
    [
        pytest.param("plain", ["release", "bump", f"{BIG}.0.0"], 2, id="bump explicit VERSION"),
        pytest.param("big", ["release", "bump", "patch"], 2, id="bump a big pyproject version"),
        pytest.param("big", ["release", "check"], 1, id="check a big pyproject version"),
        pytest.param("heading", ["release", "bump", "patch"], 2, id="big changelog heading"),
        pytest.param("heading", ["release", "check"], 1, id="check a big changelog heading"),
    ],
)
def test_ten_thousand_digit_versions(
    tmp_path: Path, run_spaps: RunSpaps, arrange: str, argv: list[str], code: int
) -> None:
    heading = f"# Changelog\n\n## [Unreleased]\n\n- x\n\n## [{BIG}.0] - 2026-01-01\n\n- y\n"
    root = _distribution(
        tmp_path / "dist",
        version=f"{BIG}.0" if arrange == "big" else "1.0.0",
        changelog=heading if arrange == "heading" else None,
    )
    before = _snapshot(root)
    outcome = run_spaps(*argv, "--offline", "--package", str(root))
    assert outcome.code == code, outcome.stderr[-500:]
    [line] = outcome.error_lines
    assert "PEP 440" in line
    assert len(line) < 400
    assert _snapshot(root) == before


@pytest.mark.parametrize(
    "command", [["doctor", "{root}"], ["add", "domain", "x", "--dir", "{root}"]]
)
def test_a_huge_integer_in_pyproject(
    tmp_path: Path, run_spaps: RunSpaps, command: list[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.spaps]\npackage = "billing_api"\nanswer = {BIG}\n'
    )
    outcome = run_spaps(*(arg.format(root=tmp_path) for arg in command))
    assert outcome.code == 2
    [line] = outcome.error_lines
    assert "pyproject.toml" in line
    assert "4300 digits" in line


OPTIONS = {
    "release check --timeout": (["release", "check", "--offline", "--timeout"], "--timeout"),
    "release bump --timeout": (["release", "bump", "patch", "--offline", "--timeout"], "--timeout"),
    "smoke --timeout": (["smoke", "{root}", "--timeout"], "--timeout"),
}


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1e300", "86401", "-1", "0"])
@pytest.mark.parametrize("option", sorted(OPTIONS))
def test_seconds_options_reject_absurd_values(
    tmp_path: Path, run_spaps: RunSpaps, option: str, value: str
) -> None:
    argv, name = OPTIONS[option]
    root = _distribution(tmp_path / "dist")
    outcome = run_spaps(*(a.format(root=root) for a in argv), value, "--package", str(root))
    if option.startswith("smoke"):  # smoke has no --package; the option is checked first anyway
        outcome = run_spaps(*(a.format(root=root) for a in argv), value)
    assert outcome.code == 2, outcome.stderr
    [line] = outcome.error_lines
    assert line.startswith(f"error: {name} "), line


@pytest.mark.parametrize("value", ["0", "-1", "257", "100000"])
def test_jobs_rejects_absurd_values(tmp_path: Path, run_spaps: RunSpaps, value: str) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    outcome = run_spaps("migrate", "--check", "-j", value, str(tmp_path))
    assert outcome.code == 2
    [line] = outcome.error_lines
    assert line.startswith("error: --jobs "), line


def test_sensible_values_still_work(tmp_path: Path, run_spaps: RunSpaps) -> None:
    root = _distribution(tmp_path / "dist")
    assert (
        run_spaps("release", "check", "--offline", "--timeout", "0.5", "--package", str(root)).code
        == 0
    )
    (tmp_path / "a.py").write_text("x = 1\n")
    assert run_spaps("migrate", "--check", "-j", "256", str(tmp_path / "a.py")).code == 0
