"""Ready-made tasks and the idempotent task base.

* :func:`create_ping_task`: a no-op that proves the whole path (publisher, broker, worker,
  result backend, request-id propagation) works; smoke tests and ``spaps smoke`` run it.
* :func:`create_notification_task`: the shape of every "call an external service" task:
  retries on transient errors only, exponential back-off with jitter, a bounded retry count.
* :class:`IdempotentTask`: at-most-once *effects* per business key on top of at-least-once
  delivery (late acks mean a task can run twice).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog
from celery import Celery, Task
from celery.exceptions import Retry

from spaps_server_quickstart.request_context import request_id_var
from spaps_server_quickstart.tasks.redelivery import RedeliveryGuardedTask
from spaps_server_quickstart.tasks.task_state import task_state_store

logger = structlog.get_logger(__name__)

PING_TASK_NAME = "spaps.ping"
NOTIFICATION_TASK_NAME = "spaps.notify"


class TransientTaskError(Exception):
    """Raise from task code for a failure worth retrying (timeouts, 429/5xx from a partner)."""


#: What the notification task retries on by default. Anything else fails at once: retrying a
#: 400 or a bug only multiplies the damage.
DEFAULT_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientTaskError,
    ConnectionError,
    TimeoutError,
)


def create_ping_task(app: Celery) -> Task:
    @app.task(name=PING_TASK_NAME, bind=True, shared=False)  # type: ignore[untyped-decorator]
    def ping(self: Task) -> dict[str, Any]:
        return {"pong": True, "request_id": request_id_var.get(), "task_id": self.request.id}

    return ping


def create_notification_task(
    app: Celery,
    send: Callable[[Mapping[str, Any]], Any],
    *,
    name: str = NOTIFICATION_TASK_NAME,
    transient_errors: tuple[type[BaseException], ...] = DEFAULT_TRANSIENT_ERRORS,
    max_retries: int = 5,
    retry_backoff: int = 2,
    retry_backoff_max: int = 300,
) -> Task:
    """A task calling ``send(payload)``; ``payload`` must be JSON (ids, not ORM objects)."""
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0: unbounded retries hide outages")

    @app.task(  # type: ignore[untyped-decorator]
        name=name,
        shared=False,
        autoretry_for=transient_errors,
        retry_backoff=retry_backoff,
        retry_backoff_max=retry_backoff_max,
        retry_jitter=True,
        max_retries=max_retries,
    )
    def notify(payload: dict[str, Any]) -> Any:
        return send(payload)

    return notify


IDEMPOTENCY_KEY_PREFIX = "spaps:idempotency"


class IdempotentTask(RedeliveryGuardedTask):
    """Run the body at most once per ``(task name, business key)`` within ``idempotency_ttl_seconds``.

    The key is claimed with ``SET NX EX`` in the task state store (Redis when configured, else
    the embedded SQLite file; see :mod:`~spaps_server_quickstart.tasks.task_state`). The claim
    is owned by the task id, so a redelivery of the *same* message (worker killed, late ack)
    or a retry still runs, while a second message with the same business key is skipped and
    returns ``None``. If the body fails for good the claim is released so the work can be
    submitted again; a retry keeps it. Override :meth:`business_key`; the default reads the
    ``idempotency_key`` keyword argument::

        @app.task(base=IdempotentTask, bind=True)
        def charge(self, order_id: int, idempotency_key: str) -> None: ...
    """

    abstract = True
    idempotency_ttl_seconds: int = 24 * 3600

    def business_key(self, *args: Any, **kwargs: Any) -> str:
        key = kwargs.get("idempotency_key")
        if key is None:
            raise TypeError(
                f"{self.name} is idempotent: pass idempotency_key=... or override business_key()"
            )
        return str(key)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        task_id = self.request.id
        if task_id is None:  # called directly as a function: no message, nothing to dedupe
            return super().__call__(*args, **kwargs)
        key = f"{IDEMPOTENCY_KEY_PREFIX}:{self.name}:{self.business_key(*args, **kwargs)}"
        store = task_state_store(self.app)
        if not store.claim(key, task_id, self.idempotency_ttl_seconds):
            logger.info("task_duplicate_skipped", task_name=self.name, task_id=task_id)
            return None
        try:
            return super().__call__(*args, **kwargs)
        except Retry:
            raise
        except BaseException:
            store.release(key)
            raise
