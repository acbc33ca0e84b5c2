"""Per-request and per-task context: request id, task id and user id.

These live in :mod:`contextvars` so that log lines written anywhere below a request (or a Celery
task) carry the same ids, and so the Celery publish hook can forward the request id to the
worker. Values that an *outer* middleware needs after the app returns travel in
``scope["state"]`` instead, because contextvar changes do not propagate upwards.

:class:`RequestContextMiddleware` is deliberately *one* pure ASGI middleware doing request id,
timing and the access log together: a ``BaseHTTPMiddleware`` doing the same work halves the
throughput, and two pure ASGI middlewares cost a second wrapper per request for nothing.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .cached_logger import CachedLogger

#: What an incoming ``X-Request-ID`` must look like to be trusted; anything else is replaced.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

#: The header carrying the request id in both directions (``request_id_header=`` changes it).
REQUEST_ID_HEADER = "X-Request-ID"

#: The header the request's duration goes in by default (``timing_header=`` changes it).
SERVER_TIMING_HEADER = "Server-Timing"

#: The logger name of the access log (one line per request or WebSocket session).
ACCESS_LOGGER_NAME = "spaps.access"

request_id_var: ContextVar[str | None] = ContextVar("spaps_request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("spaps_task_id", default=None)
user_id_var: ContextVar[str | None] = ContextVar("spaps_user_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def sanitize_request_id(candidate: str | None) -> str:
    """Return ``candidate`` if it is a safe id, else a fresh one (blocks CRLF/log injection)."""
    if candidate is not None and REQUEST_ID_PATTERN.fullmatch(candidate):
        return candidate
    return new_request_id()


def get_request_id() -> str | None:
    return request_id_var.get()


def get_task_id() -> str | None:
    return task_id_var.get()


def get_user_id() -> str | None:
    return user_id_var.get()


def bind_request_id(request_id: str | None) -> Token[str | None]:
    return request_id_var.set(request_id)


@dataclass(frozen=True)
class ContextTokens:
    """What :func:`bind_context` changed, so :func:`reset_context` can undo exactly that."""

    variables: tuple[tuple[ContextVar[str | None], Token[str | None]], ...]
    structlog_tokens: Mapping[str, Token[Any]]


_VARIABLES: dict[str, ContextVar[str | None]] = {
    "request_id": request_id_var,
    "task_id": task_id_var,
    "user_id": user_id_var,
}


def bind_context(**values: str | None) -> ContextTokens:
    """Set ``request_id``/``task_id``/``user_id`` in our contextvars *and* structlog's.

    Both, because code that reads :func:`structlog.contextvars.get_contextvars` (or a third
    party's structlog processor) should see the same ids as our own log processor. Pair every
    call with :func:`reset_context` in a ``finally``: a worker thread or task reused for the
    next request must not inherit the previous one's ids.
    """
    unknown = set(values) - set(_VARIABLES)
    if unknown:
        raise TypeError(f"bind_context() got unknown context keys: {sorted(unknown)}")
    variables = tuple(
        (_VARIABLES[key], _VARIABLES[key].set(value)) for key, value in values.items()
    )
    structlog_tokens = structlog.contextvars.bind_contextvars(**values)
    return ContextTokens(variables=variables, structlog_tokens=structlog_tokens)


def reset_context(tokens: ContextTokens) -> None:
    structlog.contextvars.reset_contextvars(**tokens.structlog_tokens)
    for variable, token in reversed(tokens.variables):
        variable.reset(token)


def route_path(scope: Scope) -> str:
    """The path the router matches on: ``scope["path"]`` minus any ``root_path`` prefix.

    Uvicorn's ``--root-path`` prepends the root path to ``scope["path"]``; ``FastAPI(root_path=)``
    does not. This is exactly Starlette's ``get_route_path`` (``""`` for the root path itself),
    so the auth middleware's exemptions see the same path the router routes on; it is the one
    copy both middlewares use.
    """
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    if path == root_path:
        return ""
    if path[len(root_path)] == "/":
        return path[len(root_path) :]
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))  # latin-1 decodes every byte
    return None


#: Called with the request id when a request starts; may return more fields for every log
#: line of the request (the trace ids: see :mod:`spaps_server_quickstart.tracing`).
RequestHook = Callable[[str], Mapping[str, str] | None]

_REQUEST_ID_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")
_INTERNAL_ERROR_BODY = b'{"detail":"Internal Server Error"}'


def _without_request_id(
    headers: Iterable[tuple[bytes, bytes]], key: bytes = _REQUEST_ID_HEADER_KEY
) -> list[tuple[bytes, bytes]]:
    """The app's headers minus any request-id header it set: ours replaces it.

    Ours, not theirs, because it is the id in every log line of the request (and the one the
    client sent, if valid); two headers, or the app's own, would point the client at an id
    the logs do not know.
    """
    return [header for header in headers if header[0].lower() != key]


class RequestContextMiddleware:
    """Request id, timing and access log for HTTP and WebSocket scopes, as one ASGI callable.

    - An incoming ``X-Request-ID`` is accepted only if it matches :data:`REQUEST_ID_PATTERN`,
      else replaced by a fresh id; the id is echoed in the response (and in the WebSocket
      ``accept`` headers), stored in ``scope["state"]["request_id"]`` and bound in the
      contextvars (ours and structlog's) for the duration of the request.
    - The access log line carries method, route path (never the query string, which may carry
      tokens), the matched route template, status, ``duration_ms``, request id and the user id
      the auth middleware leaves in ``scope["state"]["user_id"]`` (a contextvar set below us
      would not be reliable up here).
    - An exception escaping the app before the response started is answered with a 500 that
      still carries the request id, then re-raised so the server logs the traceback.
    - A cancelled request (the client went away, the server is stopping) is logged as
      ``request_cancelled``, with a status only if a response had started: nothing was sent.
    - Lifespan (and any other) scopes pass straight through.

    The header names are the service's contract with its clients, so they are options
    (``REQUEST_ID_HEADER`` / ``TIMING_HEADER`` in the settings): ``request_id_header`` is read
    and echoed (``X-Correlation-ID`` stays ``X-Correlation-ID``), and ``timing_header`` gets the
    duration, as ``app;dur=<ms>`` for ``Server-Timing`` and in seconds for any other name (what
    ``X-Process-Time`` conventionally carries); ``""`` or ``server_timing=False`` sends none.
    ``request_id_header=""`` neither reads nor sends an id header (the id is still generated,
    logged and bound), for services whose clients never had one.

    - ``request_hooks`` run with the request id once it is known (tag the trace span, the
      Sentry scope); the fields they return are bound like the request id, so the access log
      and every line below carry them.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        access_log: bool = True,
        server_timing: bool = True,
        logger_name: str = ACCESS_LOGGER_NAME,
        request_id_header: str = REQUEST_ID_HEADER,
        timing_header: str = SERVER_TIMING_HEADER,
        request_hooks: Sequence[RequestHook] = (),
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.server_timing = server_timing and bool(timing_header)
        self.request_hooks = tuple(request_hooks)
        self._logger = CachedLogger(logger_name)
        self._request_id_key = request_id_header.strip().lower().encode("latin-1")
        self._send_request_id = bool(self._request_id_key)
        self._timing_key = timing_header.strip().lower().encode("latin-1")
        self._timing_in_seconds = self._timing_key != b"server-timing"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return

        request_id_key = self._request_id_key
        send_request_id = self._send_request_id
        request_id = sanitize_request_id(
            _header(scope, request_id_key) if send_request_id else None
        )
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["request_id"] = request_id
        request_id_header = (request_id_key, request_id.encode("latin-1"))
        started = time.perf_counter()
        status: int | None = 500 if scope_type == "http" else 1006  # what a crash answers
        response_started = False
        server_timing = self.server_timing
        timing_key = self._timing_key
        timing_in_seconds = self._timing_in_seconds

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            message_type = message["type"]
            if message_type == "http.response.start":
                response_started = True
                status = message["status"]
                headers = _without_request_id(message.get("headers", ()), request_id_key)
                if send_request_id:
                    headers.append(request_id_header)
                if server_timing:
                    elapsed = time.perf_counter() - started
                    if timing_in_seconds:
                        headers.append((timing_key, b"%.6f" % elapsed))
                    else:
                        headers.append((timing_key, b"app;dur=%.1f" % (elapsed * 1000)))
                message = {**message, "headers": headers}
            elif message_type == "websocket.accept":
                response_started = True
                status = 101
                headers = _without_request_id(message.get("headers") or (), request_id_key)
                if send_request_id:
                    headers.append(request_id_header)
                message = {**message, "headers": headers}
            elif message_type == "websocket.close":
                status = message.get("code", 1000)
            await send(message)

        # bind_context(request_id=...) without its generality: this runs on every request.
        request_id_token = request_id_var.set(request_id)
        if self.request_hooks:
            fields = {"request_id": request_id}
            for hook in self.request_hooks:
                fields.update(hook(request_id) or {})
            structlog_tokens = structlog.contextvars.bind_contextvars(**fields)
        else:
            structlog_tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as exc:
            error = exc
            if scope_type == "http" and not response_started:
                # The client may be gone too; the original exception is what matters.
                with contextlib.suppress(Exception):
                    await self._send_internal_error(send_with_request_id)
            raise
        except BaseException as exc:  # CancelledError: not a failure of the app
            error = exc
            if not response_started:
                status = None
            raise
        finally:
            if self.access_log:
                self._log_access(scope, state, status, started, request_id, error)
            structlog.contextvars.reset_contextvars(**structlog_tokens)
            request_id_var.reset(request_id_token)

    @staticmethod
    async def _send_internal_error(send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_INTERNAL_ERROR_BODY)).encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _INTERNAL_ERROR_BODY})

    def _log_access(
        self,
        scope: Scope,
        state: dict[str, Any],
        status: int | None,
        started: float,
        request_id: str,
        error: BaseException | None,
    ) -> None:
        # Hundredths of a millisecond; round(x, 2) goes through a decimal string, 3x slower.
        duration_ms = int((time.perf_counter() - started) * 100_000 + 0.5) / 100
        route = scope.get("route")
        fields: dict[str, Any] = {
            "method": scope.get("method", "WEBSOCKET"),
            "path": route_path(scope) or "/",
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
        }
        if status is None:
            del fields["status"]
        template = getattr(route, "path", None)
        if template is not None:
            fields["route"] = template
        user_id = state.get("user_id")
        if user_id is not None:
            fields["user_id"] = user_id
        if isinstance(error, Exception):
            fields["error"] = type(error).__name__
            self._logger.error("request_failed", **fields)
        elif error is not None:
            self._logger.info("request_cancelled", **fields)
        elif scope["type"] == "websocket":
            self._logger.info("websocket", **fields)
        else:
            self._logger.info("request", **fields)
