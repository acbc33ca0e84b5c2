"""``spaps release bump``: the whole pipeline, with ``dry_run`` threaded through every step.

locate -> read (pyproject, ``__version__``, CHANGELOG) -> ask the index -> compute the next
version from ``max(local, published)`` -> plan every file -> apply all-or-nothing -> commit/tag.
Everything that can fail runs before the first write (bump-my-version's ``do_bump`` shape), so a
refused bump leaves the tree exactly as it was, and a dry run is the same code minus ``apply``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import UsageError
from spaps_cli.progress import StepHook, no_progress
from spaps_cli.release import changelog as changelog_module
from spaps_cli.release import git
from spaps_cli.release import index as index_client
from spaps_cli.release import package as package_module
from spaps_cli.release.outcome import FileChange, IndexUnverifiableError
from spaps_cli.release.version import (
    BumpKind,
    BumpResult,
    PrePhase,
    Series,
    check_explicit,
    compute_bump,
    declared_series,
    format_series,
    highest_in_series,
    parse_version,
    series_of,
)

if TYPE_CHECKING:
    from packaging.version import Version

    from spaps_cli.plan import Plan, Resolution

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class BumpRequest:
    target: str  # major | minor | patch | prerelease | an explicit version
    package: str | None = None
    pre: PrePhase | None = None
    dev: bool = False
    date: str | None = None
    dry_run: bool = False
    force: bool = False
    offline: bool = False
    index: str | None = None
    timeout: float = index_client.DEFAULT_TIMEOUT
    strict: bool = False
    commit: bool = False
    tag: bool = False
    series: str | None = None  # --series: overrides [tool.spaps.release] series
    cwd: Path | None = None
    on_step: StepHook = no_progress  # told when the index lookup starts and ends


@dataclass
class BumpOutcome:
    package: package_module.Package
    old: str
    result: BumpResult
    lookup: index_client.IndexLookup
    plan: Plan
    resolutions: list[Resolution]
    tag: str
    dry_run: bool
    warnings: list[str] = field(default_factory=list)
    commit: str | None = None
    tagged: bool = False

    @property
    def new(self) -> Version:
        return self.result.new

    # -- as a ReleaseReport (spaps_cli.release.outcome) --

    @property
    def headline(self) -> str:
        verb = "would bump" if self.dry_run else "bumped"
        return f"{verb} {self.package.name} {self.old} -> {self.new} (tag {self.tag})"

    @property
    def details(self) -> list[str]:
        # the --force notes are already warnings
        return [note for note in self.result.notes if not note.startswith("--force")]

    @property
    def problems(self) -> list[str]:
        return []  # a bump with a problem raises instead of reporting

    @cached_property
    def files(self) -> list[FileChange]:
        from spaps_cli.plan import Action

        changes: list[FileChange] = []
        for resolution in self.resolutions:
            action = resolution.action.value
            with_diff = self.dry_run and resolution.action in {Action.UPDATE, Action.FORCE}
            changes.append(
                FileChange(
                    path=resolution.file.relative_to(self.plan.root),
                    action=action,
                    shown=f"would {action}"
                    if self.dry_run and resolution.action.writes
                    else action,
                    diff=resolution.diff(self.plan.root) if with_diff else None,
                )
            )
        return changes

    @property
    def closing(self) -> list[tuple[str, str]]:
        lines = [("commit", self.commit[:12])] if self.commit else []
        return lines + ([("tag", self.tag)] if self.tagged else [])

    @property
    def verdict(self) -> None:
        return None

    def as_json(self) -> dict[str, Any]:
        files = [
            {"path": change.path, "action": change.action}
            | ({} if change.diff is None else {"diff": change.diff})
            for change in self.files
        ]
        return {
            "name": self.package.name,
            "package": str(self.package.root),
            "old": self.old,
            "new": str(self.new),
            "base": str(self.result.base),
            "tag": self.tag,
            "dry_run": self.dry_run,
            "forced": self.result.forced,
            "index": {
                "status": self.lookup.status.value,
                "url": self.lookup.url,
                "highest": _text(self.lookup.highest),
                "highest_final": _text(self.lookup.highest_final),
                "reason": self.lookup.reason,
            },
            "files": files,
            "notes": self.result.notes,
            "warnings": self.warnings,
            "commit": self.commit,
            "tagged": self.tagged,
        }


def plan_bump(request: BumpRequest) -> BumpOutcome:
    """Everything but the writes: the version, the plan, the warnings. Raises on any refusal."""
    from spaps_cli.plan import Plan

    _check_flags(request)
    date = _release_date(request.date)
    # never walks up: a bump edits the distribution it was started in, or the one named
    located = package_module.locate(request.package, cwd=request.cwd, walk_up=False)
    pkg = package_module.load_package(located)
    local = parse_version(pkg.version_text, where=f"{pkg.pyproject_path} version")
    drift = pkg.drift()
    if drift is not None:
        raise package_module.VersionDriftError(
            f"version drift: {drift}", hint="make them agree before bumping"
        )
    repo = _git_root(pkg.root) if request.commit or request.tag else None
    if repo is not None:
        git.require_clean(repo)

    warnings: list[str] = []
    series = declared_series(request.series, pkg.series, pkg.pyproject_path.name, local)
    lookup = _ask_index(pkg.name, request, warnings)
    result = _next_version(local, lookup, request, series)
    warnings += [note for note in result.notes if note.startswith("--force")]
    tag = pkg.tag_for(result.new)
    if repo is not None and request.tag:
        git.require_new_tag(repo, tag)

    plan = Plan(root=pkg.root)
    new_text = str(result.new)
    if not pkg.dynamic:
        plan.add(
            package_module.PYPROJECT,
            package_module.write_pyproject_version(pkg, new_text),
            is_edit=True,
        )
    for version_file in pkg.version_files:
        plan.add(
            version_file.path.relative_to(pkg.root),
            version_file.with_version(new_text),
            is_edit=True,
        )
    _plan_changelog(plan, pkg, result.new, date, request.strict, warnings)
    return BumpOutcome(
        package=pkg,
        old=pkg.version_text,
        result=result,
        lookup=lookup,
        plan=plan,
        resolutions=plan.resolve(),
        tag=tag,
        dry_run=request.dry_run,
        warnings=warnings,
    )


def run_bump(request: BumpRequest) -> BumpOutcome:
    """Plan, then (unless dry-run) write every file together, then commit and tag if asked."""
    outcome = plan_bump(request)
    if request.dry_run:
        return outcome
    outcome.plan.apply(outcome.resolutions)
    if request.commit or request.tag:
        repo = _git_root(outcome.package.root)
        written = [r for r in outcome.resolutions if r.action.writes]
        message = f"Release {outcome.package.name} {outcome.new}"
        try:
            outcome.commit = git.commit(repo, [r.file.path for r in written], message)
        except git.GitError as exc:  # a hook said no, or git itself failed or timed out
            _undo(repo, written)
            reason = exc.reason if isinstance(exc, git.CommitFailedError) else exc.message
            raise git.GitError(
                f"git commit failed, so the bump was undone ({len(written)} files restored and"
                f" unstaged): {reason}",
                hint="fix what the hook reported, then run the bump again",
            ) from exc
        if request.tag:
            git.tag(repo, outcome.tag, message)
            outcome.tagged = True
    return outcome


def _undo(repo: Path, written: list[Resolution]) -> None:
    """Put back the bytes every written file had and unstage it: the tree is as before the bump.

    The tree was clean when the bump started (``--commit`` requires it), so the index entries
    of these files equalled HEAD, and resetting them to HEAD restores the index exactly.
    """
    from spaps_cli.errors import FileAccessError
    from spaps_cli.plan import atomic_write

    try:
        git.unstage(repo, [r.file.path for r in written])
        for resolution in written:
            if resolution.before is None:
                resolution.file.path.unlink(missing_ok=True)
            else:
                atomic_write(resolution.file.path, resolution.before)
    except (OSError, git.GitError) as exc:
        names = ", ".join(r.file.path.name for r in written)
        raise FileAccessError(
            f"git commit failed and the bump could not be undone ({exc}): check {names}",
            hint="restore them with git checkout -- <file>",
        ) from exc


def _check_flags(request: BumpRequest) -> None:
    explicit = request.target not in {kind.value for kind in BumpKind}
    if explicit and (request.pre is not None or request.dev):
        raise UsageError(
            "--pre and --dev only apply to major|minor|patch|prerelease",
            hint=f"write the full version instead, e.g. {request.target}rc0",
        )
    if request.tag and not request.commit:
        raise UsageError(
            "--tag needs --commit: the tag must point at the commit that holds the bump",
            hint="add --commit",
        )
    index_client.validate_options(request.index, request.timeout)


def _release_date(text: str | None) -> str:
    if text is None:
        return dt.date.today().isoformat()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise UsageError(f"--date {text!r} is not a date", hint="use YYYY-MM-DD") from exc


def _git_root(path: Path) -> Path:
    root = git.repository_root(path)
    if root is None:
        raise git.GitError(f"{path} is not in a git repository", hint="drop --commit/--tag")
    return root


def _ask_index(name: str, request: BumpRequest, warnings: list[str]) -> index_client.IndexLookup:
    if request.offline:
        warnings.append(
            "--offline: the index was not consulted; the bump only knows the local version"
        )
        return index_client.skipped(request.index, name)
    lookup = index_client.lookup(
        name, index=request.index, timeout=request.timeout, on_step=request.on_step
    )
    if lookup.status is index_client.LookupStatus.UNVERIFIABLE:
        if not request.force:
            raise IndexUnverifiableError(
                f"could not read {lookup.url}: {lookup.reason}",
                hint="retry, pass --offline to bump from the local version only, or --force",
            )
        warnings.append(f"--force: the index is unverifiable ({lookup.reason}); bumping from local")
    return lookup


def _next_version(
    local: Version,
    lookup: index_client.IndexLookup,
    request: BumpRequest,
    series: Series | None,
) -> BumpResult:
    """The new version; with a maintenance series, computed inside it and kept there."""
    published = lookup.highest if series is None else highest_in_series(lookup.versions, series)
    if request.target in {kind.value for kind in BumpKind}:
        kind = BumpKind(request.target)
        if series is not None and kind in {BumpKind.MAJOR, BumpKind.MINOR}:
            raise UsageError(
                f"{kind.value} leaves the maintenance series {format_series(series)}",
                hint="a maintenance series takes patch and prerelease bumps; drop --series"
                " (or [tool.spaps.release] series) to start a new series",
            )
        result = compute_bump(local, published, kind, pre=request.pre, dev=request.dev)
    else:
        requested = parse_version(request.target, where="requested version")
        if series is not None and series_of(requested) != series:
            raise UsageError(
                f"{requested} is not in the maintenance series {format_series(series)}",
                hint="drop --series (or [tool.spaps.release] series) to release outside it",
            )
        result = check_explicit(
            local,
            published,
            requested,
            published_versions=lookup.versions,
            force=request.force,
        )
    overall = lookup.highest
    if series is not None and overall is not None and overall > result.new:
        result.notes.append(
            f"maintenance release in the {format_series(series)} series (the index's highest"
            f" is {overall}; the series' is {published or 'none'})"
        )
    return result


def _plan_changelog(
    plan: Plan,
    pkg: package_module.Package,
    version: Version,
    date: str,
    strict: bool,
    warnings: list[str],
) -> None:
    path = pkg.changelog_path
    if pkg.changelog_file() is None:
        _warn_or_fail(
            f"no {path.name} in {pkg.root}: no changelog section written", strict, warnings
        )
        return
    parsed = changelog_module.read_changelog(path)
    released = changelog_module.release_changelog(
        parsed,
        version,
        date=date,
        tag_prefix=pkg.tag_prefix,
        fallback_repository=changelog_module.repository_from_urls(pkg.urls),
    )
    if released.was_empty:
        _warn_or_fail(f"{path.name}: the Unreleased section is empty", strict, warnings)
    if not released.linked and parsed.link_refs:
        # Only a file that uses link references has some to keep current; plain headings
        # (what `spaps new service` writes) are Keep a Changelog too.
        warnings.append(
            f"{path.name}: no repository URL in its links or [project.urls]; link references not written"
        )
    plan.add(path.name, released.text, is_edit=True)


def _warn_or_fail(message: str, strict: bool, warnings: list[str]) -> None:
    if strict:
        raise UsageError(message, hint="--strict turns this warning into an error")
    warnings.append(message)


def _text(version: Version | None) -> str | None:
    return None if version is None else str(version)
