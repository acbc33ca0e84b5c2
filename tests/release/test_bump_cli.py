"""``spaps release bump`` end to end: files change together or not at all, byte-for-byte."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import CHANGELOG, IndexServer, make_distribution, snapshot
from .test_check_cli import git, init_repo

REPO = Path(__file__).resolve().parents[2]
DATE = ("--date", "2026-11-26")


def test_patch_updates_all_three_files(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    result = spaps("release", "bump", "patch", "--offline", *DATE, "--json", cwd=root)
    assert result.code == 0, result.stderr
    assert result.json()["new"] == "1.0.1"
    assert 'version = "1.0.1"' in (root / "pyproject.toml").read_text()
    assert '__version__ = "1.0.1"' in (root / "demo_pkg/__init__.py").read_text()
    changelog = (root / "CHANGELOG.md").read_text()
    assert (
        "## [Unreleased]\n\n## [1.0.1] - 2026-11-26\n\n### Added\n- A shiny thing.\n" in changelog
    )
    assert "[1.0.1]: https://github.com/acme/demo/compare/demo-v1.0.0...demo-v1.0.1\n" in changelog
    # and the release is now consistent for check
    assert spaps("release", "check", "--offline", "--strict", cwd=root).code == 0


def test_bump_starts_from_the_published_version(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    result = spaps(
        "release", "bump", "minor", "--index", index_server.url, *DATE, "--json", cwd=root
    )
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["base"] == "1.3.0b1"
    assert report["new"] == "1.3.0"  # minor on the published 1.3.0b1 finalises it
    assert report["index"]["highest"] == "1.3.0b1"
    assert "the index is ahead" in result.stderr
    # the same index line as ``release check`` prints (one report layout for both)
    checked = spaps("release", "check", "--index", index_server.url, cwd=root)
    index_line = next(line for line in checked.stderr.splitlines() if "index: highest" in line)
    assert index_line in result.stderr.splitlines()
    assert "index: highest 1.3.0b1, highest final 1.2.0" in index_line


def test_explicit_lower_version_is_refused_and_nothing_written(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    before = snapshot(root)
    result = spaps("release", "bump", "1.2.5", "--index", index_server.url, cwd=root)
    assert result.code == 2
    assert "not newer than 1.3.0b1" in result.stderr
    assert snapshot(root) == before
    published = spaps("release", "bump", "1.1.0", "--index", index_server.url, "--force", cwd=root)
    assert published.code == 2
    assert "already on the index" in published.stderr
    assert snapshot(root) == before


def test_force_allows_a_backport_with_a_warning(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.1.0")
    result = spaps(
        "release", "bump", "1.1.1", "--index", index_server.url, "--force", *DATE, cwd=root
    )
    assert result.code == 0, result.stderr
    assert "warning: --force" in result.stderr
    assert 'version = "1.1.1"' in (root / "pyproject.toml").read_text()


def test_explicit_version_is_written_normalised(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.2.3")
    result = spaps("release", "bump", "1.2.4-rc.1", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert 'version = "1.2.4rc1"' in (root / "pyproject.toml").read_text()
    assert "## [1.2.4rc1] - 2026-11-26" in (root / "CHANGELOG.md").read_text()


@pytest.mark.parametrize("name", ["broken", "slow"])
def test_unverifiable_index_stops_the_bump(
    spaps: Any, index_server: IndexServer, tmp_path: Path, name: str
) -> None:
    root = make_distribution(tmp_path / "dist", name=name)
    before = snapshot(root)
    result = spaps(
        "release", "bump", "patch", "--index", index_server.url, "--timeout", "0.3", cwd=root
    )
    assert result.code == 13
    assert "could not read" in result.stderr
    assert snapshot(root) == before
    forced = spaps(
        "release", "bump", "patch", "--index", index_server.url, "--timeout", "0.3",
        "--force", "--dry-run", cwd=root,
    )  # fmt: skip
    assert forced.code == 0
    assert "unverifiable" in forced.stderr


def test_dry_run_prints_diffs_and_writes_nothing(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    before = snapshot(root)
    result = spaps("release", "bump", "major", "--offline", "--dry-run", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert snapshot(root) == before
    assert '-version = "1.0.0"\n+version = "2.0.0"' in result.stdout
    assert '-__version__ = "1.0.0"\n+__version__ = "2.0.0"' in result.stdout
    assert "+## [2.0.0] - 2026-11-26" in result.stdout
    assert "would update  pyproject.toml" in result.stderr
    as_json = spaps("release", "bump", "major", "--offline", "--dry-run", "--json", cwd=root)
    files = {row["path"]: row for row in as_json.json()["files"]}
    assert '+version = "2.0.0"' in files["pyproject.toml"]["diff"]
    assert snapshot(root) == before


ODD_PYPROJECT = """\
# A hand-written file: comments, odd spacing, inline tables, literal strings.
[build-system]
requires=["hatchling"]   # tight
build-backend  =  'hatchling.build'

[project]
name    = "demo-pkg"      # the name
version   =   '1.0.0'     # keep this comment
authors = [ { name = "A", email = "a@example.com" },   {name="B"} ]
urls = { Repository = "https://github.com/acme/demo" , "Bug Tracker" = "https://github.com/acme/demo/issues" }
dependencies = [
    "httpx>=0.27",  # client
    # "disabled>=1",
]

[tool.hatch.build.targets.wheel]
packages = ["demo_pkg"]

[tool.other]
version = "1.0.0"   # a different table's version must not move
"""


def test_pyproject_formatting_is_kept_byte_for_byte(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    (root / "pyproject.toml").write_text(ODD_PYPROJECT)
    result = spaps("release", "bump", "minor", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    expected = ODD_PYPROJECT.replace("version   =   '1.0.0'", "version   =   '1.1.0'")
    assert (root / "pyproject.toml").read_bytes() == expected.encode()


def test_project_as_inline_table_keeps_its_layout(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    text = 'project = { name = "demo-pkg",  version="1.0.0" , license = { text = "MIT" } }\n'
    (root / "pyproject.toml").write_text(text)
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert (root / "pyproject.toml").read_text() == text.replace('"1.0.0"', '"1.0.1"')


@pytest.mark.parametrize("source", ["", 'source = "regex"\n'])
def test_hatch_dynamic_version_is_read_from_the_version_file(
    spaps: Any, tmp_path: Path, source: str
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    text = (root / "pyproject.toml").read_text().replace(
        'version = "1.0.0"', 'dynamic = ["version"]'
    ) + f'\n[tool.hatch.version]\n{source}path = "demo_pkg/__init__.py"\n'
    (root / "pyproject.toml").write_text(text)
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert (root / "pyproject.toml").read_text() == text
    assert '__version__ = "1.0.1"' in (root / "demo_pkg/__init__.py").read_text()


@pytest.mark.parametrize(
    "hatch_version",
    [
        'source = "vcs"\n',
        # hatch ignores ``path`` for any source but ``regex``: editing it would bump nothing
        'source = "vcs"\npath = "demo_pkg/__init__.py"\n',
        'source = "code"\npath = "demo_pkg/__init__.py"\n',
    ],
)
def test_other_dynamic_versions_are_a_clear_error(
    spaps: Any, tmp_path: Path, hatch_version: str
) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0")
    text = (root / "pyproject.toml").read_text().replace(
        'version = "1.0.0"', 'dynamic = ["version"]'
    ) + f"\n[tool.hatch.version]\n{hatch_version}"
    (root / "pyproject.toml").write_text(text)
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", cwd=root)
    assert result.code == 2
    assert "version is dynamic and not read from a __version__ file" in result.stderr
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("pyproject.toml", '[project]\nname = "demo-pkg"\nversion = "1.0.0\n', "invalid TOML"),
        ("pyproject.toml", '[project]\nname = "demo-pkg"\n', "has no version"),
        ("pyproject.toml", "[tool.x]\na = 1\n", "no [project] table"),
        (
            "pyproject.toml",
            '[project]\nname = "demo-pkg"\nversion = "1.x"\n',
            "not a valid PEP 440",
        ),
        ("CHANGELOG.md", "# Changelog\n\n## [1.0.0] - 2026-01-01\n", "no '## [Unreleased]'"),
        ("CHANGELOG.md", "## [Unreleased]\n\n## [banana]\n", "not a PEP 440 version"),
        ("CHANGELOG.md", b"## [Unreleased]\n\xff\xfe\n", "not UTF-8"),
        ("demo_pkg/__init__.py", '__version__ = "1.0.0"\n__version__ = "1.0.0"\n', "2 times"),
    ],
)
def test_malformed_files_are_one_line_errors_and_nothing_is_written(
    spaps: Any, tmp_path: Path, file: str, content: str | bytes, message: str
) -> None:
    root = make_distribution(tmp_path / "dist")
    target = root / file
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.count("error:") == 1
    assert snapshot(root) == before


def test_drift_stops_the_bump_naming_both_values(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="1.0.0", dunder="0.9.9")
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", cwd=root)
    assert result.code == 2
    assert "1.0.0" in result.stderr
    assert "0.9.9" in result.stderr
    assert snapshot(root) == before


def test_existing_heading_is_refused(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", version="0.9.0")
    before = snapshot(root)
    result = spaps("release", "bump", "1.0.0", "--offline", cwd=root)
    assert result.code == 3
    assert "already has a heading for 1.0.0" in result.stderr
    assert snapshot(root) == before


def test_empty_unreleased_warns_and_fails_with_strict(spaps: Any, tmp_path: Path) -> None:
    empty = CHANGELOG.replace("### Added\n- A shiny thing.\n\n", "")
    root = make_distribution(tmp_path / "dist", changelog=empty)
    before = snapshot(root)
    strict = spaps("release", "bump", "patch", "--offline", "--strict", cwd=root)
    assert strict.code == 2
    assert "Unreleased section is empty" in strict.stderr
    assert snapshot(root) == before
    loose = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert loose.code == 0
    assert "warning: CHANGELOG.md: the Unreleased section is empty" in loose.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["patch", "--date", "26/11/2026"], "not a date"),
        (["patch", "--date", "2026-02-30"], "not a date"),
        (["patch", "--pre", "c"], "'c' is not one of 'a', 'b', 'rc'"),  # refused by the parser
        (["1.2.0", "--pre", "rc"], "--pre and --dev only apply"),
        (["patch", "--tag"], "--tag needs --commit"),
        (["sideways"], "not a valid PEP 440 version"),
        (["patch", "--index", "http://[::1"], "--index 'http://[::1' is not a valid URL"),
        (["patch", "--index", "ftp://files.example"], "is not an http(s) URL"),
        (["patch", "--timeout", "nan"], "--timeout nan is not a positive number"),
        (["patch", "--timeout", "inf"], "--timeout inf is not a positive number"),
        (["patch", "--timeout", "0"], "--timeout 0 is not a positive number"),
    ],
)
def test_bad_options(spaps: Any, tmp_path: Path, args: list[str], message: str) -> None:
    root = make_distribution(tmp_path / "dist")
    before = snapshot(root)
    result = spaps("release", "bump", *args, "--offline", cwd=root)
    assert result.code == 2
    assert message in result.stderr
    assert result.stderr.lower().count("error:") == 1
    assert "Traceback" not in result.stderr
    assert snapshot(root) == before


def test_write_failure_leaves_every_file_unchanged(
    spaps: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up on the last of the three files: the first two are rolled back."""
    import errno
    import os

    root = make_distribution(tmp_path / "dist")
    before = snapshot(root)
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name == "CHANGELOG.md":
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 4
    assert "No space left on device" in result.stderr
    assert snapshot(root) == before
    assert not [p for p in root.rglob("*.spaps-tmp")]


def test_commit_and_tag_in_a_clean_repository(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    init_repo(root)
    result = spaps(
        "release", "bump", "minor", "--offline", *DATE, "--commit", "--tag", "--json", cwd=root
    )
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["tagged"] is True
    assert git(root, "log", "-1", "--format=%s") == "Release demo-pkg 1.1.0"
    assert git(root, "rev-parse", "demo-v1.1.0^{commit}") == report["commit"]
    assert git(root, "status", "--porcelain") == ""
    changed = git(root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert sorted(changed) == ["CHANGELOG.md", "demo_pkg/__init__.py", "pyproject.toml"]
    check = spaps("release", "check", "--offline", "--json", cwd=root)
    assert check.json()["tag_at_head"] is True


def test_dirty_tree_is_refused_before_anything_is_written(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    init_repo(root)
    (root / "demo_pkg" / "__init__.py").write_text('__version__ = "1.0.0"\n# local edit\n')
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", "--commit", cwd=root)
    assert result.code == 2
    assert "uncommitted changes (demo_pkg/__init__.py)" in result.stderr
    assert snapshot(root) == before
    assert git(root, "log", "--format=%s") == "initial"


def test_existing_tag_is_refused(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    init_repo(root)
    git(root, "tag", "demo-v1.0.1")
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", "--commit", "--tag", cwd=root)
    assert result.code == 3
    assert "tag demo-v1.0.1 already exists" in result.stderr
    assert snapshot(root) == before


def test_commit_outside_a_repository_is_refused(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    result = spaps("release", "bump", "patch", "--offline", "--commit", cwd=root)
    assert result.code == 2
    assert "not in a git repository" in result.stderr


def test_dry_run_on_a_copy_of_this_repositorys_runtime(spaps: Any, tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    copy.mkdir()
    (copy / ".git").mkdir()  # marks the repository root, so --package runtime resolves from it
    shutil.copytree(
        REPO / "runtime", copy / "runtime", ignore=shutil.ignore_patterns("__pycache__")
    )
    before = snapshot(copy)
    result = spaps(
        "release", "bump", "patch", "--package", "runtime", "--dry-run", "--offline", *DATE,
        "--json", cwd=copy / "runtime" / "spaps_server_quickstart",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    report = result.json()
    assert report["name"] == "spaps-server-quickstart"
    assert report["tag"].startswith("runtime-v")
    paths = {row["path"] for row in report["files"]}
    assert {"pyproject.toml", "spaps_server_quickstart/__init__.py", "CHANGELOG.md"} <= paths
    assert snapshot(copy) == before


def test_the_cli_bumps_through_the_installed_entry_point(tmp_path: Path) -> None:
    """The real console script, as CI calls it (one subprocess; everything else is in-process)."""
    root = make_distribution(tmp_path / "dist")
    # The console script installed next to the interpreter running the tests (PATH may not
    # include the virtualenv: CI calls .venv/bin/pytest directly).
    spaps_script = Path(sys.executable).parent / "spaps"
    completed = subprocess.run(
        [str(spaps_script), "release", "bump", "patch", "--offline", "--dry-run"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert '+version = "1.0.1"' in completed.stdout


def test_first_release_gives_the_current_version_its_section(
    spaps: Any, index_server: IndexServer, tmp_path: Path
) -> None:
    """NOT_PUBLISHED: the local version is the first one; --force files Unreleased under it."""
    first = "# Changelog\n\n## [Unreleased]\n\n### Added\n- Everything.\n"
    root = make_distribution(tmp_path / "dist", name="brand-new", version="0.1.0", changelog=first)
    pyproject = (root / "pyproject.toml").read_bytes()
    result = spaps(
        "release", "bump", "0.1.0", "--force", "--index", index_server.url, *DATE, "--json",
        cwd=root,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    actions = {row["path"]: row["action"] for row in result.json()["files"]}
    assert actions == {
        "pyproject.toml": "identical",
        "demo_pkg/__init__.py": "identical",
        "CHANGELOG.md": "update",
    }
    assert (root / "pyproject.toml").read_bytes() == pyproject
    changelog = (root / "CHANGELOG.md").read_text()
    assert "[0.1.0]: https://github.com/acme/demo/releases/tag/demo-v0.1.0" in changelog
    check = spaps("release", "check", "--index", index_server.url, "--strict", cwd=root)
    assert check.code == 10


def test_release_is_registered_in_the_app(spaps: Any, tmp_path: Path) -> None:
    result = spaps("release", "--help", cwd=tmp_path)
    assert result.code == 0
    assert "bump" in result.stdout
    assert "check" in result.stdout


def test_crlf_files_keep_their_line_endings(spaps: Any, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist")
    for name in ("pyproject.toml", "demo_pkg/__init__.py", "CHANGELOG.md"):
        path = root / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    pyproject = (root / "pyproject.toml").read_bytes()
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert (root / "pyproject.toml").read_bytes() == pyproject.replace(b'"1.0.0"', b'"1.0.1"')
    for name in ("demo_pkg/__init__.py", "CHANGELOG.md"):
        data = (root / name).read_bytes()
        assert b"\n" not in data.replace(b"\r\n", b""), name


def test_a_refused_commit_restores_and_unstages_every_file(spaps: Any, tmp_path: Path) -> None:
    """A pre-commit hook says no: the tree and the index are exactly as before the bump."""
    root = make_distribution(tmp_path / "dist")
    init_repo(root)
    hook = root / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook: trailing whitespace in CHANGELOG.md' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = snapshot(root)
    result = spaps("release", "bump", "patch", "--offline", *DATE, "--commit", "--tag", cwd=root)
    assert result.code == 2, result.stderr
    assert result.stderr.count("error:") == 1
    assert "git commit failed, so the bump was undone (3 files restored and unstaged)" in (
        result.stderr
    )
    assert "hook: trailing whitespace in CHANGELOG.md" in result.stderr
    assert snapshot(root) == before
    assert git(root, "status", "--porcelain") == ""
    assert git(root, "log", "--format=%s") == "initial"
    assert git(root, "tag", "--list") == ""


@pytest.mark.parametrize("links", [True, False], ids=["with-link-refs", "plain-headings"])
def test_missing_repository_url_warns_only_when_the_changelog_uses_link_refs(
    spaps: Any, tmp_path: Path, links: bool
) -> None:
    """Plain headings (what ``spaps new service`` writes) have no references to keep current."""
    changelog = CHANGELOG.replace("https://github.com/acme/demo", "https://example.invalid/x")
    if not links:
        changelog = changelog.split("\n[Unreleased]:")[0] + "\n"
    root = make_distribution(tmp_path / "dist", changelog=changelog)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            '[project.urls]\nRepository = "https://github.com/acme/demo"\n', ""
        )
    )
    result = spaps("release", "bump", "patch", "--offline", *DATE, cwd=root)
    assert result.code == 0, result.stderr
    assert ("no repository URL" in result.stderr) is links
