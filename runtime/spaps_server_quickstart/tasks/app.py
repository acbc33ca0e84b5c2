"""``create_celery_app``: a Celery app with the defaults every SPAPS service should run with.

Each default answers a failure seen in production or measured (docs/RUNTIME.md, "Celery"):

* JSON only (``task_serializer``, ``result_serializer``, ``accept_content``): pickle from a
  broker is remote code execution, and JSON forces tasks to take ids, not ORM objects.
* ``task_acks_late`` + ``task_reject_on_worker_lost``: a task whose worker is killed runs again
  instead of being silently lost; :class:`RedeliveryGuardedTask` stops poison messages after
  ``celery_max_redeliveries`` redeliveries.
* ``worker_prefetch_multiplier=1``: with late acks, prefetched messages are held hostage by a
  busy worker.
* soft < hard time limit < visibility timeout (settings refuse anything else): otherwise Redis
  redelivers a task that is still running.
* ``broker_connection_retry_on_startup=True`` and
  ``worker_cancel_long_running_tasks_on_connection_loss=True``: explicit, so Celery 5.3+ stops
  warning and a reconnect does not leave duplicates running.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import Celery

from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks.redelivery import (
    DELIVERY_COUNT_TTL_SETTING,
    MAX_REDELIVERIES_SETTING,
    RedeliveryGuardedTask,
)
from spaps_server_quickstart.tasks.request_id import connect_request_id_signals
from spaps_server_quickstart.tasks.task_state import TASK_STATE_URL_SETTING, task_state_url_for
from spaps_server_quickstart.tasks.worker_logging import connect_worker_logging


def filesystem_transport_options(folder: str | Path) -> dict[str, Any]:
    """Folders of the embedded ``filesystem://`` broker, created if missing.

    ``data_folder_in`` and ``data_folder_out`` are the same directory so the API process and
    the worker process (two separate programs) read and write one queue.
    """
    root = Path(folder).resolve()
    paths = {
        "data_folder_in": root / "queue",
        "data_folder_out": root / "queue",
        "processed_folder": root / "processed",
        "control_folder": root / "control",
    }
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in paths.items()}


def broker_transport_options_for(settings: BaseServiceSettings) -> dict[str, Any]:
    scheme = settings.celery_broker_url.scheme
    if scheme == "filesystem":
        return filesystem_transport_options(settings.celery_filesystem_folder)
    if scheme == "memory":
        # Test-only broker: kombu polls it every second by default, which makes every
        # in-thread-worker round trip cost up to a second.
        return {"polling_interval": 0.05}
    # Honoured by Redis/SQS, ignored by AMQP. Kombu restores unacked Redis messages only every
    # unacked_restore_interval x unacked_restore_throttle (about 100 s), whatever this says.
    return {"visibility_timeout": settings.celery_visibility_timeout_seconds}


def celery_defaults(settings: BaseServiceSettings) -> dict[str, Any]:
    eager = settings.celery_task_always_eager
    return {
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": settings.celery_task_soft_time_limit_seconds,
        "task_time_limit": settings.celery_task_time_limit_seconds,
        "broker_connection_retry_on_startup": True,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "broker_transport_options": broker_transport_options_for(settings),
        "task_always_eager": eager,
        "task_store_eager_result": False,
        "enable_utc": True,
        "timezone": "UTC",
        MAX_REDELIVERIES_SETTING: settings.celery_max_redeliveries,
        # Long enough to outlive the slowest redelivery (the visibility timeout) several times.
        DELIVERY_COUNT_TTL_SETTING: max(
            86_400,
            settings.celery_visibility_timeout_seconds * (settings.celery_max_redeliveries + 2),
        ),
        TASK_STATE_URL_SETTING: task_state_url_for(settings),
    }


def create_celery_app(
    settings: BaseServiceSettings,
    *,
    name: str | None = None,
    task_modules: Sequence[str] = (),
    as_default: bool = False,
    **overrides: Any,
) -> Celery:
    """Build the service's Celery app; ``overrides`` are Celery settings applied last.

    The app is built with ``set_as_current=False``: building it (in a test, in a tool that
    imports the service) has no process-wide side effect unless asked for. ``as_default=True``
    asks: the app becomes Celery's default app, which ``@shared_task`` tasks and
    ``celery.current_app`` resolve to. Services whose modules use ``@shared_task`` (common in
    code migrated from a plain ``Celery(...)``) need it, or their ``.delay()`` calls go to a
    default app of Celery's own, with no configuration (broker ``amqp://localhost``). It uses
    ``app.set_default()``, not ``set_current()``: the current app is per thread, and FastAPI
    runs sync endpoints and dependencies in a threadpool, whose threads would still see the
    unconfigured default. Being process-wide, it belongs to the one app a process serves.
    """
    app = Celery(
        name or settings.service_name,
        broker=settings.celery_broker_url.get_secret_value(),
        backend=settings.celery_result_backend.get_secret_value(),
        include=list(task_modules),
        task_cls=RedeliveryGuardedTask,
        set_as_current=False,
    )
    app.conf.update(celery_defaults(settings))
    if overrides:
        app.conf.update(overrides)
    connect_request_id_signals()
    connect_worker_logging(app, settings)
    if as_default:
        app.set_default()
    return app
