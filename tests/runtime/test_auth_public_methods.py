"""A public path is public for GET/HEAD only; other methods and WebSockets need a token.

The service here owns catch-all routes for every other method and a WebSocket, exactly the
shape that used to answer ``POST /health`` or a WebSocket on ``/health`` without a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Request, WebSocket
from fastapi.testclient import TestClient
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.auth.middleware import SpapsAuthMiddleware
from spaps_server_quickstart.settings import BaseServiceSettings, SettingsError, parse_public_path
from starlette.websockets import WebSocketDisconnect


def catch_all_router() -> APIRouter:
    router = APIRouter()

    @router.api_route(
        "/{slug:path}", methods=["POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    async def write(slug: str, request: Request) -> dict[str, Any]:
        user_id = getattr(request.state, "user_id", None)
        return {"handler": "service", "slug": slug, "user_id": user_id}

    @router.get("/webhooks/{name}")
    async def read_hook(name: str) -> dict[str, str]:
        return {"handler": "service-get", "name": name}

    @router.websocket("/{room:path}")
    async def room(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.send_json({"room": room, "user_id": websocket.state.user_id})
        await websocket.close()

    return router


@pytest.fixture
def settings(tmp_path: Path) -> BaseServiceSettings:
    return BaseServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        auth_public_paths=["/docs", "/openapi.json", "POST /webhooks/stripe"],
    )


@pytest.fixture
def client(settings: BaseServiceSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings=settings, routers=[catch_all_router()])) as client:
        yield client


@pytest.fixture
def token(settings: BaseServiceSettings) -> str:
    return mint_dev_token(settings.auth_local_secret.get_secret_value(), "user-1")


HEALTH = ["/health", "/health/live", "/health/ready"]


@pytest.mark.parametrize("path", HEALTH)
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_on_a_health_path_need_a_token(
    client: TestClient, token: str, method: str, path: str
) -> None:
    assert client.request(method, path).status_code == 401
    response = client.request(method, path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == {"handler": "service", "slug": path[1:], "user_id": "user-1"}


@pytest.mark.parametrize("path", HEALTH)
def test_a_websocket_on_a_health_path_needs_a_token(
    client: TestClient, token: str, path: str
) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(path):
        pass
    assert closed.value.code == 1008
    headers = {"Authorization": f"Bearer {token}"}
    with client.websocket_connect(path, headers=headers) as websocket:
        assert websocket.receive_json() == {"room": path[1:], "user_id": "user-1"}


@pytest.mark.parametrize("path", [*HEALTH[:2], "/docs", "/openapi.json"])
def test_get_and_head_on_a_public_path_stay_public(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200
    assert client.head(path).status_code != 401


def test_a_method_qualified_entry_makes_only_that_method_public(
    client: TestClient, token: str
) -> None:
    public = client.post("/webhooks/stripe")
    assert public.json() == {"handler": "service", "slug": "webhooks/stripe", "user_id": None}
    assert client.put("/webhooks/stripe").status_code == 401
    assert client.get("/webhooks/stripe").status_code == 401
    assert client.post("/webhooks/other").status_code == 401
    response = client.get("/webhooks/stripe", headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"handler": "service-get", "name": "stripe"}


@pytest.mark.parametrize(
    ("entry", "pairs"),
    [
        ("/health", {("GET", "/health"), ("HEAD", "/health")}),
        ("GET /x", {("GET", "/x"), ("HEAD", "/x")}),
        ("HEAD /x", {("HEAD", "/x")}),
        ("POST /webhooks/stripe", {("POST", "/webhooks/stripe")}),
        ("  OPTIONS   /x ", {("OPTIONS", "/x")}),
    ],
)
def test_parse_public_path(entry: str, pairs: set[tuple[str, str]]) -> None:
    assert parse_public_path(entry) == pairs


@pytest.mark.parametrize(
    "entry", ["", "health", "post /x", "CONNECT /x", "POST", "POST /x extra", "* /x", "POST x"]
)
def test_a_bad_entry_is_refused_at_settings_load(entry: str) -> None:
    with pytest.raises(SettingsError, match="AUTH_PUBLIC_PATHS entry") as refused:
        BaseServiceSettings(auth_public_paths=["/health", entry])
    assert repr(entry) in str(refused.value)


@pytest.mark.parametrize("entry", ["/webhooks/x?token=1", "POST /webhooks/x?", "/docs#top"])
def test_an_entry_with_a_query_or_fragment_is_refused(entry: str) -> None:
    with pytest.raises(SettingsError, match="has a query or fragment") as refused:
        BaseServiceSettings(auth_public_paths=[entry])
    assert repr(entry) in str(refused.value)


def test_a_bad_entry_is_refused_by_the_middleware_too() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    with pytest.raises(ValueError, match="AUTH_PUBLIC_PATHS entry 'post /x'"):
        SpapsAuthMiddleware(app, public_paths=["post /x"])
