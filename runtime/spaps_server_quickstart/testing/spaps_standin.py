"""A local stand-in for the SPAPS sessions API, for tests and offline development.

It speaks the HTTP contract ``spaps_client``'s sessions clients call, so the real client code
runs unmodified against it:

* ``POST /api/sessions/validate`` and ``GET /api/sessions/current`` with ``X-API-Key`` and
  ``Authorization: Bearer``;
* successes wrapped as ``{"success": true, "data": {...}}``;
* errors as ``{"success": false, "error": {"code": ..., "message": ...}}``.

A token is valid only if it was :meth:`registered <SpapsStandin.register>`. Unknown and expired
tokens get ``200 {"valid": false}``; revoked ones a ``401 SESSION_REVOKED`` error, so both ways a
real server says "no" are exercised. Switch :attr:`SpapsStandin.mode` to simulate outages
(``down`` 503, ``error`` 500, ``hang`` past the client's time-out, ``malformed`` non-JSON,
``bad_encoding`` a body labelled gzip that is not).
``trickle`` answers one byte every :attr:`SpapsStandin.trickle_interval` seconds (per-read
time-outs never fire; only an overall deadline does) and ``garbage`` answers
:attr:`SpapsStandin.garbage_body` as JSON (100k-deep arrays, the wrong shapes).
Every call is counted, which is how tests prove the validation cache works.

Use it in-process through :meth:`SpapsStandin.transport` (an ``httpx.ASGITransport``), or on a
real loopback socket with ``with serve_spaps_standin() as standin: standin.url``.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from spaps_server_quickstart.testing.loopback import serve_on_loopback

StandinMode = Literal[
    "up", "down", "error", "hang", "malformed", "bad_encoding", "trickle", "garbage"
]

DEFAULT_API_KEY = "standin-api-key"
DEFAULT_APPLICATION_ID = "standin-app"


@dataclass
class RegisteredToken:
    user_id: str
    application_id: str
    tier: str | None
    expires_at: dt.datetime
    session_id: str = field(default_factory=lambda: f"sess_{uuid.uuid4().hex[:16]}")
    roles: list[str] | None = None
    revoked: bool = False
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": code, "message": message}}, status_code=status
    )


class SpapsStandin:
    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        application_id: str = DEFAULT_APPLICATION_ID,
        hang_seconds: float = 30.0,
    ) -> None:
        self.api_key = api_key
        self.application_id = application_id
        self.hang_seconds = hang_seconds
        self.trickle_interval = 2.0
        self.garbage_body = b"[]"
        self.mode: StandinMode = "up"
        self.url = ""  # set by serve_spaps_standin
        self._tokens: dict[str, RegisteredToken] = {}
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.app = Starlette(
            routes=[
                Route("/api/sessions/validate", self._validate, methods=["POST"]),
                Route("/api/sessions/current", self._current, methods=["GET"]),
            ]
        )

    # -- configuring ---------------------------------------------------------------------------

    def register(
        self,
        token: str | None = None,
        *,
        user_id: str | None = None,
        tier: str | None = "free",
        application_id: str | None = None,
        expires_in: float = 3600.0,
        roles: Iterable[str] | None = None,
    ) -> str:
        """Make ``token`` (or a fresh random one) valid; return it."""
        token = token or secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = RegisteredToken(
                user_id=user_id or f"user_{uuid.uuid4().hex[:12]}",
                application_id=application_id or self.application_id,
                tier=tier,
                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in),
                roles=list(roles) if roles is not None else None,
            )
        return token

    def register_user(self, user_id: str = "user-1", **options: Any) -> str:
        return self.register(user_id=user_id, tier="free", **options)

    def register_admin(self, user_id: str = "admin-1", **options: Any) -> str:
        return self.register(user_id=user_id, tier="admin", **options)

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens[token].revoked = True

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._calls.clear()
            self.mode = "up"
            self.trickle_interval = 2.0
            self.garbage_body = b"[]"

    def calls(self, endpoint: str = "validate") -> int:
        """How many requests reached ``endpoint`` (``validate`` or ``current``)."""
        with self._lock:
            return self._calls[endpoint]

    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)

    # -- the HTTP contract -----------------------------------------------------------------

    async def _validate(self, request: Request) -> Response:
        return await self._answer(request, "validate")

    async def _current(self, request: Request) -> Response:
        return await self._answer(request, "current")

    async def _answer(self, request: Request, endpoint: str) -> Response:
        with self._lock:
            self._calls[endpoint] += 1
        failure = await self._failure()
        if failure is not None:
            return failure
        presented_key = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(presented_key.encode(), self.api_key.encode()):
            return _error(401, "INVALID_API_KEY", "Invalid or missing API key")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, "UNAUTHORIZED", "Missing bearer token")
        with self._lock:
            registered = self._tokens.get(token)
        if registered is not None and registered.revoked:
            return _error(401, "SESSION_REVOKED", "Session has been revoked")
        now = dt.datetime.now(dt.UTC)
        if endpoint == "current":
            if registered is None or registered.expires_at <= now:
                return _error(401, "INVALID_TOKEN", "Invalid or expired token")
            return JSONResponse({"success": True, "data": {"session": self._session(registered)}})
        if registered is None:
            return JSONResponse({"success": True, "data": {"valid": False, "reason": "invalid"}})
        if registered.expires_at <= now:
            return JSONResponse({"success": True, "data": {"valid": False, "reason": "expired"}})
        data: dict[str, Any] = {"valid": True, "session": self._session(registered)}
        data["authority"] = {
            "user_id": registered.user_id,
            "application_id": registered.application_id,
            "session_id": registered.session_id,
            "access_jti": f"jti_{registered.session_id}",
            "access_expires_at": registered.expires_at.isoformat(),
        }
        if registered.roles is not None:
            data["roles"] = registered.roles
        return JSONResponse({"success": True, "data": data})

    async def _failure(self) -> Response | None:
        mode = self.mode
        if mode == "down":
            return _error(503, "SERVICE_UNAVAILABLE", "SPAPS is down")
        if mode == "error":
            return _error(500, "INTERNAL_ERROR", "Internal server error")
        if mode == "malformed":
            return PlainTextResponse("<html>gateway says hi</html>", status_code=200)
        if mode == "bad_encoding":
            return Response(b"<html>bad gateway</html>", headers={"content-encoding": "gzip"})
        if mode == "garbage":
            return Response(self.garbage_body, media_type="application/json")
        if mode == "trickle":
            return StreamingResponse(self._trickle(), media_type="application/json")
        if mode == "hang":
            deadline = time.monotonic() + self.hang_seconds
            # Poll rather than one long sleep so stopping the server is never held up; the
            # flags are flipped from the test's thread, where an anyio.Event cannot be set.
            while (  # noqa: ASYNC110
                time.monotonic() < deadline and not self._closing.is_set() and self.mode == "hang"
            ):
                await anyio.sleep(0.05)
        return None

    async def _trickle(self) -> AsyncIterator[bytes]:
        body = b'{"success": true, "data": {"valid": false, "reason": "invalid"}}'
        for index in range(len(body)):
            if self._closing.is_set():
                return
            yield body[index : index + 1]
            deadline = time.monotonic() + self.trickle_interval
            while time.monotonic() < deadline and not self._closing.is_set():  # noqa: ASYNC110
                await anyio.sleep(0.05)

    @staticmethod
    def _session(registered: RegisteredToken) -> dict[str, Any]:
        return {
            "id": registered.session_id,
            "user_id": registered.user_id,
            "application_id": registered.application_id,
            "tier": registered.tier,
            "created_at": registered.created_at.isoformat(),
            "expires_at": registered.expires_at.isoformat(),
        }


@contextmanager
def serve_spaps_standin(
    standin: SpapsStandin | None = None, *, startup_timeout: float = 10.0
) -> Iterator[SpapsStandin]:
    """Serve ``standin`` with uvicorn on 127.0.0.1 (a free port) in a background thread."""
    standin = standin or SpapsStandin()
    standin._closing.clear()
    try:
        with serve_on_loopback(standin.app, startup_timeout=startup_timeout, lifespan="off") as url:
            standin.url = url
            try:
                yield standin
            finally:
                # Release any request parked in "hang" so the server can stop promptly.
                standin._closing.set()
    finally:
        standin._closing.set()
