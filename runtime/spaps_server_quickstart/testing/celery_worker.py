"""A real Celery worker in a thread of the test process, that also stops promptly.

``celery.contrib.testing.worker.start_worker`` stops its worker by setting a flag the event
loop only reads when it wakes up; with nothing to do, an AMQP worker sleeps up to its timer's
``max_interval`` (10 s) first. A no-op timer every 0.2 s bounds that wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery
    from celery.worker import WorkController

WAKE_UP_INTERVAL_SECONDS = 0.2


def _wake_up() -> None:
    """Does nothing: being called is the point (the event loop re-checks its stop flag)."""


@contextmanager
def run_worker_in_thread(
    app: Celery, *, shutdown_timeout: float = 30.0, **options: Any
) -> Iterator[WorkController]:
    """``start_worker`` (solo pool, no ping task needed) with a prompt shutdown."""
    from celery.contrib.testing.worker import start_worker

    options.setdefault("pool", "solo")
    options.setdefault("concurrency", 1)
    options.setdefault("perform_ping_check", False)
    with start_worker(app, shutdown_timeout=shutdown_timeout, **options) as worker:
        timer = getattr(worker, "timer", None)
        entry = timer.call_repeatedly(WAKE_UP_INTERVAL_SECONDS, _wake_up) if timer else None
        try:
            yield worker
        finally:
            if entry is not None:
                entry.cancel()
