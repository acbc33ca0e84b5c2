"""``spaps release check``: is this version consistent, and may it be published?

Local checks first (PEP 440, pyproject vs ``__version__``, the changelog heading, the tag), then
the comparison with the index, which gives exactly one :class:`Outcome`:

* the local version is among the index's versions (yanked included) -> ALREADY_PUBLISHED, even if
  newer ones exist: re-running the release of an old tag is a no-op, not a failure;
* newer than the highest version there (pre-releases and yanked included) -> AHEAD;
* with a declared maintenance series (``[tool.spaps.release] series = "1.1"`` or
  ``--series``), newer than everything published in that series but not overall ->
  MAINTENANCE (publishable: ``1.1.1`` after ``2.0.0`` is a back-port, not a step back);
* otherwise -> BEHIND; a proven absence -> NOT_PUBLISHED (the local version is the first one,
  nothing is invented); anything else -> UNVERIFIABLE.

A local problem wins over the outcome: the exit code is then 1 (CHECK_FAILED).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.progress import StepHook, no_progress
from spaps_cli.release import changelog as changelog_module
from spaps_cli.release import git
from spaps_cli.release import index as index_client
from spaps_cli.release import package as package_module
from spaps_cli.release.outcome import (
    PUBLISHABLE,
    FileChange,
    Outcome,
    ReleaseExitCode,
    exit_code_for,
)
from spaps_cli.release.version import (
    Series,
    SeriesMismatchError,
    declared_series,
    format_series,
    highest_in_series,
    series_of,
)

if TYPE_CHECKING:
    from packaging.version import Version


@dataclass(frozen=True)
class CheckRequest:
    package: str | None = None
    offline: bool = False
    index: str | None = None
    timeout: float = index_client.DEFAULT_TIMEOUT
    tag_prefix: str | None = None  # overrides [tool.spaps.release] tag-prefix
    strict: bool = False  # warnings (changelog heading missing, ...) fail the check
    series: str | None = None  # --series: overrides [tool.spaps.release] series
    cwd: Path | None = None
    on_step: StepHook = no_progress  # told when the index lookup starts and ends


@dataclass
class CheckReport:
    name: str
    root: Path
    local: str
    version: Version | None
    tag: str | None
    lookup: index_client.IndexLookup
    outcome: Outcome | None = None
    version_file: str | None = None
    version_file_value: str | None = None
    version_files: list[dict[str, Any]] = field(default_factory=list)  # every __version__
    tag_exists: bool | None = None  # None: not a git repository
    tag_at_head: bool | None = None
    changelog: str | None = None
    changelog_has_version: bool | None = None
    series: str | None = None  # the declared maintenance series, "1.1"
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems or self.outcome is None:
            return int(ReleaseExitCode.CHECK_FAILED)
        return exit_code_for(self.outcome)

    @property
    def publish(self) -> bool:
        return not self.problems and self.outcome in PUBLISHABLE

    @property
    def reason(self) -> str:
        if self.problems or self.outcome is None:
            return "CHECK_FAILED"
        return self.outcome.value

    # -- as a ReleaseReport (spaps_cli.release.outcome) --

    @property
    def headline(self) -> str:
        return f"{self.name} {self.local} (tag {self.tag or '-'})"

    @property
    def details(self) -> list[str]:
        return []

    @property
    def files(self) -> list[FileChange]:
        return []  # check writes nothing

    @property
    def closing(self) -> list[tuple[str, str]]:
        return []

    @property
    def verdict(self) -> str:
        outcome = self.outcome.value if self.outcome is not None else "-"
        return f"outcome {outcome}: {self.reason}, exit {self.exit_code}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "package": str(self.root),
            "local": self.local,
            "version": None if self.version is None else str(self.version),
            "tag": self.tag,
            "outcome": None if self.outcome is None else self.outcome.value,
            "exit_code": self.exit_code,
            "publish": self.publish,
            "reason": self.reason,
            "published": _text(self.lookup.highest),
            "highest_final": _text(self.lookup.highest_final),
            "yanked": sorted(str(v) for v in self.lookup.yanked),
            "index": {
                "status": self.lookup.status.value,
                "url": self.lookup.url,
                "reason": self.lookup.reason,
                "versions": len(self.lookup.versions),
                "ignored": self.lookup.ignored,
            },
            "version_file": self.version_file,
            "version_file_value": self.version_file_value,
            "version_files": self.version_files,
            "tag_exists": self.tag_exists,
            "tag_at_head": self.tag_at_head,
            "changelog": self.changelog,
            "changelog_has_version": self.changelog_has_version,
            "series": self.series,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def run_check(request: CheckRequest) -> CheckReport:
    from packaging.version import InvalidVersion

    from spaps_cli.release.version import pep440, shown_version

    index_client.validate_options(request.index, request.timeout)
    pkg = package_module.load_package(package_module.locate(request.package, cwd=request.cwd))
    if request.offline:
        lookup = index_client.skipped(request.index, pkg.name)
    else:
        lookup = index_client.lookup(
            pkg.name, index=request.index, timeout=request.timeout, on_step=request.on_step
        )
    try:
        version: Version | None = pep440(pkg.version_text)
    except InvalidVersion:
        version = None
    prefix = pkg.tag_prefix if request.tag_prefix is None else request.tag_prefix
    report = CheckReport(
        name=pkg.name,
        root=pkg.root,
        local=pkg.version_text,
        version=version,
        tag=None if version is None else f"{prefix}{version}",
        lookup=lookup,
    )
    if version is None:
        report.problems.append(
            f"{pkg.pyproject_path.name}: version {shown_version(pkg.version_text)!r} is not valid"
            " PEP 440"
        )
        return report
    if version.local is not None:
        report.problems.append(
            f"{pkg.pyproject_path.name}: version {pkg.version_text} has a local version label"
            f" (+{version.local}), which package indexes refuse: drop the part after '+'"
        )
    if str(version) != pkg.version_text:
        report.warnings.append(
            f"version {pkg.version_text!r} is not normalised; it is published as {version}"
        )
    _check_version_file(pkg, report)
    _check_changelog(pkg, version, report, strict=request.strict)
    try:
        series = declared_series(request.series, pkg.series, pkg.pyproject_path.name, version)
    except SeriesMismatchError as exc:
        report.problems.append(exc.message)
        return report
    report.series = None if series is None else format_series(series)
    report.outcome = compare(version, lookup, series)
    if report.outcome is Outcome.BEHIND and series is None:
        own = series_of(version)
        if compare(version, lookup, own) is Outcome.MAINTENANCE:
            report.warnings.append(
                f"{version} is newer than everything published in {format_series(own)}: for a"
                f" maintenance release declare the series (--series {format_series(own)}, or"
                f' [tool.spaps.release] series = "{format_series(own)}")'
            )
    _check_tag(pkg, report)
    return report


def compare(
    version: Version, lookup: index_client.IndexLookup, series: Series | None = None
) -> Outcome:
    status = lookup.status
    if status is index_client.LookupStatus.SKIPPED:
        return Outcome.OFFLINE
    if status is index_client.LookupStatus.NOT_FOUND:
        return Outcome.NOT_PUBLISHED
    if status is index_client.LookupStatus.UNVERIFIABLE:
        return Outcome.UNVERIFIABLE
    if version in lookup.versions:
        return Outcome.ALREADY_PUBLISHED
    highest = lookup.highest
    if highest is None or version > highest:
        return Outcome.AHEAD
    if series is not None:
        in_series = highest_in_series(lookup.versions, series)
        if in_series is None or version > in_series:
            return Outcome.MAINTENANCE
    return Outcome.BEHIND


def _check_version_file(pkg: package_module.Package, report: CheckReport) -> None:
    report.version_files = [
        {"path": pkg.display(f.path), "line": f.line, "value": f.value} for f in pkg.version_files
    ]
    if pkg.version_file is None and not pkg.version_files:
        return
    if pkg.version_file is not None:
        report.version_file = pkg.display(pkg.version_file.path)
        report.version_file_value = pkg.version_file.value
    drift = pkg.drift()
    if drift is not None:
        report.problems.append(f"version drift: {drift}")


def _check_changelog(
    pkg: package_module.Package, version: Version, report: CheckReport, *, strict: bool
) -> None:
    path = pkg.changelog_path
    if pkg.changelog_file() is None:
        _note(report, f"no {path.name} next to {pkg.pyproject_path.name}", strict)
        return
    report.changelog = path.name
    try:
        parsed = changelog_module.read_changelog(path)
    except changelog_module.ChangelogError as exc:
        report.problems.append(exc.message)
        return
    report.changelog_has_version = parsed.heading_for(version) is not None
    if not report.changelog_has_version:
        _note(
            report,
            f"{path.name} has no '## [{version}]' section (spaps release bump writes it)",
            strict,
        )


def _check_tag(pkg: package_module.Package, report: CheckReport) -> None:
    if report.tag is None:
        return
    repo = git.repository_root(pkg.root)
    if repo is None:
        return
    state = git.tag_state(repo, report.tag)
    report.tag_exists = state.exists
    report.tag_at_head = state.at_head if state.exists else None
    if state.exists and not state.at_head and report.outcome is not Outcome.ALREADY_PUBLISHED:
        report.problems.append(
            f"tag {report.tag} already exists at {str(state.commit)[:12]}, not at HEAD "
            f"{str(state.head)[:12]}: this version was tagged for other code"
        )


def _note(report: CheckReport, message: str, strict: bool) -> None:
    (report.problems if strict else report.warnings).append(message)


def _text(version: Version | None) -> str | None:
    return None if version is None else str(version)
