"""Release series: a patch never leaves its series, and a declared maintenance series publishes.

Against the loopback index: ``next-rc`` has 1.0.0, 1.1.0 and 2.0.0rc1; ``next-out`` has 1.0.0,
1.1.0, 1.1.1 and 2.0.0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import IndexServer, make_distribution, snapshot

DATE = ("--date", "2026-12-01")


def with_series(root: Path, series: str) -> Path:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + f'series = "{series}"\n')
    return root


def test_patch_never_jumps_to_the_next_series(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    """Local 1.1.0, index 2.0.0rc1: patch used to give 2.0.0 final, exit 0."""
    root = make_distribution(tmp_path / "dist", name="next-rc", version="1.1.0")
    before = snapshot(root)
    for kind in ("patch", "prerelease"):
        result = spaps("release", "bump", kind, "--index", index_server.url, *DATE, cwd=root)
        assert result.code == 2, result.stderr
        assert "leave 1.1" in result.stderr
        assert "--series 1.1" in result.stderr
    assert snapshot(root) == before


def test_patch_within_the_same_series_still_starts_from_the_index(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", name="next-out", version="1.1.0")
    result = spaps(
        "release",
        "bump",
        "patch",
        "--index",
        index_server.url,
        "--series",
        "1.1",
        *DATE,
        "--json",
        cwd=root,
    )
    assert result.code == 0, result.stderr
    assert result.json()["new"] == "1.1.2"  # 1.1.1 is out: from the series' highest


@pytest.mark.parametrize("declared", ["flag", "config"])
def test_a_maintenance_bump_stays_in_its_series(
    spaps: Any, index_server: IndexServer, tmp_path: Path, declared: str
) -> None:
    root = make_distribution(tmp_path / "dist", name="next-rc", version="1.1.0")
    flag = ["--series", "1.1"] if declared == "flag" else []
    if declared == "config":
        with_series(root, "1.1")
    result = spaps(
        "release", "bump", "patch", "--index", index_server.url, *flag, *DATE, "--json", cwd=root
    )
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["new"] == "1.1.1"
    assert report["forced"] is False
    assert any("maintenance release in the 1.1 series" in n for n in report["notes"])
    assert 'version = "1.1.1"' in (root / "pyproject.toml").read_text()


def test_a_maintenance_series_refuses_minor_and_versions_outside_it(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = with_series(make_distribution(tmp_path / "dist", name="next-rc", version="1.1.0"), "1.1")
    before = snapshot(root)
    minor = spaps("release", "bump", "minor", "--index", index_server.url, cwd=root)
    assert minor.code == 2
    assert "leaves the maintenance series 1.1" in minor.stderr
    outside = spaps("release", "bump", "1.2.0", "--index", index_server.url, cwd=root)
    assert outside.code == 2
    assert "not in the maintenance series 1.1" in outside.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("local", "series", "outcome", "code"),
    [
        ("1.1.2", "1.1", "MAINTENANCE", 14),  # newest in 1.1 after 2.0.0: publishable
        ("1.1.2", None, "BEHIND", 12),  # not declared: behind stays behind
        ("1.1.1", "1.1", "ALREADY_PUBLISHED", 11),
        ("1.0.1", "1.0", "MAINTENANCE", 14),  # an older series may have maintenance too
        ("1.1.1rc1", "1.1", "BEHIND", 12),  # below 1.1.1, the newest of its own series
        ("2.0.1", "2.0", "AHEAD", 0),  # newest overall: AHEAD, series or not
    ],
)
def test_check_says_maintenance_for_the_newest_of_its_series(
    spaps: Any,
    index_server: IndexServer,
    tmp_path: Path,
    local: str,
    series: str | None,
    outcome: str,
    code: int,
) -> None:
    root = make_distribution(tmp_path / "dist", name="next-out", version=local)
    flag = ["--series", series] if series else []
    result = spaps("release", "check", "--index", index_server.url, *flag, "--json", cwd=root)
    assert result.code == code, result.stdout
    report = result.json()
    assert report["outcome"] == outcome
    assert report["publish"] is (outcome in {"MAINTENANCE", "AHEAD"})
    assert report["series"] == series


def test_a_version_outside_the_declared_series_is_a_problem(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = with_series(
        make_distribution(tmp_path / "dist", name="next-out", version="2.0.1"), "1.1"
    )
    check = spaps("release", "check", "--index", index_server.url, "--json", cwd=root)
    assert check.code == 1
    assert "not in the declared maintenance series 1.1" in check.json()["problems"][0]
    bump = spaps("release", "bump", "patch", "--index", index_server.url, cwd=root)
    assert bump.code == 2


@pytest.mark.parametrize("bad", ["1", "1.1.0", "x.y", "", "1.1-rc"])
def test_a_malformed_series_is_exit_2(spaps: Any, tmp_path: Path, bad: str) -> None:
    root = make_distribution(tmp_path / "dist", version="1.1.0")
    for command in (["check", "--offline"], ["bump", "patch", "--offline"]):
        result = spaps("release", *command, "--series", bad, cwd=root)
        assert result.code == 2, result.stderr
        assert "is not a release series" in result.stderr


def test_behind_says_how_to_publish_a_maintenance_release(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", name="next-out", version="1.1.2")
    result = spaps("release", "check", "--index", index_server.url, "--json", cwd=root)
    assert result.code == 12
    assert any("--series 1.1" in warning for warning in result.json()["warnings"])
    behind = make_distribution(tmp_path / "behind", name="next-out", version="1.1.1rc1")
    quiet = spaps("release", "check", "--index", index_server.url, "--json", cwd=behind)
    assert quiet.code == 12
    assert not any("--series" in warning for warning in quiet.json()["warnings"])
