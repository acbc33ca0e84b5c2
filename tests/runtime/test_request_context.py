"""RequestContextMiddleware: request id, contextvars, access log, errors, WebSockets, lifespan."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from spaps_server_quickstart.logging import configure_logging
from spaps_server_quickstart.request_context import (
    RequestContextMiddleware,
    bind_context,
    get_request_id,
    get_task_id,
    reset_context,
    route_path,
    sanitize_request_id,
)
from spaps_server_quickstart.settings import BaseServiceSettings
from starlette.types import ASGIApp, Receive, Scope, Send


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """Configure JSON logging into a buffer; yield a live view of the parsed lines."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(BaseServiceSettings(log_format="json"), stream=stream)

    class Lines(list[dict[str, Any]]):
        def refresh(self) -> Lines:
            self[:] = [json.loads(line) for line in stream.getvalue().splitlines() if line]
            return self

    lines = Lines()
    yield lines
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.reset_defaults()


class SetUserId:
    """Stands where the auth middleware stands: leaves the user id in scope["state"]."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/me"):
            scope["state"]["user_id"] = "user-42"
        await self.app(scope, receive, send)


def build_app(**middleware_options: Any) -> FastAPI:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"marker": "from-lifespan"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)
    app.state.events = events
    app.add_middleware(SetUserId)
    app.add_middleware(RequestContextMiddleware, **middleware_options)

    @app.get("/items/{item_id}")
    async def item(item_id: int, request: Request) -> dict[str, Any]:
        return {
            "state_id": request.state.request_id,
            "var_id": get_request_id(),
            "structlog_id": structlog.contextvars.get_contextvars().get("request_id"),
            "marker": request.state.marker,
        }

    @app.get("/me")
    async def me() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json(
            {"state_id": websocket.state.request_id, "var_id": get_request_id()}
        )
        await websocket.close()

    return app


def test_valid_incoming_id_is_echoed_and_visible_everywhere_inside_the_request() -> None:
    with TestClient(build_app()) as client:
        response = client.get("/items/1", headers={"X-Request-ID": "abc.DEF_1-2"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc.DEF_1-2"
    assert response.json() == {
        "state_id": "abc.DEF_1-2",
        "var_id": "abc.DEF_1-2",
        "structlog_id": "abc.DEF_1-2",
        "marker": "from-lifespan",
    }


@pytest.mark.parametrize(
    "incoming",
    ["has space", 'quote"injection', "x" * 129, "", "new\\nline", "ünïcode"],
)
def test_unsafe_incoming_id_is_replaced(incoming: str) -> None:
    with TestClient(build_app()) as client:
        response = client.get("/items/1", headers={"X-Request-ID": incoming.encode("utf-8")})
    echoed = response.headers["x-request-id"]
    assert echoed != incoming
    assert len(echoed) == 32
    assert int(echoed, 16) >= 0
    assert response.json()["state_id"] == echoed


def test_missing_id_gets_a_fresh_one_per_request() -> None:
    with TestClient(build_app()) as client:
        first = client.get("/items/1").headers["x-request-id"]
        second = client.get("/items/1").headers["x-request-id"]
    assert first != second
    assert sanitize_request_id(first) == first


def test_server_timing_header_is_added_and_can_be_turned_off() -> None:
    with TestClient(build_app()) as client:
        assert client.get("/items/1").headers["server-timing"].startswith("app;dur=")
    with TestClient(build_app(server_timing=False)) as client:
        assert "server-timing" not in client.get("/items/1").headers


@pytest.mark.anyio
async def test_context_is_reset_after_the_request_in_the_same_task() -> None:
    # ASGITransport runs the app in the caller's task: a missing reset would leak here.
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/me", headers={"X-Request-ID": "leak-check"})
    assert response.headers["x-request-id"] == "leak-check"
    assert get_request_id() is None
    assert "request_id" not in structlog.contextvars.get_contextvars()


def test_access_log_line_has_route_path_status_duration_and_user(
    log_lines: Any,
) -> None:
    with TestClient(build_app(), root_path="") as client:
        client.get("/items/7?token=secret-value", headers={"X-Request-ID": "rid-7"})
        client.get("/me")
    access = [line for line in log_lines.refresh() if line.get("logger") == "spaps.access"]
    assert len(access) == 2
    item, me = access
    assert item["event"] == "request"
    assert item["method"] == "GET"
    assert item["path"] == "/items/7"
    assert item["route"] == "/items/{item_id}"
    assert item["status"] == 200
    assert item["request_id"] == "rid-7"
    assert isinstance(item["duration_ms"], float)
    assert "user_id" not in item
    assert me["user_id"] == "user-42"
    assert "secret-value" not in json.dumps(log_lines)


def test_access_log_can_be_turned_off(log_lines: Any) -> None:
    with TestClient(build_app(access_log=False)) as client:
        client.get("/me")
    assert not [line for line in log_lines.refresh() if line.get("logger") == "spaps.access"]


def test_unhandled_exception_answers_500_with_the_request_id_and_is_logged(
    log_lines: Any,
) -> None:
    with TestClient(build_app(), raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
    assert response.json() == {"detail": "Internal Server Error"}
    failed = [line for line in log_lines.refresh() if line.get("event") == "request_failed"]
    assert failed[0]["status"] == 500
    assert failed[0]["error"] == "RuntimeError"
    assert failed[0]["request_id"] == "boom-1"


def test_exception_is_re_raised_so_the_server_sees_it() -> None:
    with TestClient(build_app()) as client, pytest.raises(RuntimeError, match="kaboom"):
        client.get("/boom")


def test_websocket_scope_gets_an_id_in_state_context_and_accept_headers(
    log_lines: Any,
) -> None:
    with (
        TestClient(build_app()) as client,
        client.websocket_connect("/ws", headers={"X-Request-ID": "ws-1"}) as websocket,
    ):
        payload = websocket.receive_json()
        accept_headers = dict(websocket.extra_headers or [])
    assert payload == {"state_id": "ws-1", "var_id": "ws-1"}
    assert accept_headers[b"x-request-id"] == b"ws-1"
    ws_lines = [line for line in log_lines.refresh() if line.get("event") == "websocket"]
    assert ws_lines[0]["request_id"] == "ws-1"
    assert ws_lines[0]["path"] == "/ws"


def test_lifespan_scope_passes_through_untouched() -> None:
    app = build_app()
    with TestClient(app) as client:
        assert client.get("/items/1").json()["marker"] == "from-lifespan"
    assert app.state.events == ["startup", "shutdown"]


@pytest.mark.parametrize(
    ("path", "root_path", "expected"),
    [
        ("/api/health/live", "/api", "/health/live"),
        ("/health/live", "/api", "/health/live"),  # FastAPI(root_path=) does not prefix path
        ("/api", "/api", ""),  # as Starlette's get_route_path: the root itself is ""
        ("/apix/health", "/api", "/apix/health"),
        ("/items", "", "/items"),
    ],
)
def test_route_path_strips_the_root_path_on_segment_boundaries(
    path: str, root_path: str, expected: str
) -> None:
    from starlette._utils import get_route_path

    scope = {"type": "http", "path": path, "root_path": root_path}
    assert route_path(scope) == expected
    # The auth middleware's exemptions must see exactly what the router routes on.
    assert route_path(scope) == get_route_path(scope)


def test_bind_context_sets_and_resets_ours_and_structlogs() -> None:
    tokens = bind_context(request_id="r-1", task_id="t-1")
    try:
        assert get_request_id() == "r-1"
        assert get_task_id() == "t-1"
        assert structlog.contextvars.get_contextvars() == {"request_id": "r-1", "task_id": "t-1"}
    finally:
        reset_context(tokens)
    assert get_request_id() is None
    assert structlog.contextvars.get_contextvars() == {}
    with pytest.raises(TypeError, match="unknown context keys"):
        bind_context(tenant="x")


async def call(app: ASGIApp, scope_type: str = "http") -> list[dict[str, Any]]:
    """Run ``app`` under the middleware with a raw ASGI scope; return what it sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": scope_type,
        "method": "GET",
        "path": "/x",
        "root_path": "",
        "headers": [(b"x-request-id", b"client-id")],
        "query_string": b"",
    }
    await RequestContextMiddleware(app)(scope, receive, send)
    return sent


@pytest.mark.anyio
@pytest.mark.parametrize("scope_type", ["http", "websocket"])
async def test_an_id_the_app_set_is_replaced_by_ours_not_doubled(scope_type: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"X-Request-ID", b"inner-id"), (b"x-other", b"kept")]
        if scope["type"] == "websocket":
            await send({"type": "websocket.accept", "headers": headers})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    [start, *_] = await call(app, scope_type)
    ids = [value for name, value in start["headers"] if name.lower() == b"x-request-id"]
    assert ids == [b"client-id"]
    assert (b"x-other", b"kept") in start["headers"]


@pytest.mark.anyio
@pytest.mark.parametrize("started", [False, True])
async def test_a_cancelled_request_is_logged_as_cancelled(log_lines: Any, started: bool) -> None:
    import anyio

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if started:
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise anyio.get_cancelled_exc_class()

    with pytest.raises(anyio.get_cancelled_exc_class()):
        await call(app)
    [line] = [line for line in log_lines.refresh() if line.get("logger") == "spaps.access"]
    assert line["event"] == "request_cancelled"
    assert line["level"] == "info"
    assert line["request_id"] == "client-id"
    assert line.get("status") == (200 if started else None)
