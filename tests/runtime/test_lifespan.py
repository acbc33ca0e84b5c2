"""The composed lifespan: order, state, cleanup on shutdown and on a half-way start-up failure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest
from fastapi import APIRouter, FastAPI, Request
from fastapi.testclient import TestClient
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth.service import SpapsAuthService
from spaps_server_quickstart.db import DatabaseResources
from spaps_server_quickstart.lifespan import (
    LifespanConflictError,
    assert_no_event_handlers,
    compose_lifespan,
)
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.services import TemporaryDatabase
from sqlalchemy import text


@pytest.fixture
def settings(tmp_path: Path) -> BaseServiceSettings:
    return BaseServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'life.db'}", auth_mode="disabled"
    )


def state_router() -> APIRouter:
    router = APIRouter()

    @router.get("/state")
    async def state(request: Request) -> dict[str, Any]:
        return {
            "cache": request.state.cache,
            "queue": request.state.queue,
            "db": type(request.state.db).__name__,
        }

    return router


def test_lifespans_run_in_order_after_runtime_resources_and_close_in_reverse(
    settings: BaseServiceSettings,
) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def cache(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("cache up")
        yield {"cache": "warm"}
        events.append("cache down")

    @asynccontextmanager
    async def queue(app: FastAPI, state: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        # The runtime's resources are already open and usable while the service starts.
        async with state["db"].session() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
        assert state["cache"] == "warm"
        assert state["settings"] is settings
        events.append("queue up")
        yield {"queue": "ready"}
        events.append("queue down")

    @asynccontextmanager
    async def nothing(app: FastAPI) -> AsyncIterator[None]:
        events.append("nothing up")
        yield
        events.append("nothing down")

    app = create_app(settings=settings, lifespan=[cache, queue, nothing], routers=[state_router()])
    with TestClient(app) as client:
        assert client.get("/state").json() == {
            "cache": "warm",
            "queue": "ready",
            "db": "DatabaseResources",
        }
    assert events == [
        "cache up",
        "queue up",
        "nothing up",
        "nothing down",
        "queue down",
        "cache down",
    ]


def test_a_single_lifespan_is_accepted(settings: BaseServiceSettings) -> None:
    @asynccontextmanager
    async def only(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        yield {"cache": "c", "queue": "q"}

    with TestClient(create_app(settings=settings, lifespan=only, routers=[state_router()])) as c:
        assert c.get("/state").json()["queue"] == "q"


async def connections_to(database: TemporaryDatabase) -> int:
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database.name
        )
    finally:
        await connection.close()
    return int(count)


def test_startup_failure_half_way_closes_what_was_opened(
    postgres_database: TemporaryDatabase,
) -> None:
    settings = BaseServiceSettings(
        database_url=postgres_database.url,
        auth_mode="spaps",
        spaps_api_url="http://127.0.0.1:1",
    )
    seen: dict[str, Any] = {}
    events: list[str] = []

    @asynccontextmanager
    async def opens_a_connection(app: FastAPI, state: Mapping[str, Any]) -> AsyncIterator[None]:
        seen.update(state)
        async with state["db"].session() as session:  # leaves a pooled connection behind
            await session.execute(text("SELECT 1"))
        seen["connections_while_up"] = await connections_to(postgres_database)
        events.append("first up")
        try:
            yield
        finally:
            events.append("first down")

    @asynccontextmanager
    async def fails(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("cannot reach the feature-flag service")
        yield  # pragma: no cover

    app = create_app(settings=settings, lifespan=[opens_a_connection, fails])
    with (
        pytest.raises(RuntimeError, match="feature-flag service"),
        TestClient(app),
    ):
        pass  # pragma: no cover

    assert events == ["first up", "first down"]
    assert seen["connections_while_up"] == 1
    assert anyio.run(connections_to, postgres_database) == 0  # engine disposed
    auth = seen["auth"]
    assert isinstance(auth, SpapsAuthService)
    assert auth._client.is_closed  # the SPAPS HTTP client was closed too


def test_shutdown_disposes_the_engine_and_closes_the_auth_client(
    postgres_database: TemporaryDatabase,
) -> None:
    settings = BaseServiceSettings(database_url=postgres_database.url, auth_mode="spaps")
    database = DatabaseResources.from_url(postgres_database.url)
    seen: dict[str, Any] = {}

    @asynccontextmanager
    async def grab(app: FastAPI, state: Mapping[str, Any]) -> AsyncIterator[None]:
        seen.update(state)
        yield

    with TestClient(create_app(settings=settings, database=database, lifespan=grab)) as client:
        assert client.get("/health/ready").status_code == 200
        assert anyio.run(connections_to, postgres_database) == 1
        assert not seen["auth"]._client.is_closed
    assert seen["db"] is database
    assert anyio.run(connections_to, postgres_database) == 0
    assert seen["auth"]._client.is_closed


def test_yielding_a_runtime_key_is_refused(settings: BaseServiceSettings) -> None:
    @asynccontextmanager
    async def sneaky(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        yield {"db": "my own"}

    with (
        pytest.raises(LifespanConflictError, match=r"already taken: \['db'\]"),
        TestClient(create_app(settings=settings, lifespan=sneaky)),
    ):
        pass  # pragma: no cover


def test_two_lifespans_yielding_the_same_key_are_refused(settings: BaseServiceSettings) -> None:
    @asynccontextmanager
    async def one(app: FastAPI) -> AsyncIterator[dict[str, int]]:
        yield {"client": 1}

    @asynccontextmanager
    async def two(app: FastAPI) -> AsyncIterator[dict[str, int]]:
        yield {"client": 2}

    with (
        pytest.raises(LifespanConflictError, match=r"two.*client"),
        TestClient(create_app(settings=settings, lifespan=[one, two])),
    ):
        pass  # pragma: no cover


def test_yielding_something_other_than_a_mapping_is_refused(
    settings: BaseServiceSettings,
) -> None:
    @asynccontextmanager
    async def odd(app: FastAPI) -> AsyncIterator[list[int]]:
        yield [1]

    with (
        pytest.raises(LifespanConflictError, match="yielded list"),
        TestClient(create_app(settings=settings, lifespan=odd)),  # type: ignore[arg-type]
    ):
        pass  # pragma: no cover


@pytest.mark.anyio
async def test_compose_lifespan_can_be_driven_directly(settings: BaseServiceSettings) -> None:
    lifespan = compose_lifespan(settings=settings)
    app = FastAPI(lifespan=lifespan)
    async with lifespan(app) as state:
        assert set(state) == {"settings", "db", "auth", "celery"}
        await state["db"].ping(timeout=5)


def test_assert_no_event_handlers_names_every_handler() -> None:
    app = FastAPI()

    async def open_pool() -> None:
        return None

    def close_pool() -> None:
        return None

    app.router.add_event_handler("startup", open_pool)
    app.router.add_event_handler("shutdown", close_pool)
    with pytest.raises(LifespanConflictError) as raised:
        assert_no_event_handlers(app)
    message = str(raised.value)
    assert "startup: " in message
    assert "open_pool" in message
    assert "shutdown: " in message
    assert "close_pool" in message
    assert "create_app(lifespan=...)" in message
