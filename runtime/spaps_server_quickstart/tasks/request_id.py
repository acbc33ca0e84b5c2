"""Carrying the HTTP request id into Celery tasks.

``before_task_publish`` copies the publishing context's request id into the message headers
(``x_request_id``); ``task_prerun`` reads it back (custom headers are merged into
``task.request``) and binds it, with the task id, into
:mod:`~spaps_server_quickstart.request_context` and structlog's contextvars; ``task_postrun``
restores the previous values, so a solo/threads worker never leaks one task's ids into the next.

In eager mode ``before_task_publish`` never fires but ``task_prerun`` does, so a missing header
falls back to the *current* request id instead of overwriting the caller's id with ``None``.
"""

from __future__ import annotations

import threading
from contextvars import Token
from typing import Any

import structlog
from celery.signals import before_task_publish, task_postrun, task_prerun

from spaps_server_quickstart.request_context import REQUEST_ID_PATTERN, request_id_var, task_id_var

REQUEST_ID_HEADER = "x_request_id"

_active: dict[str, tuple[Token[str | None], Token[str | None], dict[str, Any]]] = {}
_connect_lock = threading.Lock()
_connected = False


def _on_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


def _incoming_request_id(task: Any) -> str | None:
    request = getattr(task, "request", None)
    candidate = getattr(request, REQUEST_ID_HEADER, None)
    if candidate is None:
        headers = getattr(request, "headers", None)
        if isinstance(headers, dict):
            candidate = headers.get(REQUEST_ID_HEADER)
    if isinstance(candidate, str) and REQUEST_ID_PATTERN.fullmatch(candidate):
        return candidate
    return request_id_var.get()


def _on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is None:
        return
    request_id = _incoming_request_id(task)
    _active[task_id] = (
        request_id_var.set(request_id),
        task_id_var.set(task_id),
        dict(structlog.contextvars.bind_contextvars(request_id=request_id, task_id=task_id)),
    )


def _on_postrun(task_id: str | None = None, **_: Any) -> None:
    tokens = _active.pop(task_id, None) if task_id is not None else None
    if tokens is None:
        return
    request_token, task_token, log_tokens = tokens
    structlog.contextvars.reset_contextvars(**log_tokens)
    task_id_var.reset(task_token)
    request_id_var.reset(request_token)


def connect_request_id_signals() -> None:
    """Connect the three handlers; calling it again is a no-op."""
    global _connected
    with _connect_lock:
        if _connected:
            return
        before_task_publish.connect(
            _on_publish, weak=False, dispatch_uid="spaps.request_id.publish"
        )
        task_prerun.connect(_on_prerun, weak=False, dispatch_uid="spaps.request_id.prerun")
        task_postrun.connect(_on_postrun, weak=False, dispatch_uid="spaps.request_id.postrun")
        _connected = True
