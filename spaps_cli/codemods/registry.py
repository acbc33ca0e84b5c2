"""The ordered list of codemods and selection by id.

Order matters and is explicit (bump-pydantic's lesson): the import map runs first so later
codemods see shared imports, and on-event-to-lifespan runs last because the others may add code
next to the app it rewrites.
"""

from __future__ import annotations

from collections.abc import Sequence

from spaps_cli.codemods.auth_to_runtime import AuthToRuntime
from spaps_cli.codemods.base import Codemod
from spaps_cli.codemods.celery_to_runtime import CeleryToRuntime
from spaps_cli.codemods.db_session_to_runtime import DbSessionToRuntime
from spaps_cli.codemods.imports import ImportsToRuntime
from spaps_cli.codemods.middleware_to_runtime import MiddlewareToRuntime
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.settings_to_runtime import SettingsToRuntime
from spaps_cli.errors import UsageError

CODEMODS: tuple[type[Codemod], ...] = (
    ImportsToRuntime,
    SettingsToRuntime,
    MiddlewareToRuntime,
    AuthToRuntime,
    DbSessionToRuntime,
    CeleryToRuntime,
    OnEventToLifespan,
)


def select_codemods(
    select: Sequence[str] = (), ignore: Sequence[str] = ()
) -> tuple[type[Codemod], ...]:
    """Codemods named by ``select`` (all when empty) minus ``ignore``, in registry order."""
    known = {codemod.ID: codemod for codemod in CODEMODS}
    unknown = sorted({name for name in (*select, *ignore) if name not in known})
    if unknown:
        raise UsageError(
            f"unknown codemod id(s): {', '.join(unknown)}",
            hint="run 'spaps migrate --list' to see the ids",
        )
    chosen = set(select) if select else set(known)
    chosen -= set(ignore)
    return dependency_order(tuple(codemod for codemod in CODEMODS if codemod.ID in chosen))


def dependency_order(codemods: Sequence[type[Codemod]]) -> tuple[type[Codemod], ...]:
    """Registry order, except that a codemod providing a prerequisite runs before its users."""
    ordered: list[type[Codemod]] = []
    pending = list(codemods)
    while pending:
        for codemod in pending:
            waits_for = [
                other
                for other in pending
                if other is not codemod and set(other.PROVIDES) & set(codemod.REQUIRES)
            ]
            if not waits_for:
                ordered.append(codemod)
                pending.remove(codemod)
                break
        else:  # a cycle: keep registry order rather than loop
            ordered.extend(pending)
            break
    return tuple(ordered)
