"""The account hook: suspension enforced by the runtime's auth, and roles a service grants.

The app is built by ``create_app`` with a hook that reads a real SQLite table through the
``DatabaseResources`` the lifespan opened; tokens are real local dev tokens, or tokens the SPAPS
stand-in (served by uvicorn on loopback) validates through ``spaps_client``. The tests change
the table with plain ``sqlite3`` from outside, as an administrator's request would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth import (
    AccountStanding,
    AuthenticatedUser,
    CurrentUser,
    forget_account,
    mint_dev_token,
    require_roles,
)
from spaps_server_quickstart.auth.accounts import SUSPENDED_DETAIL
from spaps_server_quickstart.db import DatabaseResources
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.spaps_standin import SpapsStandin
from sqlalchemy import text
from starlette.websockets import WebSocketDisconnect

SECRET = "accounts-test-secret"

Mint = Callable[..., str]


class AccountTable:
    """The service's own accounts table, and a hook over it that counts how often it is asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls = 0
        self.broken = False

    def set(self, user_id: str, *, suspended: bool = False, roles: str = "") -> None:
        with sqlite3.connect(self.path) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO accounts (user_id, suspended, roles) VALUES (?, ?, ?)",
                (user_id, int(suspended), roles),
            )

    async def hook(self, user: AuthenticatedUser, db: DatabaseResources) -> AccountStanding:
        self.calls += 1
        if self.broken:
            raise ConnectionError("database is down")
        async with db.sessionmaker() as session:
            row = (
                await session.execute(
                    text("SELECT suspended, roles FROM accounts WHERE user_id = :id"),
                    {"id": user.user_id},
                )
            ).first()
        if row is None:
            return AccountStanding()
        roles = frozenset(role for role in row.roles.split(",") if role)
        return AccountStanding(suspended=bool(row.suspended), roles=roles)


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {"user_id": user.user_id, "roles": sorted(user.roles)}

    @router.get("/labs", dependencies=[Depends(require_roles("labs"))])
    async def labs() -> dict[str, str]:
        return {"lab": "open"}

    @router.post("/accounts/{user_id}/forget")
    async def forget(user_id: str, request: Request) -> dict[str, str]:
        forget_account(request.state, user_id)
        return {"forgot": user_id}

    @router.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"user_id": websocket.scope["state"]["user"].user_id})
        await websocket.close()

    return router


@pytest.fixture(params=["local", "spaps"])
def auth_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def mint(auth_mode: str, spaps_standin: SpapsStandin) -> Mint:
    """A real token for ``user_id`` in the mode under test."""

    def make(user_id: str, roles: tuple[str, ...] = ()) -> str:
        if auth_mode == "local":
            return mint_dev_token(SECRET, user_id, roles=roles)
        return spaps_standin.register(user_id=user_id, roles=list(roles) or None)

    return make


@pytest.fixture
def table(tmp_path: Path) -> AccountTable:
    return AccountTable(tmp_path / "service.db")


@pytest.fixture
def make_client(
    auth_mode: str, spaps_standin: SpapsStandin, table: AccountTable
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    @asynccontextmanager
    async def schema(app: FastAPI, state: Any) -> AsyncIterator[None]:
        async with state["db"].engine.begin() as connection:
            await connection.execute(
                text(
                    "CREATE TABLE IF NOT EXISTS accounts"
                    " (user_id TEXT PRIMARY KEY, suspended INTEGER, roles TEXT)"
                )
            )
        yield

    def make(**settings: Any) -> TestClient:
        values: dict[str, Any] = {
            "env": "test",
            "auth_mode": auth_mode,
            "auth_local_secret": SECRET,
            "spaps_api_url": spaps_standin.url,
            "spaps_api_key": spaps_standin.api_key,
            "spaps_application_id": spaps_standin.application_id,
            "database_url": f"sqlite+aiosqlite:///{table.path}",
            "auth_account_cache_ttl_seconds": 0,
            **settings,
        }
        app = create_app(
            settings=BaseServiceSettings(**values),
            routers=[_router()],
            lifespan=schema,
            account_hook=table.hook,
        )
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_suspended_user_is_403_on_every_route_and_others_are_not(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client()
    alice, bob = bearer(mint("alice")), bearer(mint("bob"))
    assert client.get("/me", headers=alice).status_code == 200

    table.set("alice", suspended=True)

    for method, path in [("GET", "/me"), ("GET", "/labs"), ("POST", "/accounts/x/forget")]:
        response = client.request(method, path, headers=alice)
        assert response.status_code == 403, (method, path)
        assert response.json() == {"detail": SUSPENDED_DETAIL}
        assert "www-authenticate" not in response.headers  # signing in again would not help
    assert client.get("/me", headers=bob).json() == {"user_id": "bob", "roles": ["user"]}

    table.set("alice", suspended=False)
    assert client.get("/me", headers=alice).status_code == 200


def test_health_is_unaffected_by_suspension_or_by_the_hook(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client()
    table.set("alice", suspended=True)
    table.broken = True
    calls = table.calls

    for path in ("/health", "/health/live", "/health/ready"):
        assert client.get(path, headers=bearer(mint("alice"))).status_code == 200, path
        assert client.get(path).status_code == 200
    assert table.calls == calls


def test_a_suspended_user_cannot_open_a_websocket(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client()
    with client.websocket_connect("/ws", headers=bearer(mint("bob"))) as socket:
        assert socket.receive_json() == {"user_id": "bob"}

    table.set("alice", suspended=True)
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=bearer(mint("alice"))),
    ):
        pass
    assert closed.value.code == 1008


def test_the_hook_grants_roles_spaps_does_not_state(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client()
    carol = bearer(mint("carol"))
    assert client.get("/labs", headers=carol).status_code == 403

    table.set("carol", roles=" Labs ,beta")

    assert client.get("/labs", headers=carol).json() == {"lab": "open"}
    assert client.get("/me", headers=carol).json()["roles"] == ["beta", "labs", "user"]
    # Roles are only ever added: those SPAPS (or the dev token) states stay.
    dave = bearer(mint("dave", ("admin",)))
    table.set("dave", roles="labs")
    assert client.get("/me", headers=dave).json()["roles"] == ["admin", "labs", "user"]


def test_answers_are_cached_per_user_for_the_ttl_and_forget_account_drops_them(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client(auth_account_cache_ttl_seconds=300)
    alice, bob = bearer(mint("alice")), bearer(mint("bob"))

    for _ in range(3):
        assert client.get("/me", headers=alice).status_code == 200
    assert table.calls == 1
    client.get("/me", headers=bob)
    assert table.calls == 2

    table.set("alice", suspended=True)
    assert client.get("/me", headers=alice).status_code == 200  # still the cached answer
    client.post("/accounts/alice/forget", headers=bob)
    assert client.get("/me", headers=alice).status_code == 403
    assert client.get("/me", headers=bob).status_code == 200
    assert table.calls == 3  # alice was asked again; bob's answer stayed cached


def test_a_ttl_of_zero_asks_on_every_request(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client(auth_account_cache_ttl_seconds=0)
    alice = bearer(mint("alice"))

    for _ in range(3):
        client.get("/me", headers=alice)

    assert table.calls == 3


def test_a_failing_hook_fails_closed_with_503_and_is_not_cached(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    client = make_client(auth_account_cache_ttl_seconds=300)
    alice = bearer(mint("alice"))
    table.broken = True

    response = client.get("/me", headers=alice)

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    table.broken = False
    assert client.get("/me", headers=alice).status_code == 200


def test_a_hook_returning_something_else_fails_closed(
    make_client: Callable[..., TestClient], table: AccountTable, mint: Mint
) -> None:
    async def sloppy(user: AuthenticatedUser, db: DatabaseResources) -> AccountStanding:
        return None  # type: ignore[return-value]

    table.hook = sloppy  # type: ignore[method-assign]
    client = make_client()

    assert client.get("/me", headers=bearer(mint("alice"))).status_code == 503


def test_an_invalid_token_is_still_401_and_never_reaches_the_hook(
    make_client: Callable[..., TestClient], table: AccountTable
) -> None:
    client = make_client()

    response = client.get("/me", headers=bearer("not-a-valid-token"))

    assert response.status_code == 401
    assert table.calls == 0


def test_without_a_hook_nothing_changes(tmp_path: Path) -> None:
    settings = BaseServiceSettings(
        env="test",
        auth_mode="local",
        auth_local_secret=SECRET,  # type: ignore[arg-type]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}",
    )
    with TestClient(create_app(settings=settings, routers=[_router()])) as client:
        assert client.get("/me", headers=bearer(mint_dev_token(SECRET, "eve"))).json() == {
            "user_id": "eve",
            "roles": ["user"],
        }
