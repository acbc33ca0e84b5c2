"""A limit on the size of request bodies, enforced before the body is read.

Without one, a client with a valid token sent a 200 MiB JSON body and the worker grew from
100 MiB to 1 GiB before FastAPI answered 422: the body is buffered whole, then parsed, then
validated. :class:`RequestBodyLimitMiddleware` answers 413 instead:

* at once, without reading a byte, when ``Content-Length`` already says the body is too big;
* as soon as the bytes received pass the limit otherwise (chunked uploads, HTTP/2 streams),
  counting each chunk as it streams in, so at most one chunk beyond the limit is ever held.

A request whose framing already bounds its body (a ``Content-Length`` within the limit, which
the server enforces, or HTTP/1.x with neither ``Content-Length`` nor ``Transfer-Encoding``: no
body) passes straight through, so the common ``GET`` costs one scan of the headers.

Pure ASGI, like the other middlewares (no ``BaseHTTPMiddleware`` task group per request).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"
#: HTTP versions whose framing says a request without Content-Length or Transfer-Encoding has
#: no body (RFC 9112 section 6.3); HTTP/2 and 3 may stream a body with neither.
_FRAMED_VERSIONS = frozenset({"1.0", "1.1"})
_TOO_LARGE_BODY = b'{"detail":"Request body too large"}'


class RequestBodyTooLargeError(HTTPException):
    """Raised from ``receive`` once the body passes the limit.

    An ``HTTPException`` so that FastAPI's body parsing, which turns any other exception into
    "400 There was an error parsing the body", passes it on, and Starlette's exception
    middleware answers 413. An app that swallows it still gets a 413 from the middleware.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="Request body too large")
        self.limit = limit


def _body_framing(scope: Scope) -> tuple[int | None, bool]:
    """``(Content-Length or None, whether Transfer-Encoding was sent)`` of the request."""
    declared: int | None = None
    encoded = False
    for name, value in scope.get("headers", ()):
        name = name.lower()
        if name == _CONTENT_LENGTH:
            text = value.decode("latin-1").strip()
            # The server rejects a malformed Content-Length; if one got through, count bytes.
            declared = int(text) if text.isdigit() else -1
        elif name == _TRANSFER_ENCODING:
            encoded = True
    return declared, encoded


async def send_too_large(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_TOO_LARGE_BODY)).encode("latin-1")),
                # No "Connection: close": the server then reads and discards whatever the
                # client still sends (constant memory), and a client that writes its whole
                # body before reading the answer (most do) gets this 413. Closing at once
                # resets the connection under it, and it sees an error instead.
            ],
        }
    )
    await send({"type": "http.response.body", "body": _TOO_LARGE_BODY})


class RequestBodyLimitMiddleware:
    """Answer 413 to HTTP requests whose body exceeds ``max_body_bytes`` (0: no limit)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must be >= 0 (0 turns the limit off)")
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        if scope["type"] != "http" or limit == 0:
            await self.app(scope, receive, send)
            return
        declared, encoded = _body_framing(scope)
        if declared is not None and declared > limit:
            await send_too_large(send)
            return
        if not encoded and (
            (declared is not None and declared >= 0)
            or (declared is None and scope.get("http_version") in _FRAMED_VERSIONS)
        ):
            # The server delivers exactly Content-Length bytes (here within the limit), or no
            # body at all: nothing to count. The common GET pays one header scan, no wrapper.
            await self.app(scope, receive, send)
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise RequestBodyTooLargeError(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise RequestBodyTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestBodyTooLargeError:
            if response_started:  # the app answered before reading it all: nothing to add
                return
            await send_too_large(send)
            return
        if exceeded and not response_started:  # the app swallowed the error and said nothing
            await send_too_large(send)
