"""Liveness and readiness endpoints.

``/health/live`` (and its alias ``/health``) touches nothing: a process that answers it is alive,
and restarting it because the database is down would not help. ``/health/ready`` checks what the
service needs to do useful work (a ``SELECT 1``, a broker ping when the app has Celery), each
under ``readiness_timeout_seconds`` and concurrently, so a hung dependency costs one timeout, not
one per check. A failing check answers 503 with the per-check detail, so the load balancer
stops routing and the operator sees why.

The paths are route paths (what the router matches, without ``root_path``): ``create_app``
adds them to the auth middleware's public paths, so probes work under any ``--root-path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.routing import BaseRoute, Host, Match
from starlette.types import Scope

from .db.resources import DatabaseResources
from .logging import get_logger
from .redaction import clean_text
from .settings import BaseServiceSettings

LIVE_PATH = "/health/live"
LIVE_ALIAS_PATH = "/health"
READY_PATH = "/health/ready"
HEALTH_PATHS = (LIVE_PATH, LIVE_ALIAS_PATH, READY_PATH)

_NO_STORE = {"Cache-Control": "no-store"}
_MAX_ERROR_LENGTH = 200

logger = get_logger(__name__)

router = APIRouter(tags=["health"])


class LiveStatus(BaseModel):
    """The liveness answer (documents the OpenAPI response; the route returns the JSON as is)."""

    status: Literal["ok"]


class CheckResult(BaseModel):
    status: Literal["ok", "fail"]
    duration_ms: float
    #: Why the check failed (the driver's one-line message, or "timed out after 2s").
    error: str | None = None


class ReadinessReport(BaseModel):
    """The readiness answer, 200 and 503 alike: one result per dependency checked."""

    status: Literal["ok", "fail"]
    checks: dict[str, CheckResult]


def _describe(error: BaseException, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g}s"
    # SQLAlchemy wraps driver errors with the SQL and a documentation link; the driver's own
    # message is the useful (and shorter) part.
    original = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    message = str(original).strip().splitlines()[0] if str(original).strip() else ""
    text = f"{type(original).__name__}: {message}" if message else type(original).__name__
    # The readiness answer is public: a driver message quoting a URL or a credential must not
    # carry it there (the same policy as the logs).
    return clean_text(text)[:_MAX_ERROR_LENGTH]


async def _run_check(
    name: str, check: Callable[[], Awaitable[None]], timeout_seconds: float
) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), timeout=timeout_seconds)
    except Exception as error:
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        logger.warning("readiness_check_failed", check=name, error=repr(error))
        return {
            "status": "fail",
            "duration_ms": duration_ms,
            "error": _describe(error, timeout_seconds),
        }
    return {"status": "ok", "duration_ms": round((time.perf_counter() - started) * 1000, 2)}


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the probe already timed out and moved on
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


async def _ping_broker(celery_app: Any, timeout_seconds: float) -> None:
    """The broker ping on its own daemon thread, awaited without blocking the event loop.

    Not ``asyncio.to_thread``: kombu can block past its own timeout on a broker that accepts
    the TCP connection and then says nothing. In the default executor every probe would leave
    one more stuck thread until the executor is exhausted (stalling every other ``to_thread``
    user), and the event loop's shutdown would wait for them. ``start_broker_ping`` runs it on
    one daemon thread per Celery app at a time and says so (``BrokerPingStillRunningError``)
    while that thread is still blocked; the caller's ``wait_for`` bounds the wait.
    """
    from .tasks.health import start_broker_ping

    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def done(error: BaseException | None) -> None:
        # RuntimeError: the loop closed while we were blocked; nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, error)

    start_broker_ping(celery_app, timeout_seconds, done)
    await future


async def _check_vector_extension(database: DatabaseResources) -> None:
    from .db.pgvector import check_vector_extension

    await check_vector_extension(database.engine)


@router.get(LIVE_PATH, response_model=LiveStatus)
async def live() -> JSONResponse:
    """The process is up and serving requests. Depends on nothing else on purpose."""
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


router.add_api_route(LIVE_ALIAS_PATH, live, methods=["GET"], include_in_schema=False)


@router.get(
    READY_PATH,
    response_model=ReadinessReport,
    responses={503: {"model": ReadinessReport, "description": "A dependency failed its check"}},
)
async def ready(request: Request) -> JSONResponse:
    """Database (and broker, when the app has Celery) reachable within the timeout."""
    state = request.state
    settings: BaseServiceSettings | None = getattr(state, "settings", None)
    timeout = settings.readiness_timeout_seconds if settings is not None else 2.0
    database: DatabaseResources | None = getattr(state, "db", None)
    celery_app: Any = getattr(state, "celery", None)

    checks: dict[str, Callable[[], Awaitable[None]]] = {}
    if database is None:
        # Fail closed: a readiness probe that cannot see the database must not say "ready".
        checks["database"] = _missing_database
    else:
        checks["database"] = lambda: database.ping(timeout)
    if celery_app is not None:
        checks["broker"] = lambda: _ping_broker(celery_app, timeout)
    if database is not None and settings is not None and settings.pgvector_enabled:
        checks["pgvector"] = lambda: _check_vector_extension(database)

    names = list(checks)
    results = await asyncio.gather(*(_run_check(name, checks[name], timeout) for name in names))
    report = dict(zip(names, results, strict=True))
    healthy = all(result["status"] == "ok" for result in results)
    return JSONResponse(
        {"status": "ok" if healthy else "fail", "checks": report},
        status_code=200 if healthy else 503,
        headers=_NO_STORE,
    )


# HEAD wherever GET works: load balancers and uptime checkers probe with HEAD, and FastAPI's
# routes (unlike Starlette's) do not add it. Separate routes kept out of the schema, so the
# OpenAPI document has one operation per path and no duplicate operation ids.
for _path, _endpoint in ((LIVE_PATH, live), (LIVE_ALIAS_PATH, live), (READY_PATH, ready)):
    router.add_api_route(_path, _endpoint, methods=["HEAD"], include_in_schema=False)


async def _missing_database() -> None:
    raise RuntimeError("no database resources in the lifespan state")


def include_health_routes(app: FastAPI) -> None:
    """Add the health routes after the service's routes, or before them if one would shadow them.

    Starlette tries routes in order, and every route tried before the matching one costs the
    request time (about 4 µs per route with FastAPI 0.165, measured: three health routes in
    front of the service's added 13% to a bare request). So health goes last. But the auth
    middleware exempts the health paths by exact path: whatever route answers ``/health/live``
    answers it without a token. A service route that would answer a health path (``/{slug}``
    answers ``/health``) must therefore never come first; when one exists, health goes in front
    of everything, as if included first, and the probe keeps reaching the health endpoint.
    Routes added after :func:`create_app` come after health either way.
    """
    existing = list(app.router.routes)
    shadowing = any(_answers(route, path) for route in existing for path in HEALTH_PATHS)
    app.include_router(router)
    if shadowing:
        added = app.router.routes[len(existing) :]
        app.router.routes[:] = [*added, *existing]


def _answers(route: BaseRoute, path: str) -> bool:
    """Would ``route`` answer ``GET``/``HEAD path``? When in doubt, say yes.

    In doubt: the route raised on a bare scope, or it is a ``Host`` route, which answers by the
    request's host name, something a scope built here cannot know.
    """
    if isinstance(route, Host):
        return True
    for method in ("GET", "HEAD"):
        scope: Scope = {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "headers": [],
            "query_string": b"",
        }
        try:
            match, _ = route.matches(scope)
        except Exception:
            return True
        if match is Match.FULL:
            return True
    return False
