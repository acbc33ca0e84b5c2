"""Run by ``spaps smoke`` with the *service's* interpreter: publish the ping task, await its result.

``python smoke_ping.py <package> <request id> <timeout>`` imports ``<package>.worker`` (the same
Celery app, broker and result backend the worker uses), binds the request id the way a request
would, sends ``spaps.ping`` through the broker and prints ``{"result": ..., "seconds": ...}``.
The runtime's ``before_task_publish`` handler is what puts the id into the message, so a result
carrying it proves the propagation end to end.

Executed as a script, never imported by the CLI (see :mod:`.service_probe`).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any

PING_TASK_NAME = "spaps.ping"


def ping(package: str, request_id: str, timeout: float) -> dict[str, Any]:
    from spaps_server_quickstart.request_context import request_id_var

    worker = importlib.import_module(f"{package}.worker")
    celery_app = worker.celery_app
    task = celery_app.tasks[PING_TASK_NAME]
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        async_result = task.apply_async()
    finally:
        request_id_var.reset(token)
    result = async_result.get(timeout=timeout, propagate=True)
    return {
        "result": result,
        "task_id": async_result.id,
        "seconds": round(time.perf_counter() - started, 3),
    }


def main(argv: list[str]) -> int:
    package, request_id, timeout = argv
    sys.stdout.write(json.dumps(ping(package, request_id, float(timeout))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
