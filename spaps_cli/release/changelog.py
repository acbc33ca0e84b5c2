"""Keep a Changelog: find the release headings and move ``Unreleased`` to a version.

The file is treated as lines, not parsed into a tree and re-rendered, so everything the bump does
not mean to change stays byte-for-byte. Headings are recognised only at level two
(``## [Unreleased]``, ``## [1.2.0] - 2026-11-26``) and versions in them are compared as PEP 440
objects, so ``## [1.2.4-rc.1]`` counts as a heading for ``1.2.4rc1`` (towncrier's weak duplicate
guard, issue #29, is the pitfall this avoids).

The links block is the run of link reference definitions (``[label]: url "optional title"``, in
CommonMark's syntax) that ends the file. Definitions anywhere else, such as ``[#12]: ...`` under
``Unreleased``, are part of their section and move with it. Link references at the bottom are
rewritten the Keep a Changelog way: ``[Unreleased]`` compares
the new tag with ``HEAD``; the new version compares the previous release's tag with the new tag,
or links to the tag itself on a first release. The repository URL comes from the existing links,
else from ``[project.urls]``; URLs are written in the GitHub form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spaps_cli.errors import ConflictError, UsageError

if TYPE_CHECKING:
    from packaging.version import Version

_HEADING = re.compile(r"^##\s+\[(?P<label>[^\]]+)\](?P<rest>.*)$")
_BARE_VERSION_HEADING = re.compile(r"^##\s+v?\d")
_OTHER_HEADING = re.compile(r"^##\s")
#: A one-line CommonMark link reference definition: up to three spaces of indent, the label,
#: the destination (bare or in <...>), and an optional title in "...", '...' or (...).
_LINK_REF = re.compile(
    r"^ {0,3}\[(?P<label>(?:[^\[\]\\]|\\.)+)\]:[ \t]*"
    r"(?P<url><[^<>\r\n]*>|[^\s<]\S*)"
    r"(?:[ \t]+(?P<title>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\((?:[^()\\]|\\.)*\)))?"
    r"[ \t]*$"
)
_SUBHEADING = re.compile(r"^#{3,}\s")
_REPO_FROM_LINK = re.compile(
    r"^(?P<repo>https?://[^/\s]+/[^/\s]+/[^/\s]+?)(?:\.git)?/(?:compare|releases|tree|commits|-/)"
)
_REPO_FROM_URL = re.compile(
    r"^(?P<repo>https?://(?:github\.com|gitlab\.com|codeberg\.org)/[^/\s]+/[^/\s#?]+?)(?:\.git)?(?:[/#?].*)?$"
)
UNRELEASED = "unreleased"


class ChangelogError(UsageError):
    """CHANGELOG.md cannot be understood; nothing is written."""


@dataclass(frozen=True)
class Heading:
    line: int  # index into Changelog.lines
    label: str  # "Unreleased" or the version text as written
    version: Version | None  # None for Unreleased


@dataclass(frozen=True)
class Changelog:
    path: Path
    lines: list[str]  # with their line endings
    headings: list[Heading]
    link_refs: dict[str, int]  # the links block at the end: label key -> line index
    other_headings: list[int]  # level-two headings that are not releases ("## Notes")

    @property
    def unreleased(self) -> Heading:
        return next(h for h in self.headings if h.version is None)

    @property
    def releases(self) -> list[Heading]:
        return [h for h in self.headings if h.version is not None]

    def heading_for(self, version: Version) -> Heading | None:
        return next((h for h in self.releases if h.version == version), None)

    def section_body(self, heading: Heading) -> list[str]:
        """Lines between ``heading`` and the next level-two heading or the links block."""
        start = heading.line + 1
        following = [h.line for h in self.headings if h.line > heading.line]
        following += [line for line in self.link_refs.values() if line > heading.line]
        following += [line for line in self.other_headings if line > heading.line]
        end = min(following, default=len(self.lines))
        return self.lines[start:end]

    def is_empty(self, heading: Heading) -> bool:
        """True when the section holds no entries: only blank lines, bare ``###`` titles and
        link definitions (which render nothing)."""
        return all(
            not line.strip() or _SUBHEADING.match(line) or _LINK_REF.match(line.rstrip("\r\n"))
            for line in self.section_body(heading)
        )

    def repository_url(self) -> str | None:
        for index in sorted(self.link_refs.values()):
            match = _LINK_REF.match(self.lines[index].rstrip("\r\n"))
            if match:
                repo = _REPO_FROM_LINK.match(match["url"].strip("<>"))
                if repo:
                    return repo["repo"]
        return None


def read_changelog(path: Path) -> Changelog:
    """Parse ``path``; a malformed file is a one-line error naming the line."""
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: keep CRLF as it is
    except UnicodeDecodeError as exc:
        raise ChangelogError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from exc
    return parse_changelog(path, text)


def parse_changelog(path: Path, text: str) -> Changelog:
    from packaging.version import InvalidVersion

    from spaps_cli.release.version import pep440, shown_version

    lines = text.splitlines(keepends=True)
    headings: list[Heading] = []
    other_headings: list[int] = []
    in_fence = False
    for index, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if in_fence:
            continue
        heading = _HEADING.match(line)
        if heading is None:
            if _BARE_VERSION_HEADING.match(line):
                raise ChangelogError(
                    f"{path}:{index + 1}: release heading {line!r} has no [brackets]",
                    hint="Keep a Changelog headings look like '## [1.2.0] - 2026-11-26'",
                )
            if _OTHER_HEADING.match(line):
                other_headings.append(index)
            continue
        label = heading["label"].strip()
        if label.lower() == UNRELEASED:
            if any(h.version is None for h in headings):
                raise ChangelogError(f"{path}:{index + 1}: a second '## [Unreleased]' heading")
            headings.append(Heading(index, label, None))
            continue
        try:
            version = pep440(label)
        except InvalidVersion as exc:
            raise ChangelogError(
                f"{path}:{index + 1}: heading '[{shown_version(label)}]' is not a PEP 440 version",
                hint="fix the heading; release headings look like '## [1.2.0] - 2026-11-26'",
            ) from exc
        headings.append(Heading(index, label, version))
    if in_fence:
        raise ChangelogError(f"{path}: a ``` code block is never closed")
    if not any(h.version is None for h in headings):
        raise ChangelogError(
            f"{path} has no '## [Unreleased]' section",
            hint="add '## [Unreleased]' above the newest release (Keep a Changelog layout)",
        )
    link_refs: dict[str, int] = {}
    for index in _links_block(lines, _definitions(lines)):
        link = _LINK_REF.match(lines[index].rstrip("\r\n"))
        assert link is not None
        link_refs.setdefault(_label_key(link["label"]), index)  # CommonMark: the first one wins
    return Changelog(path, lines, headings, link_refs, other_headings)


def _links_block(lines: list[str], definitions: set[int]) -> list[int]:
    """Indexes of the link definitions that end the file (blank lines between them allowed)."""
    block: list[int] = []
    index = len(lines) - 1
    while index >= 0 and (index in definitions or not lines[index].strip()):
        if index in definitions:
            block.append(index)
        index -= 1
    return sorted(block)


def _label_key(label: str) -> str:
    """CommonMark matches labels case-insensitively, with runs of white space collapsed."""
    return " ".join(label.split()).casefold()


@dataclass(frozen=True)
class ReleasedChangelog:
    text: str
    was_empty: bool
    linked: bool  # link references were written (a repository URL was known)


def release_changelog(
    changelog: Changelog,
    version: Version,
    *,
    date: str,
    tag_prefix: str,
    fallback_repository: str | None,
) -> ReleasedChangelog:
    """Move the Unreleased entries under ``## [version] - date`` and rewrite the link refs."""
    existing = changelog.heading_for(version)
    if existing is not None:
        raise ConflictError(
            f"{changelog.path}:{existing.line + 1} already has a heading for {version}",
            hint="a version is released once; bump to a newer version",
        )
    newline = _newline_of(changelog.lines)
    unreleased = changelog.unreleased
    was_empty = changelog.is_empty(unreleased)
    body = changelog.section_body(unreleased)
    end_of_body = unreleased.line + 1 + len(body)
    entries = [_ended(line, newline) for line in _trim_blank(body)]
    previous = _previous_release(changelog, version)

    section = [_ended(changelog.lines[unreleased.line], newline), newline]
    section += [f"## [{version}] - {date}{newline}", newline]
    if entries:
        section += [*entries, newline]
    tail = _trim_leading_blank(changelog.lines[end_of_body:])
    if not tail:
        section.pop()  # no blank line at the very end of the file
    lines = changelog.lines[: unreleased.line] + section + tail
    if not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline

    repository = changelog.repository_url() or fallback_repository
    if repository is None:
        return ReleasedChangelog("".join(lines), was_empty, linked=False)
    lines = _rewrite_links(
        lines,
        repository,
        version,
        previous,
        tag_prefix=tag_prefix,
        newline=newline,
    )
    return ReleasedChangelog("".join(lines), was_empty, linked=True)


def repository_from_urls(urls: dict[str, str]) -> str | None:
    """A repository URL from ``[project.urls]`` (Repository/Source first, then any forge URL)."""
    preferred = ("repository", "source", "source code", "code", "homepage", "changelog")
    ordered = sorted(urls.items(), key=lambda item: _rank(item[0].lower(), preferred))
    for _, url in ordered:
        match = _REPO_FROM_URL.match(str(url).strip())
        if match:
            return match["repo"]
    return None


def _rank(name: str, preferred: tuple[str, ...]) -> int:
    return preferred.index(name) if name in preferred else len(preferred)


def _previous_release(changelog: Changelog, version: Version) -> Version | None:
    """The newest released version below ``version`` (the base of the compare link)."""
    older = [h.version for h in changelog.releases if h.version is not None and h.version < version]
    return max(older) if older else None


def _rewrite_links(
    lines: list[str],
    repository: str,
    version: Version,
    previous: Version | None,
    *,
    tag_prefix: str,
    newline: str,
) -> list[str]:
    """Put fresh ``[Unreleased]`` and ``[version]`` definitions at the top of the links block.

    Every older definition of either label is dropped (with any title), wherever it is: in
    CommonMark the first definition wins, so a stale one left above would hide the new one.
    """
    tag = f"{tag_prefix}{version}"
    new_refs = [f"[Unreleased]: {repository}/compare/{tag}...HEAD{newline}"]
    if previous is None:
        new_refs.append(f"[{version}]: {repository}/releases/tag/{tag}{newline}")
    else:
        new_refs.append(
            f"[{version}]: {repository}/compare/{tag_prefix}{previous}...{tag}{newline}"
        )
    definitions = _definitions(lines)
    block = _links_block(lines, definitions)
    replaced = {UNRELEASED, _label_key(str(version))}
    kept: list[str] = []
    for index, raw in enumerate(lines):
        if block and index == block[0]:
            kept += new_refs
        if index not in definitions or _label_key(_link_label(raw)) not in replaced:
            kept.append(raw)
    if block:
        return kept
    while kept and not kept[-1].strip():
        kept.pop()
    return [*kept, newline, *new_refs]


def _link_label(line: str) -> str:
    match = _LINK_REF.match(line.rstrip("\r\n"))
    return "" if match is None else match["label"]


def _definitions(lines: list[str]) -> set[int]:
    """Indexes of the link definition lines outside fenced code blocks."""
    found: set[int] = set()
    in_fence = False
    for index, raw in enumerate(lines):
        if raw.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and _LINK_REF.match(raw.rstrip("\r\n")):
            found.add(index)
    return found


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _trim_leading_blank(lines: list[str]) -> list[str]:
    index = 0
    while index < len(lines) and not lines[index].strip():
        index += 1
    return lines[index:]


def _ended(line: str, newline: str) -> str:
    return line if line.endswith(("\n", "\r")) else line + newline


def _newline_of(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
