"""Opt-in CORS, OpenTelemetry tracing and Sentry, applied by create_app from the settings.

Each is exercised for real: a browser's preflight against uvicorn on loopback, spans read back
from an in-process exporter and from an OTLP endpoint on loopback, a Sentry event received by a
stand-in on loopback (from a subprocess: the Sentry SDK patches Starlette process-wide).
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth import CurrentUser
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.logging import configure_logging, get_logger
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.loopback import serve_on_loopback
from spaps_server_quickstart.tracing import REQUEST_ID_ATTRIBUTE
from starlette.requests import Request
from starlette.responses import Response

SECRET = "observability-test-secret"
ORIGIN = "https://app.example.com"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def orders_router() -> APIRouter:
    router = APIRouter(tags=["orders"])

    @router.get("/orders")
    async def list_orders(user: CurrentUser) -> list[str]:
        get_logger("orders").info("orders_listed", user=user.user_id)
        return [user.user_id]

    return router


def settings(tmp_path: Path, **fields: Any) -> BaseServiceSettings:
    return BaseServiceSettings(
        service_name="orders",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        auth_local_secret=SECRET,
        **fields,
    )


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    yield
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.reset_defaults()


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_dev_token(SECRET, 'usr_1')}"}


# -- CORS --------------------------------------------------------------------------------------


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/orders",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )


def test_a_browser_preflight_is_answered_by_the_cors_setting(tmp_path: Path) -> None:
    app = create_app(
        settings=settings(tmp_path, cors_allow_origins=[ORIGIN]), routers=[orders_router()]
    )
    with serve_on_loopback(app, lifespan="on") as url:
        allowed = preflight(url, ORIGIN)
        refused = preflight(url, "https://evil.example.com")
        actual = httpx.get(f"{url}/orders", headers={"Origin": ORIGIN, **bearer()})

    # Answered before auth: a preflight never carries the token.
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert "GET" in allowed.headers["access-control-allow-methods"]
    assert allowed.headers["x-request-id"]  # inside the request context: logged, with an id
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert actual.json() == ["usr_1"]
    assert actual.headers["access-control-allow-origin"] == ORIGIN
    assert actual.headers["access-control-expose-headers"].lower() == "x-request-id"


def test_without_the_setting_a_preflight_meets_auth(tmp_path: Path) -> None:
    app = create_app(settings=settings(tmp_path), routers=[orders_router()])
    with serve_on_loopback(app, lifespan="on") as url:
        response = preflight(url, ORIGIN)

    assert response.status_code == 401
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cors_allow_origins": ["https://app.example.com/"]}, "CORS_ALLOW_ORIGINS"),
        ({"cors_allow_origins": ["app.example.com"]}, "CORS_ALLOW_ORIGINS"),
        ({"cors_allow_origins": ["https://app.example.com/path"]}, "CORS_ALLOW_ORIGINS"),
        ({"cors_allow_origins": ["*"], "cors_allow_credentials": True}, "CORS_ALLOW_CREDENTIALS"),
        ({"cors_allow_methods": ["get"]}, "CORS_ALLOW_METHODS"),
        ({"sentry_dsn": "not a dsn"}, "SENTRY_DSN"),
        ({"sentry_dsn": "https://sentry.example.com/1"}, "SENTRY_DSN"),
        ({"otel_exporter_otlp_traces_endpoint": "collector:4318"}, "OTEL_EXPORTER_OTLP"),
    ],
)
def test_observability_settings_are_checked_when_they_load(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        BaseServiceSettings(**fields)


# -- OpenTelemetry -----------------------------------------------------------------------------


def test_a_span_carries_the_request_id_and_the_log_lines_carry_the_trace_id(
    tmp_path: Path, restore_logging: None
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(
        settings=settings(tmp_path, log_format="json"),
        routers=[orders_router()],
        tracer_provider=provider,
    )
    stream = io.StringIO()
    configure_logging(settings(tmp_path, log_format="json"), stream=stream)

    with TestClient(app) as client:
        response = client.get(
            "/orders",
            headers={**bearer(), "traceparent": f"00-{CALLER_TRACE}-b7ad6b7169203331-01"},
        )
    request_id = response.headers["x-request-id"]

    [span] = [s for s in exporter.get_finished_spans() if s.name == "GET /orders"]
    assert span.attributes is not None
    assert span.attributes[REQUEST_ID_ATTRIBUTE] == request_id
    assert format(span.context.trace_id, "032x") == CALLER_TRACE  # the caller's trace continues
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("request_id") == request_id]
    assert {line["event"] for line in mine} >= {"orders_listed", "request"}
    for line in mine:
        assert line["trace_id"] == CALLER_TRACE, line
        assert line["span_id"] == format(span.context.span_id, "016x"), line


def test_without_tracing_log_lines_carry_no_trace_id(tmp_path: Path, restore_logging: None) -> None:
    app = create_app(settings=settings(tmp_path, log_format="json"), routers=[orders_router()])
    stream = io.StringIO()
    configure_logging(settings(tmp_path, log_format="json"), stream=stream)
    with TestClient(app) as client:
        client.get("/orders", headers=bearer())

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line for line in lines if line["event"] == "request"]
    assert not [line for line in lines if "trace_id" in line]


class Collector:
    """An OTLP/HTTP receiver on loopback: keeps every body POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.arrived = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        if scope["path"] == "/v1/traces":
            self.bodies.append(body)
            self.arrived.set()
        await Response(b"", media_type="application/x-protobuf")(scope, receive, send)


def test_spans_are_exported_to_the_configured_otlp_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # milliseconds, read by the SDK
    collector = Collector()
    with serve_on_loopback(collector) as collector_url:
        app = create_app(
            settings=settings(
                tmp_path, otel_exporter_otlp_traces_endpoint=f"{collector_url}/v1/traces"
            ),
            routers=[orders_router()],
        )
        with TestClient(app) as client:
            request_id = client.get("/orders", headers=bearer()).headers["x-request-id"]
        assert collector.arrived.wait(10), "no spans reached the OTLP endpoint"

    exported = b"".join(collector.bodies)
    assert b"GET /orders" in exported
    assert REQUEST_ID_ATTRIBUTE.encode() in exported
    assert request_id.encode() in exported
    assert b"orders" in exported  # service.name


# -- Sentry ------------------------------------------------------------------------------------


class SentryStandin:
    """What a Sentry ingest answers: 200 to every envelope, kept for the test to read."""

    def __init__(self) -> None:
        self.envelopes: list[bytes] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        encoding = request.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        if scope["path"].endswith("/envelope/"):
            self.envelopes.append(body)
        await Response(b"{}", media_type="application/json")(scope, receive, send)

    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            _, *items = envelope.split(b"\n")
            for header, payload in zip(items[::2], items[1::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


SENTRY_SCRIPT = textwrap.dedent(
    """
    import sys

    import sentry_sdk
    from fastapi import APIRouter
    from fastapi.testclient import TestClient
    from spaps_server_quickstart.app import create_app
    from spaps_server_quickstart.settings import BaseServiceSettings

    router = APIRouter()

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the ledger is on fire")

    app = create_app(
        settings=BaseServiceSettings(
            service_name="orders",
            database_url="sqlite+aiosqlite:///" + sys.argv[2],
            auth_mode="disabled",
            sentry_dsn=sys.argv[1],
        ),
        routers=[router],
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500, response.status_code
    sentry_sdk.flush(timeout=10)
    print(response.headers["x-request-id"])
    """
)


def test_sentry_receives_the_error_tagged_with_the_request_id(tmp_path: Path) -> None:
    standin = SentryStandin()
    with serve_on_loopback(standin) as url:
        dsn = url.replace("http://", "http://publickey@") + "/42"
        result = subprocess.run(
            [sys.executable, "-c", SENTRY_SCRIPT, dsn, str(tmp_path / "app.db")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 5
        while not standin.events() and time.monotonic() < deadline:
            time.sleep(0.05)

    request_id = result.stdout.strip().splitlines()[-1]
    [event] = standin.events()
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "the ledger is on fire"
    assert event["tags"]["request_id"] == request_id
    assert event["environment"] == "dev"
    assert event["release"] == "orders@0.1.0"


def test_the_services_own_telemetry_options_win(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = create_app(
        settings=settings(tmp_path),
        routers=[orders_router()],
        tracer_provider=provider,
        telemetry={"tracing": False},
    )
    with TestClient(app) as client:
        assert client.get("/orders", headers=bearer()).status_code == 200

    assert exporter.get_finished_spans() == ()
