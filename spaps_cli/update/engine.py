"""Planning a template update: base (old render), theirs (new render), ours (the disk), per file.

Every decision is made in memory into one :class:`~spaps_cli.plan.Plan`; ``--dry-run``,
``--diff`` and ``--check`` never apply it. A file left with conflict markers is still written
(that is how the user sees and resolves it), but ``[tool.spaps] template-version`` moves only
when no conflict is left, so a later run merges again from the same base. When the new
template raises the runtime pin, the runtime's upgrade codemods run inside the merge
(:func:`plan_update`), into the same plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli import __version__
from spaps_cli.errors import UsageError
from spaps_cli.plan import Plan
from spaps_cli.project import Project
from spaps_cli.update.versions import TemplateVersions, version_key

if TYPE_CHECKING:
    from spaps_cli.codemods.base import Finding
    from spaps_cli.codemods.runtime_upgrades import UpgradeRegistry
    from spaps_cli.update.runtime import ReleaseCodemods, RuntimeUpdatePlan

#: What happened to one file, in the words the report uses.
REPLACED = "replace"  # untouched since generation: the new template's content
MERGED = "merge"  # both changed, merged without conflict
KEPT = "keep"  # only the team changed it (or the template did not)
CREATED = "create"  # new in the template
REMOVED = "remove"  # removed by the template, unchanged since generation
KEPT_REMOVED = "kept"  # removed by the template but edited by the team: left, reported
DELETED = "deleted"  # the team deleted a file the template changed: left deleted, reported
CONFLICT = "conflict"

REPORTED = frozenset({KEPT_REMOVED, DELETED, CONFLICT})
#: The file whose merged runtime pin decides whether the update also moves the runtime.
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class FileOutcome:
    path: str
    outcome: str
    lines: tuple[int, ...] = ()  # conflict markers (1-based), or the TOML keys' context
    detail: str = ""


@dataclass
class UpdatePlan:
    project: Project
    source: str  # the recorded template version
    target: str
    plan: Plan
    files: list[FileOutcome] = field(default_factory=list)
    #: The runtime upgrade the new template's raised pin takes (in the same plan), if any.
    runtime: RuntimeUpdatePlan | None = None

    @property
    def conflicts(self) -> list[FileOutcome]:
        return [f for f in self.files if f.outcome == CONFLICT]

    @property
    def up_to_date(self) -> bool:
        return self.source == self.target


def recorded_version(project: Project) -> str:
    value = project.spaps.get("template-version")
    if value is None:
        raise UsageError(
            f"{project.pyproject_path}: [tool.spaps] has no template-version",
            hint='add template-version = "1" (the version spaps new service recorded)',
        )
    version = str(value)
    version_key(version)
    return version


def target_version(project: Project, versions: TemplateVersions, to: str | None) -> str:
    source = recorded_version(project)
    target = versions.current if to is None else to
    versions.tree(target, role="target")
    if version_key(target) < version_key(source):
        raise UsageError(
            f"--to {target} is older than the service's template version {source}",
            hint="spaps update only moves forward; restore an older version from git",
        )
    return target


def plan_update(
    project: Project,
    versions: TemplateVersions,
    *,
    to: str | None,
    registry: UpgradeRegistry | None = None,
) -> UpdatePlan:
    """Merge template ``source`` -> ``target`` into ``project`` in memory.

    When the new template raises the runtime pin's floor, the codemods of the runtime releases
    in between (``registry``: the CLI's rows unless a test gives its own) run in the same plan:
    over the team's side and the old render of every merged Python file before the merge (so
    the team's code meets the new template in the new runtime's terms, and a line the template
    rewrote does not strand a team's use of the old name), and over the team's own files.
    """
    from spaps_cli.update.render import render_service_at

    source = recorded_version(project)
    target = target_version(project, versions, to)
    update = UpdatePlan(project, source, target, Plan(project.root))
    if update.up_to_date:
        return update
    spaps = project.spaps
    recorded_cli = str(spaps.get("cli-version") or __version__)
    base = render_service_at(
        versions.tree(source, role="recorded"),
        spaps,
        root=project.root,
        template_version=source,
        cli_version=recorded_cli,
    )
    theirs = render_service_at(
        versions.tree(target, role="target"),
        spaps,
        root=project.root,
        template_version=target,
        cli_version=__version__,
    )
    _refuse_markers(project.root, sorted(set(base) | set(theirs)))
    if str(spaps.get("update-pending", "")) == target:
        # The user resolved what the last run left: the files are merged (and migrated to the
        # new pin's runtime, if it rose), only the record moves.
        _record_version(update)
        return update
    merger = _FileMerger(project, source, target)
    paths = sorted(set(base) | set(theirs))

    def merge(path: str) -> None:
        outcome = merger.merge(path, base.get(path), theirs.get(path), update.plan)
        if outcome is not None:
            update.files.append(outcome)

    # pyproject.toml first: the pin it ends with decides whether the code moves runtime.
    if PYPROJECT in paths:
        merge(PYPROJECT)
    _start_runtime(update, merger, registry, theirs.get(PYPROJECT))
    for path in paths:
        if path != PYPROJECT:
            merge(path)
    if merger.runtime is not None:
        merger.migrate_the_rest(update.plan, set(paths))
    if update.runtime is not None and update.runtime.errors:
        from spaps_cli.update.runtime import unmigratable

        raise unmigratable(update.runtime)
    update.files.sort(key=lambda outcome: outcome.path)
    update.plan.files.sort(key=lambda planned: planned.path)
    if update.conflicts:
        _record_pending(update)
    else:
        _record_version(update)
    return update


def _start_runtime(
    update: UpdatePlan,
    merger: _FileMerger,
    registry: UpgradeRegistry | None,
    template_pyproject: bytes | None,
) -> None:
    """Does the merged pin move the runtime? If so, hand the merger the releases' codemods."""
    from spaps_cli.codemods.runtime_upgrades import UpgradeRegistry
    from spaps_cli.update.runtime import plan_template_runtime

    planned = plan_template_runtime(
        update.project,
        update.plan,
        registry=registry or UpgradeRegistry.installed(),
        template_pyproject=template_pyproject,
    )
    if planned is None:
        return
    update.runtime, merger.runtime = planned
    merger.upgrade = update.runtime


def _refuse_markers(root: Path, paths: list[str]) -> None:
    """A service still holding markers from an earlier run must be resolved first.

    Only the template's files are read: they are the only ones an update writes markers into.
    """
    from spaps_cli.update.text_merge import OURS_LABEL

    marker = f"<<<<<<< {OURS_LABEL}".encode()
    for path in paths:
        try:
            data = (root / path).read_bytes()
        except OSError:
            continue
        if marker in data:
            raise UsageError(
                f"{path} still has conflict markers from an earlier spaps update",
                hint="resolve them (keep what you want, delete the marker lines), then re-run",
            )


def _record_version(update: UpdatePlan) -> None:
    """``template-version`` and ``cli-version`` of the merged pyproject, with tomlkit."""

    def record(spaps: Any) -> None:
        spaps["template-version"] = update.target
        spaps["cli-version"] = __version__
        if "update-pending" in spaps:
            del spaps["update-pending"]

    _edit_spaps_table(update, record)


def _record_pending(update: UpdatePlan) -> None:
    """Remember which update the conflicts belong to, so the run after resolving them finishes
    it instead of merging the resolved files again from the old base."""

    def record(spaps: Any) -> None:
        spaps["update-pending"] = update.target

    _edit_spaps_table(update, record)


def _edit_spaps_table(update: UpdatePlan, edit: Callable[[Any], None]) -> None:
    import tomlkit

    path = "pyproject.toml"
    pending = update.plan.pending(path)
    text = (
        pending.decode("utf-8")
        if pending is not None
        else update.project.pyproject_path.read_text(encoding="utf-8")
    )
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError:
        return  # pyproject.toml itself holds conflict markers: the list of conflicts says so
    edit(document["tool"]["spaps"])
    update.plan.add(path, tomlkit.dumps(document), is_edit=True)


def _in_conventions_of(ours: bytes, rendered: bytes | None) -> bytes | None:
    """``rendered`` with the line endings and byte order mark of the file on disk.

    A Windows checkout (git ``core.autocrlf``) turns every line into CRLF: compared as they
    are, every file would look edited on every line and conflict as a whole.
    """
    if rendered is None:
        return None
    if b"\r\n" in ours and b"\r\n" not in rendered:
        rendered = rendered.replace(b"\n", b"\r\n")
    bom = b"\xef\xbb\xbf"
    if ours.startswith(bom) and not rendered.startswith(bom):
        rendered = bom + rendered
    return rendered


class _FileMerger:
    def __init__(self, project: Project, source: str, target: str) -> None:
        from spaps_cli.update.text_merge import Labels

        self.project = project
        self.labels = Labels(base=f"template {source}", theirs=f"template {target}")
        self.first_party = (project.package,)
        #: Set when the new template's pin moves the runtime: the releases' codemods (None when
        #: no release in between registered any) and the upgrade they report into.
        self.runtime: ReleaseCodemods | None = None
        self.upgrade: RuntimeUpdatePlan | None = None

    def merge(
        self, path: str, base: bytes | None, theirs: bytes | None, plan: Plan
    ) -> FileOutcome | None:
        ours_path = self.project.root / path
        disk = ours_path.read_bytes() if ours_path.is_file() else None
        if disk is not None:
            base, theirs = _in_conventions_of(disk, base), _in_conventions_of(disk, theirs)
        if disk is None or self.runtime is None or not self.runtime.wants(path):
            return self._decide(path, base, disk, theirs, plan)
        # The new pin moves the runtime: both sides of the team's history in the new runtime's
        # terms first, so the merge compares like with like.
        template_changed = base != theirs
        base = self._migrated(path, base)
        ours, findings = self._migrated_ours(path, disk)
        outcome = self._decide(path, base, ours, theirs, plan)
        if outcome is not None and outcome.outcome == KEPT and template_changed:
            # The template's change was the runtime's rename, now on the team's file as well.
            outcome = FileOutcome(path, MERGED)
        assert self.upgrade is not None
        planned = next((f for f in plan.files if f.relative_to(plan.root) == path), None)
        if planned is not None and planned.removal:
            return outcome
        if planned is None and ours != disk:
            plan.add(path, ours, is_edit=True)
            if ours == theirs and outcome is None:
                outcome = FileOutcome(path, REPLACED)
        content = planned.content if planned is not None else ours
        if content != theirs:
            self.upgrade.findings.extend(findings)
            if ours != disk:
                self.upgrade.changed_files.append(path)
        return outcome

    def _migrated(self, path: str, data: bytes | None) -> bytes | None:
        from spaps_cli.codemods.runner import BadSource

        assert self.runtime is not None
        if data is None:
            return None
        try:
            return self.runtime.migrate(path, data)[0]
        except BadSource:
            return data  # a render that does not parse: merged as it is

    def _migrated_ours(self, path: str, disk: bytes) -> tuple[bytes, list[Finding]]:
        from spaps_cli.codemods.runner import BadSource

        assert self.runtime is not None
        assert self.upgrade is not None
        try:
            return self.runtime.migrate(path, disk)
        except BadSource as exc:
            self.upgrade.errors.append((path, str(exc)))
            return disk, []

    def migrate_the_rest(self, plan: Plan, template_paths: set[str]) -> None:
        """The team's own Python files (domains, tasks, modules): migrated as ``--runtime`` does."""
        from spaps_cli.codemods.runner import BadSource

        assert self.runtime is not None
        assert self.upgrade is not None
        for display, source in self.runtime.sources.items():
            if display in template_paths:
                continue
            try:
                original = source.path.read_bytes()
                data, findings = self.runtime.migrate(display, original)
            except OSError as exc:
                self.upgrade.errors.append((display, f"cannot read: {exc.strerror or exc}"))
                continue
            except BadSource as exc:
                self.upgrade.errors.append((display, str(exc)))
                continue
            self.upgrade.findings.extend(findings)
            if data != original:
                plan.add(display, data, is_edit=True)
                self.upgrade.changed_files.append(display)

    def _decide(
        self,
        path: str,
        base: bytes | None,
        ours: bytes | None,
        theirs: bytes | None,
        plan: Plan,
    ) -> FileOutcome | None:
        if theirs is None:  # removed by the template
            if ours is None or base is None:
                return None
            if ours == base:
                plan.remove(path)
                return FileOutcome(path, REMOVED)
            return FileOutcome(path, KEPT_REMOVED, detail="removed by the template, edited here")
        if ours is None:
            if base is None:
                plan.add(path, theirs)
                return FileOutcome(path, CREATED)
            if base == theirs:
                return None
            return FileOutcome(path, DELETED, detail="deleted here, changed by the template")
        if ours == theirs:
            return None
        if base == theirs:
            return FileOutcome(path, KEPT) if base is not None else None
        if base == ours:
            plan.add(path, theirs, is_edit=True)
            return FileOutcome(path, REPLACED)
        return self._merge_texts(path, base or b"", ours, theirs, plan)

    def _merge_texts(
        self, path: str, base: bytes, ours: bytes, theirs: bytes, plan: Plan
    ) -> FileOutcome:
        from spaps_cli.update.text_merge import (
            Conflict,
            conflict_lines,
            merge_regions,
            render_regions,
        )

        try:
            texts = [data.decode("utf-8") for data in (base, ours, theirs)]
        except UnicodeDecodeError:
            return FileOutcome(path, CONFLICT, detail="binary file changed on both sides; kept")
        base_text, ours_text, theirs_text = texts
        if path == "pyproject.toml":
            from spaps_cli.update.toml_merge import merge_pyproject

            merged = merge_pyproject(base_text, ours_text, theirs_text)
            if not merged.conflicts:
                plan.add(path, merged.text, is_edit=True)
                return FileOutcome(path, MERGED)
        regions = merge_regions(base_text, ours_text, theirs_text)
        if path.endswith(".py") and any(isinstance(r, Conflict) for r in regions):
            from spaps_cli.update.python_merge import resolve_python

            regions = resolve_python(regions, first_party=self.first_party)
        text = render_regions(regions, self.labels)
        plan.add(path, text, is_edit=True)
        lines = tuple(conflict_lines(text))
        if lines:
            return FileOutcome(path, CONFLICT, lines=lines)
        return FileOutcome(path, MERGED)
