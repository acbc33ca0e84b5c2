"""Keep a Changelog rewriting: Unreleased -> version, fresh Unreleased, link references."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from spaps_cli.errors import ConflictError
from spaps_cli.release.changelog import (
    ChangelogError,
    parse_changelog,
    release_changelog,
    repository_from_urls,
)

from .conftest import CHANGELOG

PATH = Path("CHANGELOG.md")


def release(text: str, version: str, *, repository: str | None = None) -> str:
    return release_changelog(
        parse_changelog(PATH, text),
        Version(version),
        date="2026-11-26",
        tag_prefix="demo-v",
        fallback_repository=repository,
    ).text


def test_later_release_moves_entries_and_links_a_compare_range() -> None:
    assert (
        release(CHANGELOG, "1.1.0")
        == """\
# Changelog

All notable changes are documented here.

## [Unreleased]

## [1.1.0] - 2026-11-26

### Added
- A shiny thing.

## [1.0.0] - 2026-01-01

### Added
- The first thing.

[Unreleased]: https://github.com/acme/demo/compare/demo-v1.1.0...HEAD
[1.1.0]: https://github.com/acme/demo/compare/demo-v1.0.0...demo-v1.1.0
[1.0.0]: https://github.com/acme/demo/releases/tag/demo-v1.0.0
"""
    )


FIRST = """\
# Changelog

## [Unreleased]
### Fixed
- Everything.
"""


def test_first_release_links_to_the_tag_using_project_urls() -> None:
    assert (
        release(FIRST, "0.1.0", repository="https://github.com/acme/demo")
        == """\
# Changelog

## [Unreleased]

## [0.1.0] - 2026-11-26

### Fixed
- Everything.

[Unreleased]: https://github.com/acme/demo/compare/demo-v0.1.0...HEAD
[0.1.0]: https://github.com/acme/demo/releases/tag/demo-v0.1.0
"""
    )


def test_without_a_repository_no_links_are_written() -> None:
    result = release_changelog(
        parse_changelog(PATH, FIRST),
        Version("0.1.0"),
        date="2026-11-26",
        tag_prefix="v",
        fallback_repository=None,
    )
    assert not result.linked
    assert "]: " not in result.text
    assert result.text.endswith("- Everything.\n")


def test_crlf_files_stay_crlf() -> None:
    text = release(CHANGELOG.replace("\n", "\r\n"), "1.1.0")
    assert "\n" not in text.replace("\r\n", "")
    assert "## [1.1.0] - 2026-11-26\r\n" in text


def test_an_existing_heading_for_the_version_is_refused_even_when_spelt_differently() -> None:
    text = CHANGELOG.replace("## [1.0.0]", "## [1.1.0-rc.1]")
    with pytest.raises(ConflictError, match=r"already has a heading for 1\.1\.0rc1"):
        release(text, "1.1.0rc1")


def test_empty_unreleased_is_reported() -> None:
    text = CHANGELOG.replace("### Added\n- A shiny thing.\n", "### Added\n\n")
    result = release_changelog(
        parse_changelog(PATH, text),
        Version("1.1.0"),
        date="2026-11-26",
        tag_prefix="demo-v",
        fallback_repository=None,
    )
    assert result.was_empty
    full = parse_changelog(PATH, CHANGELOG)
    assert not full.is_empty(full.unreleased)


def test_heading_inside_a_code_block_is_ignored() -> None:
    text = CHANGELOG.replace(
        "- A shiny thing.\n", "- A shiny thing:\n\n```\n## [not a version]\n```\n"
    )
    parsed = parse_changelog(PATH, text)
    assert [h.label for h in parsed.headings] == ["Unreleased", "1.0.0"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Changelog\n\n## [1.0.0] - 2026-01-01\n", "no '## \\[Unreleased\\]' section"),
        ("## [Unreleased]\n\n## [Unreleased]\n", "a second '## \\[Unreleased\\]'"),
        ("## [Unreleased]\n\n## [banana] - 2026-01-01\n", "not a PEP 440 version"),
        ("## [Unreleased]\n\n## 1.0.0 - 2026-01-01\n", "has no \\[brackets\\]"),
        ("## [Unreleased]\n\n```\nunclosed\n", "never closed"),
    ],
)
def test_malformed_changelogs_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ChangelogError, match=message) as caught:
        parse_changelog(PATH, text)
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        ({"Repository": "https://github.com/acme/demo.git"}, "https://github.com/acme/demo"),
        (
            {"Changelog": "https://github.com/sweetpotato/spaps/blob/main/CHANGELOG.md"},
            "https://github.com/sweetpotato/spaps",
        ),
        ({"Homepage": "https://acme.example"}, None),
        ({}, None),
    ],
)
def test_repository_from_project_urls(urls: dict[str, str], expected: str | None) -> None:
    assert repository_from_urls(urls) == expected


def test_other_level_two_headings_end_a_section_and_stay() -> None:
    text = CHANGELOG.replace(
        "## [1.0.0] - 2026-01-01", "## Notes\n\nRead me.\n\n## [1.0.0] - 2026-01-01"
    )
    released = release(text, "1.1.0")
    assert (
        "## [1.1.0] - 2026-11-26\n\n### Added\n- A shiny thing.\n\n## Notes\n\nRead me.\n"
        in released
    )


def test_link_references_in_the_intro_are_left_alone() -> None:
    intro = "[kac]: https://keepachangelog.com/en/1.1.0/\n"
    text = CHANGELOG.replace("All notable changes are documented here.\n", intro)
    released = release(text, "1.1.0")
    assert released.startswith("# Changelog\n\n" + intro + "\n## [Unreleased]\n\n## [1.1.0]")
    assert released.endswith(
        "[Unreleased]: https://github.com/acme/demo/compare/demo-v1.1.0...HEAD\n"
        "[1.1.0]: https://github.com/acme/demo/compare/demo-v1.0.0...demo-v1.1.0\n"
        "[1.0.0]: https://github.com/acme/demo/releases/tag/demo-v1.0.0\n"
    )


def test_link_definitions_inside_a_section_move_with_it() -> None:
    """Only the block of definitions that ends the file is the links block."""
    text = CHANGELOG.replace(
        "### Added\n- A shiny thing.\n",
        "[#12]: https://github.com/acme/demo/issues/12\n\n### Added\n- A shiny thing ([#12]).\n",
    )
    parsed = parse_changelog(PATH, text)
    assert not parsed.is_empty(parsed.unreleased)
    released = release(text, "1.1.0")
    assert (
        "## [1.1.0] - 2026-11-26\n\n[#12]: https://github.com/acme/demo/issues/12\n\n"
        "### Added\n- A shiny thing ([#12]).\n\n## [1.0.0]"
    ) in released
    assert released.endswith(
        "- The first thing.\n\n"
        "[Unreleased]: https://github.com/acme/demo/compare/demo-v1.1.0...HEAD\n"
        "[1.1.0]: https://github.com/acme/demo/compare/demo-v1.0.0...demo-v1.1.0\n"
        "[1.0.0]: https://github.com/acme/demo/releases/tag/demo-v1.0.0\n"
    )


def test_a_section_holding_only_link_definitions_is_empty() -> None:
    text = CHANGELOG.replace(
        "### Added\n- A shiny thing.\n", "[#12]: https://github.com/acme/demo/issues/12\n"
    )
    parsed = parse_changelog(PATH, text)
    assert parsed.is_empty(parsed.unreleased)


@pytest.mark.parametrize(
    "title", ['"Unreleased changes"', "'Unreleased changes'", "(Unreleased changes)"]
)
def test_link_definitions_with_a_title_are_replaced_not_duplicated(title: str) -> None:
    stale = f"[Unreleased]: https://github.com/acme/demo/compare/demo-v1.0.0...HEAD {title}\n"
    text = CHANGELOG.replace(
        "[Unreleased]: https://github.com/acme/demo/compare/demo-v1.0.0...HEAD\n", stale
    )
    released = release(text, "1.1.0")
    assert stale not in released
    assert released.count("[Unreleased]:") == 1
    assert released.endswith(
        "[Unreleased]: https://github.com/acme/demo/compare/demo-v1.1.0...HEAD\n"
        "[1.1.0]: https://github.com/acme/demo/compare/demo-v1.0.0...demo-v1.1.0\n"
        "[1.0.0]: https://github.com/acme/demo/releases/tag/demo-v1.0.0\n"
    )


def test_a_stale_unreleased_definition_above_the_links_block_is_dropped() -> None:
    """CommonMark takes the first definition of a label: a stale one must not stay above."""
    stale = "[Unreleased]: https://github.com/acme/demo/compare/demo-v0.9.0...HEAD\n"
    text = CHANGELOG.replace("- The first thing.\n", f"- The first thing.\n\n{stale}\nMore.\n")
    released = release(text, "1.1.0")
    assert stale not in released
    assert released.count("[Unreleased]:") == 1
    assert "[Unreleased]: https://github.com/acme/demo/compare/demo-v1.1.0...HEAD\n" in released
