"""One lifespan that opens the runtime's resources, then the service's own lifespans.

Everything is entered on one :class:`~contextlib.AsyncExitStack`, so shutdown closes in reverse
order, and a start-up that fails half-way (a service lifespan raising after the database is
open) still disposes the engine and closes the auth client before the exception propagates.

The yielded dict becomes the lifespan state that Starlette copies into every request scope:
``request.state.settings``, ``.db``, ``.auth``, ``.celery`` and whatever the service lifespans
yield. Nothing is stored on ``app.state`` or in module globals, so two apps (or two
``TestClient`` sessions on different event loops) never share an engine.

Why lifespan only: FastAPI silently skips ``@app.on_event`` handlers when ``lifespan=`` is set,
and Starlette 1.x removed ``add_event_handler``. A handler registered anyway would never run,
so the lifespan refuses to start instead (:func:`assert_no_event_handlers`).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from sqlalchemy import text

from .db.migrations import upgrade_to_head
from .db.resources import DatabaseResources
from .logging import adopt_uvicorn_loggers, get_logger
from .settings import BaseServiceSettings

if TYPE_CHECKING:
    from .auth.accounts import AccountHook

#: A service lifespan: FastAPI's own shape ``lifespan(app)``, or ``lifespan(app, state)`` to
#: read the runtime's resources (``state["db"]``, ``state["settings"]``) while starting up.
ServiceLifespan = Callable[..., AbstractAsyncContextManager[Mapping[str, Any] | None]]

#: Keys the runtime puts in the lifespan state; a service lifespan may not yield them.
RUNTIME_STATE_KEYS = frozenset({"settings", "db", "auth", "celery"})

#: ``pg_advisory_lock`` key serialising ``run_migrations_on_startup`` across replicas
#: (the bytes of "spapsmig" as a signed 64-bit integer).
MIGRATION_LOCK_KEY = int.from_bytes(b"spapsmig", "big", signed=True)

logger = get_logger(__name__)


class LifespanConflictError(ValueError):
    """Start-up or shutdown code registered in a way the lifespan-only app would never run."""


def assert_no_event_handlers(app: FastAPI) -> None:
    """Raise if ``on_startup``/``on_shutdown`` handlers were registered on ``app``.

    They arrive through ``@app.on_event``, ``app.router.add_event_handler`` or an included
    router's ``@router.on_event`` (which FastAPI copies into the app), and a lifespan app never
    calls them.
    """
    found = [
        f"{kind}: {getattr(handler, '__qualname__', repr(handler))}"
        for kind, handlers in (
            ("startup", app.router.on_startup),
            ("shutdown", app.router.on_shutdown),
        )
        for handler in handlers
    ]
    if found:
        raise LifespanConflictError(
            "this app is lifespan-only and would silently skip on_event handlers ("
            + ", ".join(found)
            + "): move that code into an async context manager passed as create_app(lifespan=...)"
        )


def _wants_state(factory: ServiceLifespan) -> bool:
    try:
        parameters = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):  # builtins / C callables: assume FastAPI's shape
        return False
    positional = [
        p
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    return len(positional) >= 2 or any(
        p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters
    )


def _merge_service_state(
    state: dict[str, Any], yielded: Mapping[str, Any] | None, factory: ServiceLifespan
) -> None:
    if yielded is None:
        return
    if not isinstance(yielded, Mapping):
        raise LifespanConflictError(
            f"lifespan {_name(factory)} yielded {type(yielded).__name__}; yield a dict or None"
        )
    clashes = sorted(set(yielded) & set(state))
    if clashes:
        raise LifespanConflictError(
            f"lifespan {_name(factory)} yielded state keys that are already taken: {clashes}"
            " (runtime keys: settings, db, auth, celery); rename them"
        )
    state.update(yielded)


def _name(factory: object) -> str:
    return str(getattr(factory, "__qualname__", None) or repr(factory))


async def _run_migrations(database: DatabaseResources, alembic_ini: Path) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    if database.engine.dialect.name != "postgresql":
        await asyncio.to_thread(upgrade_to_head, alembic_ini, url)
        return
    # Several replicas start at once; one migrates, the others wait and then find nothing to do.
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await connection.commit()
        try:
            await asyncio.to_thread(upgrade_to_head, alembic_ini, url)
        finally:
            await connection.execute(
                text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            await connection.commit()


def compose_lifespan(
    *,
    settings: BaseServiceSettings,
    service_lifespans: Sequence[ServiceLifespan] = (),
    database: DatabaseResources | None = None,
    celery_app: Any = None,
    alembic_ini: Path | None = None,
    auth: bool = True,
    account_hook: AccountHook | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Any]]]:
    """Build the app's lifespan.

    ``database``: resources to use (and dispose on shutdown); by default a fresh
    :class:`DatabaseResources` is built from ``settings`` on every start-up, on the loop that
    runs the app. ``auth=False`` leaves ``state["auth"]`` as ``None`` (``auth_mode=disabled``
    does the same). ``account_hook`` wraps the auth service so every authenticated request
    asks it (:mod:`~spaps_server_quickstart.auth.accounts`).
    """
    lifespans = tuple(service_lifespans)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        assert_no_event_handlers(app)
        # uvicorn.run(app) sets up uvicorn's loggers after create_app ran: take them back.
        adopt_uvicorn_loggers()
        async with AsyncExitStack() as stack:
            db = database if database is not None else DatabaseResources.from_settings(settings)
            stack.push_async_callback(db.dispose)
            if settings.run_migrations_on_startup:
                await _run_migrations(db, alembic_ini or Path("alembic.ini"))

            auth_service: Any = None
            if auth:
                from .auth.service import create_auth_service

                auth_service = create_auth_service(settings)
                if auth_service is not None:
                    stack.push_async_callback(auth_service.aclose)
                    if account_hook is not None:
                        from .auth.accounts import AccountCheckedAuthService

                        auth_service = AccountCheckedAuthService(
                            auth_service,
                            account_hook,
                            db,
                            ttl_seconds=settings.auth_account_cache_ttl_seconds,
                            max_entries=settings.auth_cache_max_entries,
                        )

            state: dict[str, Any] = {
                "settings": settings,
                "db": db,
                "auth": auth_service,
                "celery": celery_app,
            }
            for factory in lifespans:
                manager = (
                    factory(app, MappingProxyType(dict(state)))
                    if _wants_state(factory)
                    else factory(app)
                )
                yielded = await stack.enter_async_context(manager)
                _merge_service_state(state, yielded, factory)

            logger.info("startup_complete", service=settings.service_name, env=settings.env)
            try:
                yield state
            finally:
                logger.info("shutdown_started", service=settings.service_name)

    return lifespan
