"""Plan -> apply: the one way the CLI changes files.

Every command that writes (``new service``, ``add domain``, ``add task``, ``migrate``,
``release bump``) first builds a :class:`Plan` in memory: the full new content of every file it
would create or edit. All checks run while planning (names, containment, conflicts, parsing of
edited code). Only then does :meth:`Plan.apply` touch the disk, one atomic write per file
(temp file + ``os.replace``, mode kept), and if any write fails the files already written by this
apply are restored, so the tree is never left half-changed. ``--dry-run``/``--diff``/``--check``
simply describe the plan and never call ``apply``.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from spaps_cli.errors import ConflictError, FileAccessError, UsageError


class ConflictPolicy(StrEnum):
    """What to do when a generated file already exists with other content."""

    ERROR = "error"
    FORCE = "force"
    SKIP = "skip"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"  # an intended edit of an existing file (registry, pyproject, migrate)
    IDENTICAL = "identical"
    FORCE = "force"  # existing file overwritten because of --force
    SKIP = "skip"  # existing file kept because of --skip
    CONFLICT = "conflict"
    REMOVE = "remove"  # a file the plan deletes (``spaps update``: dropped by the template)

    @property
    def writes(self) -> bool:
        return self in {Action.CREATE, Action.UPDATE, Action.FORCE, Action.REMOVE}


@dataclass(frozen=True)
class PlannedFile:
    """One file the plan wants to exist with ``content``."""

    path: Path  # absolute, resolved inside the plan's root
    content: bytes
    is_edit: bool  # True: editing an existing file is the point, not a conflict
    executable: bool = False
    private: bool = False  # owner-only (0600) when created: it holds a secret
    removal: bool = False  # True: the plan deletes this file (``content`` is unused)

    def relative_to(self, root: Path) -> str:
        return self.path.relative_to(root).as_posix()


@dataclass(frozen=True)
class Resolution:
    """A planned file with the action decided against the current disk state."""

    file: PlannedFile
    action: Action
    before: bytes | None  # current content on disk, None if missing

    def diff(self, root: Path) -> str:
        """Unified diff of this change (empty for identical/skip)."""
        if not self.action.writes or self.file.content == self.before:
            return ""
        name = self.file.relative_to(root)
        old = (self.before or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        content = b"" if self.file.removal else self.file.content
        new = content.decode("utf-8", errors="replace").splitlines(keepends=True)
        fromfile = f"a/{name}" if self.before is not None else "/dev/null"
        tofile = "/dev/null" if self.file.removal else f"b/{name}"
        return "".join(difflib.unified_diff(old, new, fromfile, tofile))


@dataclass
class Plan:
    """The full set of file contents a command wants, rooted at ``root``."""

    root: Path
    files: list[PlannedFile] = field(default_factory=list)

    def __post_init__(self) -> None:
        from spaps_cli.paths import resolve

        self.root = resolve(self.root, what="destination")

    def _contained(self, relative: str | Path) -> Path:
        candidate = Path(relative)
        if candidate.is_absolute():
            raise UsageError(f"refusing to write {candidate}: paths in a plan must be relative")
        from spaps_cli.paths import resolve

        target = resolve(self.root / candidate, what=str(relative))
        if target != self.root and self.root not in target.parents:
            raise UsageError(
                f"refusing to write {relative}: it resolves outside {self.root}",
                hint="names must not contain '..' or path separators",
            )
        return target

    def add(
        self,
        relative: str | Path,
        content: str | bytes,
        *,
        is_edit: bool = False,
        executable: bool = False,
        private: bool = False,
    ) -> None:
        """Plan ``relative`` to hold ``content``; a later add of the same path replaces it."""
        path = self._contained(relative)
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.files = [f for f in self.files if f.path != path]
        self.files.append(PlannedFile(path, data, is_edit, executable, private))

    def remove(self, relative: str | Path) -> None:
        """Plan ``relative`` to be deleted; applied (and rolled back) with the writes."""
        path = self._contained(relative)
        self.files = [f for f in self.files if f.path != path]
        self.files.append(PlannedFile(path, b"", is_edit=True, removal=True))

    def pending(self, relative: str | Path) -> bytes | None:
        """Content already planned for ``relative`` (so later steps can edit earlier output)."""
        path = self._contained(relative)
        for planned in self.files:
            if planned.path == path:
                return planned.content
        return None

    def resolve(self, policy: ConflictPolicy = ConflictPolicy.ERROR) -> list[Resolution]:
        """Decide create/update/identical/force/skip/conflict for every file, reading the disk."""
        resolutions: list[Resolution] = []
        for planned in self.files:
            before = _read_existing(planned.path)
            if planned.removal:
                action = Action.IDENTICAL if before is None else Action.REMOVE
            elif before is None:
                action = Action.CREATE
            elif before == planned.content or (
                not planned.is_edit and _same_text(before, planned.content)
            ):
                action = Action.IDENTICAL
            elif planned.is_edit:
                action = Action.UPDATE
            elif policy is ConflictPolicy.FORCE:
                action = Action.FORCE
            elif policy is ConflictPolicy.SKIP:
                action = Action.SKIP
            else:
                action = Action.CONFLICT
            resolutions.append(Resolution(planned, action, before))
        return resolutions

    def apply(self, resolutions: list[Resolution]) -> None:
        """Write every resolution that writes, atomically per file and all-or-nothing overall."""
        conflicts = [r for r in resolutions if r.action is Action.CONFLICT]
        if conflicts:
            first = conflicts[0].file.relative_to(self.root)
            more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
            raise ConflictError(
                f"{first}{more} already exists with different content",
                hint="re-run with --force to overwrite or --skip to keep existing files",
            )
        written: list[Resolution] = []
        created_dirs: list[Path] = []
        try:
            for resolution in resolutions:
                if not resolution.action.writes:
                    continue
                if resolution.action is Action.REMOVE:
                    resolution.file.path.unlink()
                    written.append(resolution)
                    continue
                created_dirs.extend(_make_parents(resolution.file.path.parent))
                atomic_write(
                    resolution.file.path,
                    resolution.file.content,
                    executable=resolution.file.executable,
                    private=resolution.file.private,
                )
                written.append(resolution)
        except OSError as exc:
            _roll_back(written, created_dirs)
            raise FileAccessError(
                f"could not write {_describe_os_error(exc)}; nothing was changed",
                hint="check permissions and free space",
            ) from exc
        except BaseException:
            _roll_back(written, created_dirs)
            raise


def atomic_write(
    path: Path, content: bytes, *, executable: bool = False, private: bool = False
) -> None:
    """Write ``content`` to ``path`` via a temp file in the same directory and ``os.replace``.

    The existing file's permission bits are kept, so a migrated script stays executable and a
    private config stays private. A new ``private`` file is created owner-only (0600).
    """
    mode: int | None = None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".spaps-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            if mode is not None:
                # Replacing a file: without fsync a crash after the rename can leave it empty
                # (ext4 delayed allocation). A new file has no good version to lose, and
                # fsyncing each of a new service's ~30 files costs more than rendering them.
                os.fsync(handle.fileno())
        if mode is None:
            mode = 0o666 & ~_current_umask()
            if executable:
                mode |= 0o111 & ~_current_umask()
            if private:
                mode &= 0o700
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise


def _same_text(existing: bytes, rendered: bytes) -> bool:
    """Equal but for line endings and a UTF-8 BOM: what a Windows checkout does to a file.

    Only for rendered files: git (``core.autocrlf``) or an editor changed the encoding of the
    same content, so the file is kept as it is instead of reported as a conflict. Edits keep
    the file's conventions themselves and are compared byte for byte.
    """

    def normalised(data: bytes) -> bytes:
        return data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")

    return normalised(existing) == normalised(rendered)


def _read_existing(path: Path) -> bytes | None:
    """What ``path`` holds now; a directory where the plan wants a file blocks the write.

    That is a path that cannot be written (exit 4, as for a file where a directory must go),
    not bad input: nothing the user typed is wrong, something on disk is in the way.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError as exc:
        raise FileAccessError(
            f"cannot write {path}: it is a directory, expected a file; nothing was changed",
            hint="move or remove that directory, then re-run",
        ) from exc
    except OSError as exc:
        raise FileAccessError(f"could not read {_describe_os_error(exc)}") from exc


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; return the ones created (outermost first)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _roll_back(written: list[Resolution], created_dirs: list[Path]) -> None:
    for resolution in reversed(written):
        with contextlib.suppress(OSError):
            if resolution.before is None:
                resolution.file.path.unlink()
            else:
                atomic_write(resolution.file.path, resolution.before)
    for directory in reversed(created_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _describe_os_error(exc: OSError) -> str:
    where = exc.filename if exc.filename else "a file"
    return f"{where}: {exc.strerror or exc}"


def report(
    plan: Plan, resolutions: list[Resolution], *, dry_run: bool, diffs: bool = True
) -> list[dict[str, str]]:
    """Print one status line per file (and the diff of edits on a dry run); return JSON rows.

    ``diffs=False`` keeps the diffs off stdout (``--json`` owns stdout); on a dry run they are
    then returned in the rows instead, under ``"diff"``.
    """
    from spaps_cli import console

    rows: list[dict[str, str]] = []
    for resolution in resolutions:
        name = resolution.file.relative_to(plan.root)
        verb = resolution.action.value
        if dry_run and resolution.action.writes:
            verb = f"would {verb}"
        console.status(verb, name)
        row = {"path": name, "action": resolution.action.value}
        if dry_run and resolution.action in {Action.UPDATE, Action.FORCE}:
            if diffs:
                console.print_diff(resolution.diff(plan.root))
            else:
                row["diff"] = resolution.diff(plan.root)
        rows.append(row)
    return rows
