"""The poison-message guard that makes ``task_reject_on_worker_lost=True`` safe.

With ``acks_late`` + ``reject_on_worker_lost`` a task whose worker process dies is put back on
the queue and runs again: that is what saves work when a pod is OOM-killed. The flip side is a
message that *always* kills its worker (a huge payload, a segfaulting C extension) being
redelivered forever and taking the fleet down with it.

:class:`RedeliveryGuardedTask` (the default task class of apps built by ``create_celery_app``)
counts every delivery of a message in the :mod:`task state store
<spaps_server_quickstart.tasks.task_state>` under ``(task id, retry number)``, *before* the task
body runs, so a delivery that dies mid-task is still counted. Once a message has been delivered
more than ``1 + celery_max_redeliveries`` times it is rejected without requeue (state
``REJECTED``) and logged as ``task_redelivery_limit_reached``. Retries (``self.retry()``,
``autoretry_for``) are new deliveries with a higher retry number, so they get their own budget
and are bounded by ``max_retries`` instead. Eager and direct calls are not counted. If the store
itself is unreachable the guard logs ``redelivery_guard_unavailable`` and lets the task run.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from celery.exceptions import Reject

from spaps_server_quickstart.tasks.task_state import task_state_store

logger = structlog.get_logger(__name__)

MAX_REDELIVERIES_SETTING = "spaps_max_redeliveries"
DELIVERY_COUNT_TTL_SETTING = "spaps_delivery_count_ttl_seconds"


def delivery_count_key(task_id: str, retries: int) -> str:
    return f"spaps:deliveries:{task_id}:{retries}"


class RedeliveryGuardedTask(Task):  # type: ignore[misc]
    """Celery ``Task`` that refuses a message delivered too many times."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._guard_redelivery()
        return super().__call__(*args, **kwargs)

    def _guard_redelivery(self) -> None:
        request = self.request
        max_redeliveries = self.app.conf.get(MAX_REDELIVERIES_SETTING)
        if request.id is None or request.is_eager or max_redeliveries is None:
            return
        ttl = int(self.app.conf.get(DELIVERY_COUNT_TTL_SETTING) or 86_400)
        try:
            deliveries = task_state_store(self.app).increment(
                delivery_count_key(request.id, request.retries or 0), ttl
            )
        except Exception as error:
            # The guard protects the fleet; it must not turn a store outage into lost tasks
            # (a raise here would fail, and with late acks still ack, the message).
            logger.warning(
                "redelivery_guard_unavailable",
                task_name=self.name,
                task_id=request.id,
                error_type=type(error).__name__,
            )
            return
        if deliveries > 1:
            logger.warning(
                "task_redelivered", task_name=self.name, task_id=request.id, deliveries=deliveries
            )
        if deliveries > 1 + int(max_redeliveries):
            logger.error(
                "task_redelivery_limit_reached",
                task_name=self.name,
                task_id=request.id,
                deliveries=deliveries,
                max_redeliveries=max_redeliveries,
            )
            raise Reject(
                f"{self.name}[{request.id}] delivered {deliveries} times"
                f" (limit 1 + {max_redeliveries} redeliveries)",
                requeue=False,
            )
