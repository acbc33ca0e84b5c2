"""Per-request and per-task context: request id, task id and user id.

These live in :mod:`contextvars` so that log lines written anywhere below a request (or a Celery
task) carry the same ids, and so the Celery publish hook can forward the request id to the
worker. Values that an *outer* middleware needs after the app returns travel in
``scope["state"]`` instead, because contextvar changes do not propagate upwards.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar, Token

#: What an incoming ``X-Request-ID`` must look like to be trusted; anything else is replaced.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

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


def bind_request_id(request_id: str | None) -> Token[str | None]:
    return request_id_var.set(request_id)
