"""The domain starters ``spaps add domain`` can render, and which one a name gets by default.

A starter is a template tree under ``templates/domain/<name>/`` laid out like the service root
(``src/{{ package }}/domains/{{ domain }}/...``, ``tests/domains/...`` and the first migration),
so one render call places every file. ``--list`` prints this table; the descriptions live here
and nowhere else so the help text, the docs and the CLI cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from spaps_cli.errors import UsageError


@dataclass(frozen=True)
class Starter:
    name: str
    summary: str
    routes: tuple[str, ...]  # relative to the domain's prefix, for --list and the docs
    tables: tuple[str, ...]  # ``{domain}`` is replaced by the domain name

    def table_names(self, domain: str) -> list[str]:
        return [table.format(domain=domain) for table in self.tables]


USERS = Starter(
    name="users",
    summary="the signed-in user's profile, read from the SPAPS session (current_user)",
    routes=("GET /me", "PATCH /me"),
    tables=("{domain}_profiles",),
)
ADMIN = Starter(
    name="admin",
    summary='user management behind require_roles("admin"): 401 without a token, 403 without'
    " the role; a suspended user is refused on every route of the service",
    routes=(
        "GET /users",
        "GET /users/{user_id}",
        "PUT /users/{user_id}",
        "DELETE /users/{user_id}",
    ),
    tables=("{domain}_accounts",),
)
CRUD = Starter(
    name="crud",
    summary="create/read/update/delete over one SQLAlchemy model, each item owned by its creator"
    " (admins act on all), paginated, with 404s and validation errors",
    routes=(
        "GET /items",
        "POST /items",
        "GET /items/{item_id}",
        "PATCH /items/{item_id}",
        "DELETE /items/{item_id}",
    ),
    tables=("{domain}_items",),
)

STARTERS: dict[str, Starter] = {starter.name: starter for starter in (USERS, ADMIN, CRUD)}

#: Domain names that pick their namesake starter; any other name gets the generic CRUD one.
DEFAULT_FOR_NAME = {"users": USERS, "admin": ADMIN}


def choose_starter(domain: str, explicit: str | None) -> Starter:
    """``--starter`` if given (validated), else the namesake starter, else CRUD."""
    if explicit is None:
        return DEFAULT_FOR_NAME.get(domain, CRUD)
    starter = STARTERS.get(explicit)
    if starter is None:
        known = ", ".join(STARTERS)
        raise UsageError(
            f"unknown starter {explicit!r}; choose one of: {known}",
            hint="spaps add domain --list shows what each starter contains",
        )
    return starter
