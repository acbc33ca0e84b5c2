"""SPAPS bearer auth end to end: real spaps_client -> stand-in served by uvicorn on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import structlog
from fastapi.testclient import TestClient
from spaps_auth_test_app import build_protected_app
from spaps_server_quickstart.auth import (
    AuthUnavailableError,
    InvalidTokenError,
    LocalAuthService,
    SpapsAuthService,
    create_auth_service,
)
from spaps_server_quickstart.settings import BaseServiceSettings, SettingsError
from spaps_server_quickstart.testing.spaps_standin import SpapsStandin
from starlette.websockets import WebSocketDisconnect

CHALLENGE = 'Bearer realm="spaps"'


def standin_settings(standin: SpapsStandin, **extra: Any) -> BaseServiceSettings:
    values: dict[str, Any] = {
        "env": "test",
        "auth_mode": "spaps",
        "spaps_api_url": standin.url,
        "spaps_api_key": standin.api_key,
        "spaps_application_id": standin.application_id,
        "auth_connect_timeout_seconds": 0.5,
        "auth_read_timeout_seconds": 0.3,
        **extra,
    }
    return BaseServiceSettings(**values)


@pytest.fixture
def make_client(spaps_standin: SpapsStandin) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(**extra: Any) -> TestClient:
        client = TestClient(build_protected_app(standin_settings(spaps_standin, **extra)))
        client.__enter__()  # runs the lifespan: the auth service exists only inside it
        clients.append(client)
        return client

    try:
        yield make
    finally:
        for client in clients:
            client.__exit__(None, None, None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_token_is_401_with_a_bare_challenge(make_client: Any) -> None:
    response = make_client().get("/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE


def test_another_scheme_counts_as_no_bearer_token(make_client: Any) -> None:
    response = make_client().get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Bearer two tokens", "Bearer bad\ttoken", "Bearer ä"]
)
def test_malformed_authorization_is_400_invalid_request(make_client: Any, header: str) -> None:
    response = make_client().get("/me", headers={"Authorization": header.encode("latin-1")})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_unknown_token_is_401_invalid_token(make_client: Any, spaps_standin: SpapsStandin) -> None:
    response = make_client().get("/me", headers=bearer("never-registered"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(CHALLENGE + ', error="invalid_token"')
    assert spaps_standin.calls() == 1


def test_revoked_token_rejected_with_an_error_status_is_401(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user()
    spaps_standin.revoke(token)
    response = make_client().get("/me", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_user_gets_user_role_and_bound_user_id(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user("user-42")
    response = make_client().get("/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == {"user_id": "user-42", "roles": ["user"], "bound_user_id": "user-42"}


def test_user_on_admin_route_is_403_insufficient_scope(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    response = make_client().get("/admin", headers=bearer(spaps_standin.register_user()))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_admin_tier_is_admin(make_client: Any, spaps_standin: SpapsStandin) -> None:
    response = make_client().get("/admin", headers=bearer(spaps_standin.register_admin("boss")))
    assert response.status_code == 200
    assert response.json() == {"admin": "boss"}


def test_configured_admin_user_id_is_admin(make_client: Any, spaps_standin: SpapsStandin) -> None:
    client = make_client(auth_admin_user_ids=["ops-7"])
    assert (
        client.get("/admin", headers=bearer(spaps_standin.register_user("ops-7"))).status_code
        == 200
    )
    assert (
        client.get("/admin", headers=bearer(spaps_standin.register_user("ops-8"))).status_code
        == 403
    )


def test_explicit_roles_in_the_validate_payload_are_honoured(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user("u-roles", roles=["admin", "Support"])
    client = make_client()
    assert client.get("/admin", headers=bearer(token)).status_code == 200
    assert client.get("/me", headers=bearer(token)).json()["roles"] == ["admin", "support", "user"]


def test_token_of_another_application_is_401(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user(application_id="some-other-app")
    response = make_client().get("/me", headers=bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_expired_token_is_401(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user(expires_in=-1)
    assert make_client().get("/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("mode", ["down", "error", "malformed", "bad_encoding"])
def test_spaps_failure_is_503_with_retry_after(
    make_client: Any, spaps_standin: SpapsStandin, mode: Any
) -> None:
    token = spaps_standin.register_user()
    spaps_standin.mode = mode
    client = make_client()
    with structlog.testing.capture_logs() as logs:
        response = client.get("/me", headers=bearer(token))
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert "www-authenticate" not in response.headers
    assert [log["event"] for log in logs] == ["auth_upstream_unavailable"]


def test_spaps_hanging_past_the_read_timeout_is_503_promptly(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user()
    client = make_client(auth_read_timeout_seconds=0.3)
    spaps_standin.mode = "hang"
    started = time.monotonic()
    response = client.get("/me", headers=bearer(token))
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert 0.25 < elapsed < 3.0


def test_spaps_unreachable_is_503(spaps_standin: SpapsStandin) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    settings = standin_settings(spaps_standin, spaps_api_url=f"http://127.0.0.1:{dead_port}")
    with TestClient(build_protected_app(settings)) as client:
        response = client.get("/me", headers=bearer("whatever"))
    assert response.status_code == 503


def test_rejected_api_key_is_503_not_401(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user()
    response = make_client(spaps_api_key="wrong-key").get("/me", headers=bearer(token))
    assert response.status_code == 503


def test_upstream_errors_are_not_cached(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user()
    client = make_client()
    spaps_standin.mode = "down"
    assert client.get("/me", headers=bearer(token)).status_code == 503
    spaps_standin.mode = "up"
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert spaps_standin.calls() == 2


def test_successful_validations_are_cached(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user()
    client = make_client()
    for _ in range(3):
        assert client.get("/me", headers=bearer(token)).status_code == 200
    assert spaps_standin.calls() == 1


def test_cache_entries_expire_after_the_configured_ttl(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user()
    client = make_client(auth_cache_ttl_seconds=1.0)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert spaps_standin.calls() == 1
    time.sleep(1.1)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    assert spaps_standin.calls() == 2


def test_cache_never_outlives_the_token(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user(expires_in=1.5)
    client = make_client(auth_cache_ttl_seconds=60)
    assert client.get("/me", headers=bearer(token)).status_code == 200
    time.sleep(1.6)
    assert client.get("/me", headers=bearer(token)).status_code == 401
    assert spaps_standin.calls() == 2


def test_cache_is_disabled_with_zero_entries(make_client: Any, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user()
    client = make_client(auth_cache_max_entries=0)
    client.get("/me", headers=bearer(token))
    client.get("/me", headers=bearer(token))
    assert spaps_standin.calls() == 2


def test_websocket_without_token_is_closed_1008_before_accept(make_client: Any) -> None:
    client = make_client()
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws"):
        pass
    assert closed.value.code == 1008


def test_websocket_with_invalid_token_is_closed_1008(make_client: Any) -> None:
    client = make_client()
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=bearer("nope")),
    ):
        pass
    assert closed.value.code == 1008


def test_websocket_with_valid_token_is_accepted(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user("ws-user")
    with make_client().websocket_connect("/ws", headers=bearer(token)) as websocket:
        assert websocket.receive_json() == {"user_id": "ws-user"}


def test_websocket_is_closed_1013_when_spaps_is_down(
    make_client: Any, spaps_standin: SpapsStandin
) -> None:
    token = spaps_standin.register_user()
    client = make_client()
    spaps_standin.mode = "down"
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=bearer(token)),
    ):
        pass
    assert closed.value.code == 1013


@pytest.mark.anyio
async def test_concurrent_lookups_of_one_token_make_one_call(spaps_standin: SpapsStandin) -> None:
    service = SpapsAuthService.from_settings(standin_settings(spaps_standin))
    token = spaps_standin.register_user("flight")
    users: list[str] = []
    try:

        async def authenticate() -> None:
            users.append((await service.authenticate(token)).user_id)

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(authenticate)
    finally:
        await service.aclose()
    assert users == ["flight"] * 8
    assert spaps_standin.calls() == 1


@pytest.mark.anyio
async def test_service_raises_typed_errors(spaps_standin: SpapsStandin) -> None:
    service = SpapsAuthService.from_settings(standin_settings(spaps_standin))
    try:
        with pytest.raises(InvalidTokenError):
            await service.authenticate("unknown")
        with pytest.raises(InvalidTokenError):
            await service.authenticate("")
        spaps_standin.mode = "down"
        with pytest.raises(AuthUnavailableError):
            await service.authenticate("unknown")
    finally:
        await service.aclose()


@pytest.mark.anyio
async def test_standin_also_answers_get_current_session(spaps_standin: SpapsStandin) -> None:
    from spaps_client.sessions_async import AsyncSessionsClient

    token = spaps_standin.register_admin("cur")
    sessions = AsyncSessionsClient(
        base_url=spaps_standin.url, api_key=spaps_standin.api_key, access_token=token
    )
    try:
        summary = await sessions.get_current_session()
    finally:
        await sessions.aclose()
    assert (summary.user_id, summary.tier) == ("cur", "admin")
    assert spaps_standin.calls("current") == 1


def test_create_auth_service_follows_auth_mode(spaps_standin: SpapsStandin) -> None:
    assert create_auth_service(standin_settings(spaps_standin, auth_mode="disabled")) is None
    assert isinstance(
        create_auth_service(standin_settings(spaps_standin, auth_mode="local")), LocalAuthService
    )
    service = create_auth_service(standin_settings(spaps_standin))
    assert isinstance(service, SpapsAuthService)
    anyio.run(service.aclose)


@pytest.mark.parametrize(
    "url",
    [
        "api.sweetpotato.dev",  # no scheme: every validation would look like an outage (503)
        "https://h:80:80",  # httpx.InvalidURL
        "https://[::1",
        "https://\u2603.example",  # not a valid IDNA host name
        "ftp://api.sweetpotato.dev",
        "https://",
        "https://api.sweetpotato.dev:99999",
        "https://api.sweetpotato.dev/?tenant=1",
    ],
)
def test_a_malformed_spaps_api_url_stops_start_up_with_one_line_naming_it(
    spaps_standin: SpapsStandin, url: str
) -> None:
    # Refused when the settings load (issue 16 item 7), not at the first request or start-up.
    with pytest.raises(SettingsError) as caught:
        standin_settings(spaps_standin, spaps_api_url=url)
    message = str(caught.value)
    assert message.startswith("SPAPS_API_URL is not a usable URL (")
    assert "\n" not in message


def test_the_spaps_api_url_is_only_checked_in_spaps_mode(spaps_standin: SpapsStandin) -> None:
    settings = standin_settings(spaps_standin, auth_mode="local", spaps_api_url="not a url")
    with TestClient(build_protected_app(settings)) as client:  # start-up succeeds
        assert client.get("/me").status_code == 401


def test_a_well_formed_spaps_api_url_is_kept_without_its_trailing_slash(
    spaps_standin: SpapsStandin,
) -> None:
    service = create_auth_service(standin_settings(spaps_standin, spaps_api_url=" https://a.b/x/ "))
    assert isinstance(service, SpapsAuthService)
    assert service._base_url == "https://a.b/x"
    anyio.run(service.aclose)


def test_explicit_roles_survive_a_client_that_reshapes_its_private_methods(
    spaps_standin: SpapsStandin, make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime uses the official client's public API only: a release that renames or
    re-signs its private ``_post`` must not take auth (or explicit roles) down."""
    from spaps_client.sessions import SessionValidationResult
    from spaps_client.sessions_async import AsyncSessionsClient

    async def validate_session(
        self: AsyncSessionsClient, *, access_token_override: str | None = None
    ) -> SessionValidationResult:
        response = await self._client.post(
            f"{self.SESSIONS_PREFIX}/validate",
            json={},
            headers=self._build_headers(access_token_override),
        )
        return SessionValidationResult.model_validate(await self._parse_response(response))

    monkeypatch.delattr(AsyncSessionsClient, "_post")
    monkeypatch.setattr(AsyncSessionsClient, "validate_session", validate_session)
    client = make_client()
    token = spaps_standin.register_user("u-reshaped", roles=["admin"])
    response = client.get("/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["admin", "user"]


def test_the_runtime_overrides_nothing_of_the_spaps_client() -> None:
    import inspect

    import spaps_client
    import spaps_server_quickstart.auth.service as service

    client_classes = tuple(
        value
        for module in (spaps_client.sessions, spaps_client.sessions_async)
        for value in vars(module).values()
        if inspect.isclass(value) and value.__module__.startswith("spaps_client")
    )
    subclasses = [
        name
        for name, value in vars(service).items()
        if inspect.isclass(value)
        and issubclass(value, client_classes)
        and value.__module__ == service.__name__
    ]
    assert subclasses == []


@pytest.mark.anyio
async def test_concurrent_validations_keep_their_own_roles(spaps_standin: SpapsStandin) -> None:
    """The raw validate payload is kept per task: one shared HTTP client, no crossed roles."""
    service = SpapsAuthService.from_settings(standin_settings(spaps_standin))
    tokens = {
        f"u{index}": spaps_standin.register_user(f"u{index}", roles=["admin"] if index % 2 else [])
        for index in range(12)
    }
    seen: dict[str, set[str]] = {}
    try:

        async def authenticate(user: str, token: str) -> None:
            seen[user] = set((await service.authenticate(token)).roles)

        async with anyio.create_task_group() as group:
            for user, token in tokens.items():
                group.start_soon(authenticate, user, token)
    finally:
        await service.aclose()
    for index in range(12):
        assert seen[f"u{index}"] == ({"admin", "user"} if index % 2 else {"user"}), index
