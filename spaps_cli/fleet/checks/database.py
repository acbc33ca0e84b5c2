"""Database family: the service's database is its own, by name and against the fleet on record."""

from __future__ import annotations

from spaps_cli.fleet.findings import DoctorContext, Finding, check
from spaps_cli.fleet.records import (
    database_identity,
    database_name,
    fleet_records,
    mask_url_password,
)


@check("database")
def database_name_is_own(context: DoctorContext) -> list[Finding]:
    url = context.probe.get("database_url")
    if not isinstance(url, str):
        return []
    project = context.project
    service = str(project.spaps.get("service", project.package))
    own_names = {project.package, service, service.replace("-", "_")}
    name = database_name(url)
    if name is None or any(
        name == own or name.startswith((f"{own}_", f"{own}-")) for own in own_names
    ):
        return []
    return [
        Finding(
            "database.foreign-name",
            "error",
            f"the database name {name!r} in DATABASE_URL is not the service's own"
            f" (expected {project.package!r} or {project.package}_<suffix>)",
            f"create a database named {project.package} (or {project.package}_<env>) and"
            " point DATABASE_URL at it",
        )
    ]


@check("database")
def database_not_shared(context: DoctorContext) -> list[Finding]:
    if context.fleet is None:
        context.notes.append("database: no --fleet given, so only the database name was checked")
        return []
    url = context.probe.get("database_url")
    if not isinstance(url, str):
        return []
    records = fleet_records(context.fleet, exclude=context.project.root)
    mine = database_identity(url, context.project.root)
    if mine is None:
        return []
    return [
        Finding(
            "database.shared",
            "error",
            f"DATABASE_URL {mask_url_password(url)} is the database of service"
            f" {record.name!r} too (on record in {record.source})",
            "give every service its own database: one database per service,"
            " created by its own migrations",
        )
        for record in records
        if database_identity(record.database_url, record.root) == mine
    ]
