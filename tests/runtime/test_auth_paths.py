"""Exemption matching against a real uvicorn server, with raw (unnormalised) request paths.

``TestClient``/httpx normalise ``/health/../admin`` before sending it, so these requests go
through ``http.client`` to the app served on loopback, as an attacker's would.
"""

from __future__ import annotations

import http.client
import warnings
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from spaps_auth_test_app import build_protected_app
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.loopback import serve_on_loopback
from spaps_server_quickstart.testing.spaps_standin import SpapsStandin


def raw_get(base_url: str, raw_path: str, token: str | None = None) -> int:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", raw_path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def settings_for(standin: SpapsStandin) -> BaseServiceSettings:
    return BaseServiceSettings(
        env="test",
        auth_mode="spaps",
        spaps_api_url=standin.url,
        spaps_api_key=standin.api_key,
        spaps_application_id=standin.application_id,
    )


@pytest.fixture(scope="module")
def served(spaps_standin_server: SpapsStandin) -> Iterator[str]:
    app = build_protected_app(settings_for(spaps_standin_server))
    with serve_on_loopback(app, lifespan="on") as url:
        yield url


@pytest.mark.parametrize(
    ("raw_path", "status"),
    [
        ("/health", 200),
        ("/health?probe=1", 200),
        # decoded to /health, exactly what the router serves: consistent, not a bypass
        ("/heal%74h", 200),
        ("/health-x", 401),
        ("/health/", 401),
        ("/health/../admin", 401),
        ("/health/..%2Fadmin", 401),
        ("/health%2Fadmin", 401),
        ("/health%2F", 401),
        ("//health", 401),
        ("/HEALTH", 401),
        ("/health;x", 401),
        ("/admin", 401),
    ],
)
def test_only_the_exact_public_path_is_exempt(served: str, raw_path: str, status: int) -> None:
    assert raw_get(served, raw_path) == status


def test_private_routes_still_work_with_a_token(served: str, spaps_standin: SpapsStandin) -> None:
    token = spaps_standin.register_user()
    assert raw_get(served, "/health-x", token) == 200
    assert raw_get(served, "/health/anything", token) == 200


def test_public_path_is_public_under_uvicorn_root_path(spaps_standin: SpapsStandin) -> None:
    app = build_protected_app(settings_for(spaps_standin))
    with serve_on_loopback(app, lifespan="on", root_path="/api") as url:
        assert raw_get(url, "/health") == 200
        assert raw_get(url, "/health-x") == 401
        assert raw_get(url, "/admin") == 401
        assert raw_get(url, "/api/health") != 200


def test_public_path_is_public_with_fastapi_root_path(spaps_standin: SpapsStandin) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FastAPI(root_path=...) is deprecated in 0.165
        app = build_protected_app(settings_for(spaps_standin), root_path="/api")
    with serve_on_loopback(app, lifespan="on") as url:
        assert raw_get(url, "/health") == 200
        assert raw_get(url, "/health-x") == 401
        assert raw_get(url, "/admin") == 401
