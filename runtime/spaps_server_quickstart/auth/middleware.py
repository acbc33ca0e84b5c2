"""Bearer-token authentication as one pure ASGI middleware.

Design choices, each from a measured failure (docs/RUNTIME.md, "Auth and roles"):

* **Pure ASGI**, so WebSocket scopes are seen at all (``BaseHTTPMiddleware`` passes them
  through unauthenticated) and the request costs no extra task group.
* **Exact exemptions on the route path** (``scope["path"]`` minus ``root_path``, the same value
  Starlette routes on): ``/health-x``, ``/health/`` and ``/health/../admin`` are *not*
  ``/health``, and a service behind ``--root-path /api`` keeps its health checks public.
  The decoded path is used (never ``raw_path``), so ``/heal%74h`` is ``/health`` here exactly
  as it is for the router, and ``%2F`` stays a literal ``/`` inside one segment for both.
* **Public by method too**: a plain public path is exempt for ``GET``/``HEAD`` only, and a
  WebSocket handshake never is. Exempting every method let ``POST /health`` reach a service's
  ``@router.post("/{slug}")`` with no token; a public webhook says so (``"POST /hooks/x"``).
* **Suspension is the service's word** (:mod:`~spaps_server_quickstart.auth.accounts`): a
  valid token of a user the service's account hook suspended answers 403 here, before any
  route, so no route can forget to check it.
* **Fail closed**: when SPAPS cannot answer, the request gets 503 + ``Retry-After``, never
  the handler and never 401 (clients treat 401 as "log out").
* What the access log needs (the user id) goes into ``scope["state"]``, because contextvar
  changes do not propagate back up to outer middleware.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spaps_server_quickstart.auth.errors import (
    AccountSuspendedError,
    AuthUnavailableError,
    InvalidTokenError,
)
from spaps_server_quickstart.auth.service import AuthService
from spaps_server_quickstart.request_context import route_path, user_id_var
from spaps_server_quickstart.settings import parse_public_paths

logger = structlog.get_logger(__name__)

#: RFC 6750 section 2.1 ``b64token``.
_BEARER_TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")

#: WebSocket close codes: 1008 policy violation (no/invalid token), 1013 try again later.
WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013


class _MalformedAuthorization(Exception):
    pass


def _bearer_token(scope: Scope) -> str | None:
    """The bearer token, ``None`` when no bearer credentials were sent at all."""
    values: list[bytes] = [
        value for name, value in scope.get("headers", []) if name.lower() == b"authorization"
    ]
    if not values:
        return None
    if len(values) > 1:
        raise _MalformedAuthorization("more than one Authorization header")
    try:
        header = values[0].decode("latin-1").strip()
    except UnicodeDecodeError as error:  # pragma: no cover - latin-1 decodes every byte
        raise _MalformedAuthorization("undecodable Authorization header") from error
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        # Another scheme (Basic, Digest): RFC 6750 treats this like sending no bearer token.
        return None
    credentials = credentials.strip()
    if not credentials or not _BEARER_TOKEN.fullmatch(credentials):
        raise _MalformedAuthorization("Authorization: Bearer needs exactly one b64token")
    return credentials


class SpapsAuthMiddleware:
    """Authenticate every HTTP request and WebSocket handshake except exact public routes.

    ``public_paths`` entries are ``"/path"`` (public for ``GET`` and ``HEAD``) or
    ``"METHOD /path"`` (:func:`~spaps_server_quickstart.settings.parse_public_path`); a bad
    entry raises ``ValueError`` here, at start-up.

    Reads the :class:`~spaps_server_quickstart.auth.service.AuthService` from
    ``scope["state"]["auth"]`` (put there by the lifespan) and, on success, sets
    ``scope["state"]["user"]`` / ``["user_id"]`` and binds ``user_id`` into
    :data:`~spaps_server_quickstart.request_context.user_id_var` and structlog's contextvars
    for the duration of the request. Install ``CORSMiddleware`` *outside* this middleware so
    preflight ``OPTIONS`` requests need no token; preflights are not special-cased here.
    """

    def __init__(self, app: ASGIApp, *, public_paths: Iterable[str], realm: str = "spaps") -> None:
        self.app = app
        self.public_routes = parse_public_paths(public_paths)
        self.realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and (scope["method"], route_path(scope)) in self.public_routes:
            await self.app(scope, receive, send)
            return
        websocket = scope["type"] == "websocket"
        state = scope.get("state")
        service: AuthService | None = state.get("auth") if isinstance(state, dict) else None
        if state is None or service is None:
            logger.error("auth_service_missing", path=scope["path"])
            await self._unavailable(send, websocket, retry_after=None)
            return
        try:
            token = _bearer_token(scope)
        except _MalformedAuthorization as error:
            await self._reject(send, websocket, 400, "invalid_request", str(error))
            return
        if token is None:
            await self._reject(send, websocket, 401, None, "Not authenticated")
            return
        try:
            user = await service.authenticate(token)
        except InvalidTokenError:
            await self._reject(send, websocket, 401, "invalid_token", "Invalid or expired token")
            return
        except AccountSuspendedError as error:
            await self._forbidden(send, websocket, str(error))
            return
        except AuthUnavailableError as error:
            await self._unavailable(send, websocket, retry_after=error.retry_after_seconds)
            return
        state["user"] = user
        state["user_id"] = user.user_id
        var_token = user_id_var.set(user.user_id)
        log_tokens = structlog.contextvars.bind_contextvars(user_id=user.user_id)
        try:
            await self.app(scope, receive, send)
        finally:
            structlog.contextvars.reset_contextvars(**log_tokens)
            user_id_var.reset(var_token)

    def _challenge(self, error: str | None, description: str | None = None) -> str:
        challenge = f'Bearer realm="{self.realm}"'
        if error is not None:
            challenge += f', error="{error}"'
            if description:
                challenge += f', error_description="{description}"'
        return challenge

    async def _reject(
        self, send: Send, websocket: bool, status: int, error: str | None, detail: str
    ) -> None:
        if websocket:
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": ""})
            return
        description = detail if error is not None else None
        await _send_json(
            send,
            status,
            {"detail": detail},
            [(b"www-authenticate", self._challenge(error, description).encode("latin-1"))],
        )

    async def _forbidden(self, send: Send, websocket: bool, detail: str) -> None:
        """403 without a bearer challenge: the token is fine, signing in again would not help."""
        if websocket:
            await send({"type": "websocket.close", "code": WS_POLICY_VIOLATION, "reason": ""})
            return
        await _send_json(send, 403, {"detail": detail}, [])

    async def _unavailable(self, send: Send, websocket: bool, retry_after: int | None) -> None:
        if websocket:
            await send({"type": "websocket.close", "code": WS_TRY_AGAIN_LATER, "reason": ""})
            return
        headers = [] if retry_after is None else [(b"retry-after", str(retry_after).encode())]
        await _send_json(send, 503, {"detail": "Authentication service unavailable"}, headers)


async def _send_json(
    send: Send, status: int, payload: dict[str, str], extra_headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(payload).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra_headers,
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
