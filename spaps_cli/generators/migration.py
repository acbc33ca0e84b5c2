"""Where a domain's first Alembic migration goes: its file name, revision id and parent.

The service keeps one linear history in ``migrations/versions``; files are named
``<YYYYMMDDHHMM>_<domain>_<slug>.py`` (the runtime validates the pattern). The parent of a new
migration is the current head, found from the ``revision``/``down_revision`` graph of the files
(read with ``ast``, never imported: a migration imports the service, which may not even be
installable yet). Two rules keep the history valid when several domains are added in the same
minute: a new timestamp is always later than every existing one (the runtime reports duplicate
timestamps), and revision ids fit Alembic's ``VARCHAR(32)`` version column.

Revision ids are unique across a fleet, not only within one service: ``<timestamp>_<service
id>_<domain>`` (:func:`revision_id`), where the service id is the random ``[tool.spaps]
service-id`` that ``new service`` records. Two services generated (or growing a domain) in the
same minute therefore never share a revision, so Alembic cannot take one service's database for
the other's at head. Ids only; file names keep the ``<YYYYMMDDHHMM>_<domain>_<slug>.py`` rule.

Re-running ``add domain`` finds the domain's existing first migration and reuses its name,
revision and parent, so the rendered file is byte-identical and the plan reports ``identical``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from spaps_cli.errors import UsageError
from spaps_cli.revision_graph import RevisionFile, RevisionGraph, read_graph

VERSIONS_DIR = "migrations/versions"
TIMESTAMP_FORMAT = "%Y%m%d%H%M"
FIRST_MIGRATION_SLUG = "create_tables"

#: Alembic's ``alembic_version.version_num`` is ``VARCHAR(32)``.
MAX_REVISION_LENGTH = 32

_TIMESTAMPED = re.compile(r"^(?P<timestamp>\d{12})_.+\.py$")

#: ``[tool.spaps] service-id``: 8 random hex digits, drawn once by ``spaps new service``.
SERVICE_ID_PATTERN = re.compile(r"^[0-9a-f]{8}$")


def new_service_id() -> str:
    return secrets.token_hex(4)


def service_id_of(spaps: dict[str, object], package: str) -> str:
    """The recorded ``service-id``; for a service generated before ids were recorded, a stable
    stand-in derived from its package (still different between services of a fleet)."""
    recorded = str(spaps.get("service-id") or "")
    if SERVICE_ID_PATTERN.fullmatch(recorded):
        return recorded
    return hashlib.sha256(package.encode()).hexdigest()[:8]


def revision_id(timestamp: str, service_id: str, domain: str) -> str:
    """``202612051230_3f9a1c2e_billing``: unique per service and minute, readable, and within
    Alembic's 32 characters (only the domain part is ever cut)."""
    return f"{timestamp}_{service_id}_{domain}"[:MAX_REVISION_LENGTH]


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


def first_migration_slot(
    versions_dir: Path, domain: str, *, now: datetime, service_id: str
) -> MigrationSlot:
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
        revision=revision_id(timestamp, service_id, domain),
        down_revision=_head(revisions, versions_dir),
        timestamp=timestamp,
    )


def _read_revisions(versions_dir: Path) -> list[RevisionFile]:
    """The history to build on; anything Alembic could not build on is refused here, before a
    file is planned: an unreadable file, a dangling parent, a cycle."""
    if not versions_dir.is_dir():
        raise UsageError(
            f"{versions_dir} does not exist: the service has no Alembic migrations directory",
            hint="restore migrations/ from 'spaps new service'",
        )
    graph = read_graph(versions_dir)
    for name, reason in graph.unreadable.items():
        if reason.startswith("line "):
            line, _, message = reason.removeprefix("line ").partition(": ")
            raise UsageError(
                f"{versions_dir / name}:{line}: syntax error: {message}",
                hint="fix the migration, then re-run",
            )
        raise UsageError(
            f"{versions_dir / name}: {reason}",
            hint="every file in migrations/versions must be an Alembic migration",
        )
    dangling = graph.dangling()
    if dangling:
        revision, missing = dangling[0]
        raise UsageError(
            f"{versions_dir / revision.filename}: down_revision {missing!r} is not a revision"
            " in migrations/versions; a new migration cannot be added to a broken history",
            hint="point down_revision at an existing revision (alembic history lists them)",
        )
    cycle = graph.in_cycles()
    if cycle:
        names = ", ".join(revision.filename for revision in cycle)
        raise UsageError(
            f"{versions_dir}: the revision history has a cycle ({names}); a new migration"
            " cannot be added onto it",
            hint="fix down_revision in those files so the history runs from one base to one head",
        )
    return graph.revisions


def _head(revisions: list[RevisionFile], versions_dir: Path) -> str | None:
    if not revisions:
        return None
    heads = RevisionGraph(revisions).heads()
    if len(heads) != 1:
        names = ", ".join(r.filename for r in heads)
        raise UsageError(
            f"{versions_dir} has {len(heads)} heads ({names}); a new migration needs exactly one",
            hint="merge them with 'alembic merge heads' first",
        )
    return heads[0].revision


def _next_timestamp(revisions: list[RevisionFile], now: datetime) -> str:
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
