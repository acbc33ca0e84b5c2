"""Where a domain's first Alembic migration goes: its file name, revision id and parent.

The service keeps one linear history in ``migrations/versions``; files are named
``<YYYYMMDDHHMM>_<domain>_<slug>.py`` (the runtime validates the pattern). The parent of a new
migration is the current head, found from the ``revision``/``down_revision`` graph of the files
(read with ``ast``, never imported: a migration imports the service, which may not even be
installable yet). Two rules keep the history valid when several domains are added in the same
minute: a new timestamp is always later than every existing one (the runtime reports duplicate
timestamps), and revision ids fit Alembic's ``VARCHAR(32)`` version column.

Re-running ``add domain`` finds the domain's existing first migration and reuses its name,
revision and parent, so the rendered file is byte-identical and the plan reports ``identical``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from spaps_cli.errors import UsageError

VERSIONS_DIR = "migrations/versions"
TIMESTAMP_FORMAT = "%Y%m%d%H%M"
FIRST_MIGRATION_SLUG = "create_tables"

#: Alembic's ``alembic_version.version_num`` is ``VARCHAR(32)``.
MAX_REVISION_LENGTH = 32

_TIMESTAMPED = re.compile(r"^(?P<timestamp>\d{12})_.+\.py$")


@dataclass(frozen=True)
class MigrationSlot:
    """The name and place in the history of a domain's first migration."""

    filename: str  # 202611261930_billing_create_tables.py
    revision: str
    down_revision: str | None
    timestamp: str

    @property
    def stem(self) -> str:
        return self.filename.removesuffix(".py")

    @property
    def create_date(self) -> str:
        moment = datetime.strptime(self.timestamp, TIMESTAMP_FORMAT)
        return moment.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class _Revision:
    filename: str
    revision: str
    down_revisions: tuple[str, ...]


def first_migration_slot(versions_dir: Path, domain: str, *, now: datetime) -> MigrationSlot:
    """The slot of ``domain``'s first migration: the existing one, or a new one after the head."""
    revisions = _read_revisions(versions_dir)
    pattern = re.compile(
        rf"^(?P<timestamp>\d{{12}})_{re.escape(domain)}_{FIRST_MIGRATION_SLUG}\.py$"
    )
    for existing in revisions:
        match = pattern.fullmatch(existing.filename)
        if match is not None:
            parent = existing.down_revisions[0] if existing.down_revisions else None
            return MigrationSlot(
                filename=existing.filename,
                revision=existing.revision,
                down_revision=parent,
                timestamp=match["timestamp"],
            )
    timestamp = _next_timestamp(revisions, now)
    return MigrationSlot(
        filename=f"{timestamp}_{domain}_{FIRST_MIGRATION_SLUG}.py",
        revision=f"{timestamp}_{domain}"[:MAX_REVISION_LENGTH],
        down_revision=_head(revisions, versions_dir),
        timestamp=timestamp,
    )


def _read_revisions(versions_dir: Path) -> list[_Revision]:
    if not versions_dir.is_dir():
        raise UsageError(
            f"{versions_dir} does not exist: the service has no Alembic migrations directory",
            hint="restore migrations/ from 'spaps new service'",
        )
    revisions: list[_Revision] = []
    for path in sorted(versions_dir.glob("*.py")):
        if path.name == "__init__.py":
            continue
        revision, downs = _revision_ids(path)
        if revision is None:
            raise UsageError(
                f'{path}: no `revision = "..."` found',
                hint="every file in migrations/versions must be an Alembic migration",
            )
        revisions.append(_Revision(path.name, revision, downs))
    return revisions


def _revision_ids(path: Path) -> tuple[str | None, tuple[str, ...]]:
    # The runtime's db.migrations reads revisions the same way; the CLI keeps its own copy
    # because it must work without the runtime installed, and here a broken file is an error
    # (nothing may be planned on top of it) where the runtime's validator only reports it.
    from spaps_cli.python_source import UnparsableSource, check_python

    try:
        tree = check_python(path.read_text(encoding="utf-8"), filename=str(path))
    except UnparsableSource as exc:
        raise UsageError(exc.located(str(path)), hint="fix the migration, then re-run") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    values: dict[str, object] = {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    revision = values.get("revision")
    down = values.get("down_revision")
    if isinstance(down, str):
        downs: tuple[str, ...] = (down,)
    elif isinstance(down, list | tuple):
        downs = tuple(str(item) for item in down)
    else:
        downs = ()
    return (revision if isinstance(revision, str) else None), downs


def _head(revisions: list[_Revision], versions_dir: Path) -> str | None:
    if not revisions:
        return None
    referenced = {down for revision in revisions for down in revision.down_revisions}
    heads = [r for r in revisions if r.revision not in referenced]
    if len(heads) != 1:
        names = ", ".join(r.filename for r in heads) or "none (the history has a cycle)"
        raise UsageError(
            f"{versions_dir} has {len(heads)} heads ({names}); a new migration needs exactly one",
            hint="merge them with 'alembic merge heads' first",
        )
    return heads[0].revision


def _next_timestamp(revisions: list[_Revision], now: datetime) -> str:
    """``now``, or one minute after the latest existing timestamp if that is not earlier."""
    candidate = now.replace(second=0, microsecond=0, tzinfo=None)
    for revision in revisions:
        match = _TIMESTAMPED.fullmatch(revision.filename)
        if match is None:
            continue
        existing = datetime.strptime(match["timestamp"], TIMESTAMP_FORMAT)
        if existing >= candidate:
            candidate = existing + timedelta(minutes=1)
    return candidate.strftime(TIMESTAMP_FORMAT)
