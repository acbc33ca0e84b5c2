"""Celery app for the worker *subprocess* tests (``celery -A spaps_runtime_worker_tasks worker``).

Configured purely from the environment, as a service's worker is: ``BaseServiceSettings`` reads
``CELERY_BROKER_URL``, ``CELERY_RESULT_BACKEND``, ``CELERY_MAX_REDELIVERIES``, ``REDIS_URL`` ...
``SPAPS_TEST_QUEUE`` isolates each test run's queue from anything else on the shared broker.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks import create_celery_app, create_ping_task

QUEUE = os.environ.get("SPAPS_TEST_QUEUE", "spaps-runtime-tests")

app = create_celery_app(
    BaseServiceSettings(), name="spaps_runtime_worker_tasks", task_default_queue=QUEUE
)
ping = create_ping_task(app)


def _redis() -> Any:
    import redis

    return redis.Redis.from_url(os.environ["REDIS_URL"])


@app.task(name="tests.slow_attempt", shared=False)
def slow_attempt(marker: str, sleep_seconds: float) -> dict[str, int]:
    """Records each attempt and its pid; only the first attempt is slow (to be killed)."""
    client = _redis()
    attempt = int(client.incr(f"{marker}:attempts"))
    client.set(f"{marker}:pid:{attempt}", os.getpid())
    if attempt == 1:
        time.sleep(sleep_seconds)
    return {"attempts": attempt, "pid": os.getpid()}


@app.task(name="tests.poison", shared=False)
def poison(marker: str) -> None:
    """A message that kills every worker process that runs it."""
    _redis().incr(f"{marker}:runs")
    os.kill(os.getpid(), signal.SIGKILL)
