"""The Celery worker logs through the runtime's logging setup, as the API does.

Left alone, ``celery worker`` configures logging itself: plain text in its own format, none of
the request/task ids and none of the redaction, and its "succeeded" line prints each task's
result in full. Connecting a receiver to Celery's ``setup_logging`` signal replaces that
whole step (Celery then installs no handler of its own), and the receiver runs
:func:`~spaps_server_quickstart.logging.configure_logging` with the settings the worker's app
was built from: the same format, level and redaction policy on both sides, task arguments
and results hidden (:class:`~spaps_server_quickstart.logging.TaskPayloadFilter`).

Which settings: ``celeryd_init`` names the worker's app before logging is set up, and
:func:`~spaps_server_quickstart.tasks.app.create_celery_app` recorded the settings of each
app it built. An in-process test worker (``start_worker``) sends no ``celeryd_init``; it gets
the settings of the last app built, as it is the only app such a test runs.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, TextIO

from celery import Celery
from celery.signals import celeryd_init, setup_logging

from spaps_server_quickstart.settings import BaseServiceSettings

_settings_by_app: weakref.WeakKeyDictionary[Celery, BaseServiceSettings] = (
    weakref.WeakKeyDictionary()
)
_state: dict[str, Any] = {"last": None, "worker_app": None, "logfile": None}
_connect_lock = threading.Lock()
_connected = False


def _worker_settings() -> BaseServiceSettings | None:
    worker_app = _state["worker_app"]
    if worker_app is not None:
        settings = _settings_by_app.get(worker_app)
        if settings is not None:
            return settings
    last: BaseServiceSettings | None = _state["last"]
    return last


def _on_worker_init(instance: Any = None, **_: Any) -> None:
    app = getattr(instance, "app", None)
    if isinstance(app, Celery):
        _state["worker_app"] = app


def _on_setup_logging(logfile: str | None = None, **_: Any) -> None:
    settings = _worker_settings()
    if settings is None:  # pragma: no cover - connected only once an app was built
        return
    from spaps_server_quickstart.logging import configure_logging

    stream: TextIO | None = None
    if logfile:
        # --logfile: the same lines, to the file the operator named. Kept open for the
        # worker's life, as Celery's own file handler would be.
        previous = _state["logfile"]
        if previous is not None:
            previous.close()
        stream = open(logfile, "a", encoding="utf-8")  # noqa: SIM115
        _state["logfile"] = stream
    configure_logging(settings, stream=stream)


def connect_worker_logging(app: Celery, settings: BaseServiceSettings) -> None:
    """Make a worker running ``app`` log through :func:`configure_logging` with ``settings``."""
    global _connected
    _settings_by_app[app] = settings
    _state["last"] = settings
    with _connect_lock:
        if _connected:
            return
        celeryd_init.connect(_on_worker_init, weak=False, dispatch_uid="spaps.worker_init")
        setup_logging.connect(_on_setup_logging, weak=False, dispatch_uid="spaps.setup_logging")
        _connected = True
