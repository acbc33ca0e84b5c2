"""Limits (issue 14 items 5, 6, 12): request bodies, the SPAPS deadline, upstream garbage, HEAD.

Every server here is real uvicorn on loopback (``serve_on_loopback``) and SPAPS is the local
stand-in on loopback, so time-outs, Content-Length and streamed bodies behave as in production.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request
from spaps_auth_test_app import build_protected_app
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.body_limit import RequestBodyLimitMiddleware
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.loopback import serve_on_loopback
from spaps_server_quickstart.testing.spaps_standin import SpapsStandin
from starlette.types import Message, Receive, Scope, Send

SECRET = "limits-local-secret"
LIMIT = 64 * 1024


def local_settings(tmp_path: Path, **extra: Any) -> BaseServiceSettings:
    values: dict[str, Any] = {
        "env": "test",
        "auth_mode": "local",
        "auth_local_secret": SECRET,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}",
        "celery_broker_url": "memory://",
        "celery_result_backend": "cache+memory://",
        "max_request_body_bytes": LIMIT,
        "log_format": "json",
        **extra,
    }
    return BaseServiceSettings(**values)


class BodyCounter:
    """What the endpoint managed to read, to prove the limit stopped the body early."""

    def __init__(self) -> None:
        self.bytes_read = 0
        self.calls = 0


def upload_app(tmp_path: Path, counter: BodyCounter, **extra: Any) -> Any:
    router = APIRouter()

    @router.post("/upload")
    async def upload(request: Request) -> dict[str, int]:
        counter.calls += 1
        async for chunk in request.stream():
            counter.bytes_read += len(chunk)
        return {"read": counter.bytes_read}

    @router.post("/items")
    async def items(payload: dict[str, Any]) -> dict[str, int]:
        counter.calls += 1
        return {"keys": len(payload)}

    return create_app(settings=local_settings(tmp_path, **extra), routers=[router])


@pytest.fixture
def user_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_dev_token(SECRET, 'alice')}"}


def raw_request(url: str, head: bytes, body: bytes = b"", *, timeout: float = 5.0) -> bytes:
    """Send ``head`` (and ``body``) on a plain socket; return what the server answered."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head + body)
        chunks: list[bytes] = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b"Request body too large" in b"".join(
                    chunks
                ):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def test_a_declared_200_mib_body_is_413_before_a_byte_is_read(
    tmp_path: Path, user_headers: dict[str, str]
) -> None:
    """The observed failure: 200 MiB with a valid token grew the worker to 1 GiB before a 422."""
    counter = BodyCounter()
    with serve_on_loopback(upload_app(tmp_path, counter), lifespan="on") as url:
        head = (
            "POST /items HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Authorization: {user_headers['Authorization']}\r\n"
            f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
        ).encode()
        started = time.monotonic()
        answer = raw_request(url, head)  # not one byte of the body is sent
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"Request body too large" in answer
    assert elapsed < 3.0
    assert counter.calls == 0


def test_a_streamed_body_without_content_length_is_cut_at_the_limit(
    tmp_path: Path, user_headers: dict[str, str]
) -> None:
    counter = BodyCounter()
    chunk = b"x" * 16 * 1024

    def body() -> Iterator[bytes]:
        for _ in range(4096):  # 64 MiB offered, chunked
            yield chunk

    with serve_on_loopback(upload_app(tmp_path, counter), lifespan="on") as url:
        try:
            response = httpx.post(
                url + "/upload", content=body(), headers=user_headers, timeout=10.0
            )
            status = response.status_code
        except httpx.HTTPError:  # the server may close before the client finished sending
            status = 413
    assert status == 413
    # The endpoint never saw a byte past the limit: the middleware stopped the stream at the
    # chunk that crossed it (uvicorn discards the rest of the client's upload).
    assert counter.bytes_read <= LIMIT


def test_a_body_within_the_limit_passes(tmp_path: Path, user_headers: dict[str, str]) -> None:
    counter = BodyCounter()
    with serve_on_loopback(upload_app(tmp_path, counter), lifespan="on") as url:
        response = httpx.post(url + "/upload", content=b"y" * LIMIT, headers=user_headers)
    assert response.status_code == 200
    assert response.json() == {"read": LIMIT}


def test_limit_zero_turns_the_limit_off(tmp_path: Path, user_headers: dict[str, str]) -> None:
    counter = BodyCounter()
    app = upload_app(tmp_path, counter, max_request_body_bytes=0)
    assert RequestBodyLimitMiddleware not in [m.cls for m in app.user_middleware]
    with serve_on_loopback(app, lifespan="on") as url:
        response = httpx.post(url + "/upload", content=b"z" * (LIMIT * 2), headers=user_headers)
    assert response.json() == {"read": LIMIT * 2}


@pytest.mark.anyio
async def test_an_app_that_swallows_the_error_still_answers_413() -> None:
    """Pure ASGI use, no FastAPI: the middleware itself answers when the app says nothing."""
    seen: list[Message] = []

    async def swallowing_app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            while True:
                message = await receive()
                if not message.get("more_body"):
                    break
        except Exception:
            return

    chunks = [
        {"type": "http.request", "body": b"a" * 10, "more_body": True},
        {"type": "http.request", "body": b"a" * 10, "more_body": False},
    ]

    async def receive() -> Message:
        return chunks.pop(0)

    async def send(message: Message) -> None:
        seen.append(message)

    middleware = RequestBodyLimitMiddleware(swallowing_app, max_body_bytes=15)
    scope: Scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
    await middleware(scope, receive, send)
    assert seen[0]["status"] == 413
    assert chunks == []  # read up to the chunk that crossed the limit, and no further


# -- SPAPS: the deadline and garbage answers -----------------------------------------------


def spaps_settings(standin: SpapsStandin, **extra: Any) -> BaseServiceSettings:
    values: dict[str, Any] = {
        "env": "test",
        "auth_mode": "spaps",
        "spaps_api_url": standin.url,
        "spaps_api_key": standin.api_key,
        "spaps_application_id": standin.application_id,
        "auth_connect_timeout_seconds": 1.0,
        "auth_read_timeout_seconds": 3.0,
        **extra,
    }
    return BaseServiceSettings(**values)


def test_an_upstream_answering_a_byte_every_2_s_is_cut_at_the_deadline(
    spaps_standin: SpapsStandin,
) -> None:
    """Observed: one byte every 2 s held a request 76 s; the read time-out (3 s) never fires."""
    spaps_standin.mode = "trickle"
    spaps_standin.trickle_interval = 2.0
    app = build_protected_app(spaps_settings(spaps_standin, auth_validation_deadline_seconds=1.0))
    with serve_on_loopback(app, lifespan="on") as url:
        started = time.monotonic()
        response = httpx.get(
            url + "/me", headers={"Authorization": "Bearer some-token"}, timeout=8.0
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "retry-after" in response.headers
    assert elapsed < 2.5


DEEP = 100_000


@pytest.mark.parametrize(
    "body",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"success": true, "data": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        b'{"success": false, "error": ' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
        b'{"success": true, "data": {"valid": true, "session": [[[1]]]}}',
        b'{"success": true, "data": {"valid": true, "session": null, "roles": [[["admin"]]]}}',
        b'{"success": false, "error": [1, 2]}',
        b"null",
        b'"valid"',
        b"[]",
    ],
    ids=[
        "100k-deep-array",
        "deep-data",
        "deep-error",
        "session-list",
        "null-session",
        "error-list",
        "null",
        "string",
        "empty-list",
    ],
)
def test_upstream_garbage_of_any_depth_or_shape_is_503(
    spaps_standin: SpapsStandin, body: bytes
) -> None:
    spaps_standin.mode = "garbage"
    spaps_standin.garbage_body = body
    app = build_protected_app(spaps_settings(spaps_standin))
    with serve_on_loopback(app, lifespan="on") as url:
        response = httpx.get(url + "/me", headers={"Authorization": "Bearer t"}, timeout=10.0)
    assert response.status_code == 503


# -- HEAD on the health routes -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/health/live", "/health/ready"])
def test_head_works_wherever_get_does_on_health_routes(tmp_path: Path, path: str) -> None:
    app = create_app(settings=local_settings(tmp_path))
    with serve_on_loopback(app, lifespan="on") as url:
        get = httpx.get(url + path)
        head = httpx.head(url + path)
    assert get.status_code == 200
    assert head.status_code == get.status_code
    assert head.content == b""
    schema_paths = app.openapi()["paths"]
    assert all("head" not in operations for operations in schema_paths.values())
