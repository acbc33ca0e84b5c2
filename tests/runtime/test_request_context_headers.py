"""The request-context middleware speaks the service's header names, not only its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from spaps_server_quickstart import create_app
from spaps_server_quickstart.request_context import RequestContextMiddleware
from spaps_server_quickstart.settings import BaseServiceSettings


def _app(**options: str) -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"pong": "yes"}

    app.add_middleware(RequestContextMiddleware, access_log=False, **options)  # type: ignore[arg-type]
    return app


def test_correlation_id_is_read_and_echoed_under_its_own_name() -> None:
    with TestClient(_app(request_id_header="X-Correlation-ID")) as client:
        response = client.get("/ping", headers={"X-Correlation-ID": "corr-42"})
    assert response.headers["x-correlation-id"] == "corr-42"
    assert "x-request-id" not in response.headers


def test_a_timing_header_other_than_server_timing_gets_seconds() -> None:
    with TestClient(_app(timing_header="X-Process-Time")) as client:
        response = client.get("/ping")
    assert 0 <= float(response.headers["x-process-time"]) < 5
    assert "server-timing" not in response.headers


def test_default_headers_are_unchanged() -> None:
    with TestClient(_app()) as client:
        response = client.get("/ping", headers={"X-Request-ID": "abc"})
    assert response.headers["x-request-id"] == "abc"
    assert response.headers["server-timing"].startswith("app;dur=")


def test_no_timing_header_when_empty() -> None:
    with TestClient(_app(timing_header="")) as client:
        response = client.get("/ping")
    assert "server-timing" not in response.headers


def test_create_app_takes_the_names_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = BaseServiceSettings(
        auth_mode="disabled",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/s.db",
        request_id_header="X-Correlation-ID",
        timing_header="X-Process-Time",
    )
    with TestClient(create_app(settings=settings)) as client:
        response = client.get("/health/live", headers={"X-Correlation-ID": "c-1"})
    assert response.headers["x-correlation-id"] == "c-1"
    assert float(response.headers["x-process-time"]) >= 0


def test_no_request_id_header_when_empty() -> None:
    with TestClient(_app(request_id_header="", timing_header="")) as client:
        response = client.get("/ping", headers={"X-Request-ID": "abc"})
    assert "x-request-id" not in response.headers
    assert response.json() == {"pong": "yes"}
