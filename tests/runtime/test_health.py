"""Health routes: liveness without dependencies, readiness against real PostgreSQL and Redis,
timeouts, concurrency, and public access under a root path (uvicorn --root-path and FastAPI's)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.db import DatabaseResources
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks import create_celery_app
from spaps_server_quickstart.testing.services import TemporaryDatabase
from starlette.types import ASGIApp, Receive, Scope, Send

DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/none"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) but never answers a byte."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def private_router() -> APIRouter:
    router = APIRouter()

    @router.get("/private")
    async def private() -> dict[str, str]:
        return {"secret": "data"}

    return router


def settings_for(url: str, **overrides: Any) -> BaseServiceSettings:
    return BaseServiceSettings(database_url=url, **overrides)


class SwitchableDatabase:
    """Replaces ``scope["state"]["db"]`` while ``down`` is set: an outage without stopping
    the shared PostgreSQL server."""

    def __init__(self, app: ASGIApp, *, dead: DatabaseResources, switch: dict[str, bool]) -> None:
        self.app, self.dead, self.switch = app, dead, switch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.switch["down"]:
            scope["state"]["db"] = self.dead
        await self.app(scope, receive, send)


def test_liveness_needs_no_database_and_no_token(tmp_path: Path) -> None:
    app = create_app(settings=settings_for(DEAD_POSTGRES), routers=[private_router()])
    with TestClient(app) as client:
        for path in ("/health/live", "/health"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.json() == {"status": "ok"}
            assert response.headers["cache-control"] == "no-store"
        assert client.get("/private").status_code == 401  # auth is on, health is exempt
        ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["status"] == "fail"


def test_readiness_ok_reports_each_check_with_a_duration(tmp_path: Path) -> None:
    app = create_app(settings=settings_for(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"))
    with TestClient(app) as client:
        response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert list(body["checks"]) == ["database"]  # no Celery app: no broker check
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["database"]["duration_ms"] >= 0


def test_readiness_follows_a_postgres_outage_and_recovery(
    postgres_database: TemporaryDatabase,
) -> None:
    dead = DatabaseResources.from_url(DEAD_POSTGRES)
    switch = {"down": False}

    def add_switch(app: FastAPI) -> None:
        app.add_middleware(SwitchableDatabase, dead=dead, switch=switch)

    app = create_app(settings=settings_for(postgres_database.url), register_routers=add_switch)
    with TestClient(app) as client:
        first = client.get("/health/ready")
        switch["down"] = True
        second = client.get("/health/ready")
        switch["down"] = False
        third = client.get("/health/ready")
    assert (first.status_code, second.status_code, third.status_code) == (200, 503, 200)
    failed = second.json()
    assert failed["status"] == "fail"
    assert failed["checks"]["database"]["status"] == "fail"
    assert "Error" in failed["checks"]["database"]["error"]
    assert "1" in failed["checks"]["database"]["error"]  # the refused port is named
    assert third.json()["checks"]["database"]["status"] == "ok"


def test_a_hanging_database_fails_after_the_timeout(silent_port: int) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{silent_port}/none"
    app = create_app(settings=settings_for(url, readiness_timeout_seconds=0.3))
    with TestClient(app) as client:
        started = time.perf_counter()
        response = client.get("/health/ready")
        elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["error"] == "timed out after 0.3s"
    assert elapsed < 2.0


def celery_for(broker_url: str) -> Any:
    settings = BaseServiceSettings(
        celery_broker_url=broker_url, celery_result_backend="cache+memory://"
    )
    return create_celery_app(settings)


def test_readiness_pings_the_broker_when_the_app_has_celery(tmp_path: Path, redis_url: str) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    up = create_app(settings=settings_for(database), celery_app=celery_for(redis_url))
    down = create_app(
        settings=settings_for(database), celery_app=celery_for("redis://127.0.0.1:1/0")
    )
    with TestClient(up) as client:
        ok = client.get("/health/ready")
    with TestClient(down) as client:
        failed = client.get("/health/ready")
    assert ok.status_code == 200
    assert ok.json()["checks"]["broker"]["status"] == "ok"
    assert failed.status_code == 503
    assert failed.json()["checks"]["database"]["status"] == "ok"
    assert failed.json()["checks"]["broker"]["status"] == "fail"


def test_checks_run_concurrently(silent_port: int, redis_url: str) -> None:
    # Both dependencies hang for the full timeout; one after the other would take twice as long.
    timeout = 1.0
    app = create_app(
        settings=settings_for(
            f"postgresql+asyncpg://postgres@127.0.0.1:{silent_port}/none",
            readiness_timeout_seconds=timeout,
        ),
        celery_app=celery_for(f"redis://127.0.0.1:{silent_port}/0"),
    )
    with TestClient(app) as client:
        started = time.perf_counter()
        response = client.get("/health/ready")
        elapsed = time.perf_counter() - started
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["status"] == checks["broker"]["status"] == "fail"
    assert checks["broker"]["error"] == f"timed out after {timeout:g}s"
    assert elapsed < 1.8 * timeout


@pytest.mark.anyio
async def test_simultaneous_probes_do_not_pile_up_broker_threads(
    silent_port: int, tmp_path: Path
) -> None:
    # Two probes at once (kubelet and load balancer) against a broker that never answers:
    # one ping thread blocks, the other probe says so instead of blocking a second thread.
    app = create_app(
        settings=settings_for(
            f"sqlite+aiosqlite:///{tmp_path / 'sf.db'}", readiness_timeout_seconds=0.5
        ),
        celery_app=celery_for(f"redis://127.0.0.1:{silent_port}/0"),
    )
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
            first, second = await asyncio.gather(
                client.get("/health/ready"), client.get("/health/ready")
            )
    assert first.status_code == second.status_code == 503
    assert sorted(r.json()["checks"]["broker"]["error"] for r in (first, second)) == [
        "BrokerPingStillRunningError: the previous broker ping has not returned yet",
        "timed out after 0.5s",
    ]


@pytest.mark.filterwarnings("ignore:The `root_path` parameter is deprecated")
def test_health_is_public_under_fastapi_root_path(tmp_path: Path) -> None:
    app = create_app(
        settings=settings_for(f"sqlite+aiosqlite:///{tmp_path / 'fr.db'}"),
        routers=[private_router()],
        root_path="/api",
    )
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").status_code == 200
        assert client.get("/private").status_code == 401


def test_health_is_public_under_uvicorn_root_path(tmp_path: Path) -> None:
    app = create_app(
        settings=settings_for(f"sqlite+aiosqlite:///{tmp_path / 'ur.db'}"),
        routers=[private_router()],
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, root_path="/api", log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            # The proxy in front strips /api; uvicorn puts it back into scope["path"].
            statuses = {
                path: client.get(path).status_code
                for path in ("/health/live", "/health", "/health/ready", "/private")
            }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
    assert statuses == {
        "/health/live": 200,
        "/health": 200,
        "/health/ready": 200,
        "/private": 401,
    }


def _route_paths(app: FastAPI) -> list[str]:
    """Top-level route order as the router tries it (an included router counts as its paths)."""
    paths: list[str] = []
    for route in app.router.routes:
        if hasattr(route, "path"):
            paths.append(route.path)
        else:  # FastAPI >= 0.165 keeps an included router as one entry
            paths.extend(r.path for r in route.original_router.routes)  # type: ignore[attr-defined]
    return paths


def test_health_routes_are_tried_after_the_services_when_nothing_overlaps() -> None:
    app = create_app(settings=settings_for(DEAD_POSTGRES), routers=[private_router()])
    paths = _route_paths(app)
    assert paths.index("/private") < paths.index("/health/live")


def catch_all_router() -> APIRouter:
    router = APIRouter()

    @router.get("/{slug}")
    async def by_slug(slug: str) -> dict[str, str]:
        return {"slug": slug}

    @router.get("/{section}/{page}")
    async def page(section: str, page: str) -> dict[str, str]:
        return {"section": section, "page": page}

    return router


def test_a_route_that_would_answer_a_health_path_never_gets_there_first() -> None:
    """/{slug} answers /health: were it tried first, the probe would reach the service's
    handler, and the auth middleware exempts health paths by exact path, unauthenticated."""
    app = create_app(settings=settings_for(DEAD_POSTGRES), routers=[catch_all_router()])
    paths = _route_paths(app)
    assert paths.index("/health") < paths.index("/{slug}")
    with TestClient(app) as client:
        for path in ("/health", "/health/live"):
            response = client.get(path)
            assert response.json() == {"status": "ok"}, path
            assert response.headers["cache-control"] == "no-store"
        assert client.get("/health/ready").json()["checks"]["database"]["status"] == "fail"
        assert client.get("/anything").status_code == 401  # the service's route, behind auth


def test_health_placement_also_sees_routers_registered_by_callback() -> None:
    app = create_app(
        settings=settings_for(DEAD_POSTGRES),
        register_routers=lambda app: app.include_router(catch_all_router()),
    )
    paths = _route_paths(app)
    assert paths.index("/health") < paths.index("/{slug}")


def test_a_host_route_counts_as_shadowing_because_its_host_is_unknown_here() -> None:
    from starlette.routing import Host

    def register(app: FastAPI) -> None:
        app.router.routes.append(Host("admin.example.com", app=FastAPI()))

    app = create_app(settings=settings_for(DEAD_POSTGRES), register_routers=register)
    assert isinstance(app.router.routes[-1], Host)  # health was put in front of it, not after
    with TestClient(app, base_url="http://admin.example.com") as client:
        assert client.get("/health/live").json() == {"status": "ok"}
