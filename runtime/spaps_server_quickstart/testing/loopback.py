"""Serving an ASGI app on 127.0.0.1 with uvicorn in a background thread.

In-process transports (``TestClient``, ``httpx.ASGITransport``) normalise URLs, skip the HTTP
parser and never time out on a socket. Tests about raw paths (``/health/../admin``,
``%2F``), ``--root-path`` or client time-outs need a real server; this is the smallest one.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def serve_on_loopback(
    app: Any, *, startup_timeout: float = 10.0, **uvicorn_options: Any
) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:<free port>``) while ``app`` is being served.

    ``uvicorn_options`` go to ``uvicorn.Config`` (``root_path="/api"``, ``lifespan="on"``...).
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 1,
        **uvicorn_options,
    }
    server = uvicorn.Server(uvicorn.Config(app, **options))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="spaps-loopback", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
