"""``spaps release check`` through the CLI against the loopback index: one exit code per outcome."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from spaps_cli.release.outcome import ReleaseExitCode

from .conftest import CHANGELOG, IndexServer, make_distribution, snapshot

OUTCOMES = [
    # (name on the index, local version, outcome, exit code)
    ("demo-pkg", "1.4.0", "AHEAD", 0),
    ("demo-pkg", "1.3.0", "AHEAD", 0),  # newer than the 1.3.0b1 pre-release on top
    ("never-uploaded", "0.1.0", "NOT_PUBLISHED", 10),
    ("demo-pkg", "1.2.0", "ALREADY_PUBLISHED", 11),  # yanked still counts
    ("demo-pkg", "1.1.0", "ALREADY_PUBLISHED", 11),  # published, though not the newest
    ("demo-pkg", "0.9", "ALREADY_PUBLISHED", 11),  # listed with no files left
    ("demo-pkg", "1.1.5", "BEHIND", 12),
    ("demo-pkg", "1.3.0a1", "BEHIND", 12),  # below the published pre-release
    ("broken", "1.0.0", "UNVERIFIABLE", 13),  # 500
    ("garbage", "1.0.0", "UNVERIFIABLE", 13),  # 200 but not JSON
]


@pytest.mark.parametrize(("name", "local", "outcome", "code"), OUTCOMES)
def test_each_outcome_has_its_exit_code(
    spaps: Any,
    index_server: IndexServer,
    tmp_path: Path,
    name: str,
    local: str,
    outcome: str,
    code: int,
) -> None:
    root = make_distribution(tmp_path / "dist", name=name, version=local)
    result = spaps("release", "check", "--index", index_server.url, "--json", cwd=root)
    assert result.code == code, result.stderr
    report = result.json()
    assert report["outcome"] == outcome
    assert report["exit_code"] == code
    assert report["publish"] is (outcome in {"AHEAD", "NOT_PUBLISHED"})
    assert report["reason"] == outcome
    assert report["tag"] == f"demo-v{local}"
    if name == "demo-pkg":
        assert report["published"] == "1.3.0b1"
        assert report["highest_final"] == "1.2.0"
        assert report["yanked"] == ["1.2.0"]


def test_codes_are_distinct_and_clear_of_the_generic_ones() -> None:
    outcome_codes = [
        ReleaseExitCode.NOT_PUBLISHED,
        ReleaseExitCode.ALREADY_PUBLISHED,
        ReleaseExitCode.BEHIND,
        ReleaseExitCode.UNVERIFIABLE,
    ]
    assert len(set(outcome_codes)) == 4
    assert all(int(code) >= 10 for code in outcome_codes)
    assert int(ReleaseExitCode.AHEAD) == 0


def test_a_hanging_index_is_unverifiable(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", name="slow")
    result = spaps(
        "release", "check", "--index", index_server.url, "--timeout", "0.3", "--json", cwd=root
    )
    assert result.code == 13
    assert "timed out" in result.json()["index"]["reason"]


def test_unreachable_index_fails_closed(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    result = spaps("release", "check", "--index", "http://127.0.0.1:9", "--timeout", "2", cwd=root)
    assert result.code == 13
    assert "UNVERIFIABLE" in result.stderr


def test_simple_api_through_the_cli(spaps: Any, index_server: IndexServer, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.2.0")
    result = spaps("release", "check", "--index", f"{index_server.url}/simple", "--json", cwd=root)
    assert result.code == 11
    assert result.json()["index"]["url"].endswith("/simple/demo-pkg/")


def test_offline_runs_only_local_checks(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    result = spaps("release", "check", "--offline", "--json", cwd=root)
    assert result.code == 0
    report = result.json()
    assert report["outcome"] == "OFFLINE"
    assert report["publish"] is False
    assert report["changelog_has_version"] is True
    assert report["version_file"] == "demo_pkg/__init__.py"


def test_drift_is_a_problem_naming_both_values(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0", dunder="0.9.0")
    result = spaps("release", "check", "--offline", "--json", cwd=root)
    assert result.code == 1
    [problem] = result.json()["problems"]
    assert "1.0.0" in problem
    assert "0.9.0" in problem
    assert "demo_pkg/__init__.py" in problem


def test_invalid_local_version_fails_the_check(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.2.x")
    result = spaps("release", "check", "--offline", "--json", cwd=root)
    assert result.code == 1
    assert "not valid PEP 440" in result.json()["problems"][0]


def test_unnormalised_version_is_a_warning(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.1.0-rc.1")
    result = spaps("release", "check", "--offline", "--json", cwd=root)
    report = result.json()
    assert result.code == 0
    assert report["version"] == "1.1.0rc1"
    assert any("published as 1.1.0rc1" in w for w in report["warnings"])


def test_missing_changelog_section_fails_only_with_strict(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.1.0")
    assert spaps("release", "check", "--offline", cwd=root).code == 0
    strict = spaps("release", "check", "--offline", "--strict", "--json", cwd=root)
    assert strict.code == 1
    assert "no '## [1.1.0]' section" in strict.json()["problems"][0]


def test_malformed_changelog_fails_the_check(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", changelog="# Changelog\n\n## [1.0.0]\n")
    result = spaps("release", "check", "--offline", "--json", cwd=root)
    assert result.code == 1
    assert "Unreleased" in result.json()["problems"][0]


def test_malformed_pyproject_is_a_usage_error(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    (root / "pyproject.toml").write_text('[project\nname = "x"\n')
    result = spaps("release", "check", "--offline", cwd=root)
    assert result.code == 2
    assert "invalid TOML" in result.stderr


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()


def init_repo(root: Path) -> None:
    git(root, "init", "--quiet", "--initial-branch", "main")
    git(root, "config", "user.name", "Release Test")
    git(root, "config", "user.email", "release@test.invalid")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "config", "tag.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "initial")


def test_tag_at_head_is_fine_and_elsewhere_is_a_problem(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.4.0", changelog=CHANGELOG)
    init_repo(root)
    git(root, "tag", "demo-v1.4.0")
    at_head = spaps("release", "check", "--index", index_server.url, "--json", cwd=root)
    assert at_head.code == 0
    assert at_head.json()["tag_at_head"] is True

    (root / "README.md").write_text("more code\n")
    git(root, "add", "README.md")
    git(root, "commit", "--quiet", "-m", "more")
    moved = spaps("release", "check", "--index", index_server.url, "--json", cwd=root)
    assert moved.code == 1
    assert "not at HEAD" in moved.json()["problems"][0]
    assert moved.json()["reason"] == "CHECK_FAILED"


def test_tag_prefix_can_be_overridden(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    result = spaps("release", "check", "--offline", "--tag-prefix", "x-", "--json", cwd=root)
    assert result.json()["tag"] == "x-1.0.0"


def test_a_local_version_label_is_a_problem(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    """Indexes refuse ``1.4.0+abc``: check must not say AHEAD / publish=true for it."""
    root = make_distribution(tmp_path / "dist", version="1.4.0+abc")
    result = spaps("release", "check", "--index", index_server.url, "--json", cwd=root)
    assert result.code == 1, result.stderr
    report = result.json()
    assert report["publish"] is False
    assert report["reason"] == "CHECK_FAILED"
    assert "has a local version label (+abc)" in report["problems"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--index", "http://[::1"], "--index 'http://[::1' is not a valid URL"),
        (["--timeout", "nan"], "--timeout nan is not a positive number"),
        (["--timeout", "-1"], "--timeout -1 is not a positive number"),
    ],
)
def test_bad_index_or_timeout_is_exit_2(
    spaps: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    root = make_distribution(tmp_path / "dist")
    result = spaps("release", "check", *args, cwd=root)
    assert result.code == 2
    assert message in result.stderr
    assert result.stderr.count("error:") == 1
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- proof of absence


@pytest.mark.parametrize(
    ("base", "name", "local", "code"),
    [
        ("/legacy", "never-uploaded", "0.1.0", 13),
        ("/pypi", "demo-pkg", "1.0.1", 13),  # the right path has 1.3.0b1: not a first release
        ("/root/pypi/+simple", "demo-pkg", "1.0.1", 13),
        ("/moved/simple", "demo-pkg", "1.0.1", 13),  # redirect to a 404
        ("", "never-uploaded", "0.1.0", 10),
        ("/html/simple", "never-uploaded", "0.1.0", 10),
        ("/html/simple", "demo-pkg", "1.2.0", 11),  # PEP 503 HTML only: read, not UNVERIFIABLE
        ("/html/simple", "legacy-files", "3.0", 12),  # 3.1 exists only as .exe/.msi
        ("/simple", "legacy-files", "3.2", 0),
        ("", "info-only", "1.5.0", 12),  # releases: {} but info.version 2.0.0
    ],
)
def test_not_published_only_when_the_index_proves_it(
    spaps: Any,
    index_server: IndexServer,
    tmp_path: Path,
    base: str,
    name: str,
    local: str,
    code: int,
) -> None:
    root = make_distribution(tmp_path / "dist", name=name, version=local)
    result = spaps("release", "check", "--index", f"{index_server.url}{base}", "--json", cwd=root)
    assert result.code == code, result.stdout
    assert result.json()["publish"] is (code in {0, 10})


def test_deeply_nested_json_is_one_line_and_unverifiable(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", name="deep")
    for command in (["check"], ["bump", "patch"]):
        result = spaps("release", *command, "--index", index_server.url, cwd=root)
        assert result.code == 13
        assert "Traceback" not in result.stderr
        assert "nested too deeply" in result.stderr


def test_an_empty_index_option_is_exit_2(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    before = snapshot(root)
    for command in (["check"], ["bump", "patch"]):
        result = spaps("release", *command, "--index", "", cwd=root)
        assert result.code == 2
        assert "--index is empty" in result.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize("base", ["", "/legacy", "http://[::1"])
def test_index_credentials_are_never_printed(
    spaps: Any, index_server: IndexServer, tmp_path: Path, base: str
) -> None:
    root = make_distribution(tmp_path / "dist", name="never-uploaded", version="0.1.0")
    if base.startswith("http"):
        index = "http://alice:pa55word@[::1"
    else:
        index = index_server.url.replace("http://", "http://alice:pa55word@") + base
    for command in (["check", "--json"], ["bump", "patch", "--dry-run", "--json"]):
        result = spaps("release", *command, "--index", index, cwd=root)
        assert result.code in {2, 10, 13, 0}, result.stderr
        for secret in ("pa55word", "alice"):
            assert secret not in result.stderr
            assert secret not in result.stdout


# --------------------------------------------------------------------------- the runtime's versions

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("base", ["", "/simple", "/html/simple"])
def test_the_runtime_is_ahead_of_the_other_distribution_of_its_name(
    spaps: Any, index_server: IndexServer, base: str
) -> None:
    """The loopback index serves the other spaps-server-quickstart's versions, 0.1.0 to 0.9.1."""
    result = spaps(
        "release",
        "check",
        "--package",
        "runtime",
        "--index",
        f"{index_server.url}{base}",
        "--json",
        cwd=REPO,
    )
    report = result.json()
    assert result.code == 0, report
    assert report["outcome"] == "AHEAD"
    assert report["published"] == "0.9.1"
    assert report["version"] == "1.0.0"
