"""Is the Celery broker reachable? Used by readiness checks and ``spaps doctor``."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery import Celery


class BrokerUnavailableError(RuntimeError):
    """The broker could not be reached (or, for ``filesystem://``, its folders are unusable)."""


class BrokerPingStillRunningError(BrokerUnavailableError):
    """The previous broker ping has not returned yet; a new one would only pile up threads."""


#: The thread of the last ping per Celery app: at most one per app blocks on a broker.
_ping_threads: weakref.WeakKeyDictionary[Celery, threading.Thread] = weakref.WeakKeyDictionary()
_ping_threads_lock = threading.Lock()


def broker_ping(celery_app: Celery, timeout: float) -> None:
    """Open a connection and a channel to the broker within ``timeout`` seconds, or raise.

    Blocking (kombu is synchronous) for ``timeout + 0.5`` seconds at most: from async code use
    :func:`start_broker_ping`, as ``/health/ready`` does. Opening a *channel* matters: for AMQP
    a TCP connect succeeds even with bad credentials. The socket time-outs are set per
    transport, and the whole check also runs under a hard deadline, because a broker that
    accepts TCP and then says nothing blocks some clients (redis-py without
    ``socket_timeout``) forever.
    """
    outcome: list[BaseException | None] = []
    done = threading.Event()

    def finished(error: BaseException | None) -> None:
        outcome.append(error)
        done.set()

    start_broker_ping(celery_app, timeout, finished)
    if not done.wait(timeout + 0.5):
        raise BrokerUnavailableError(f"broker did not answer within {timeout:g} s")
    error = outcome[0]
    if error is not None:
        raise error


def start_broker_ping(
    celery_app: Celery, timeout: float, on_done: Callable[[BaseException | None], None]
) -> None:
    """Ping the broker on a daemon thread; ``on_done`` gets the error (None: reachable) there.

    The one thread every broker ping runs on, and the only one that can block: one at a time
    per Celery app. While the previous ping of ``celery_app`` is still blocked (a client stuck
    past its own time-outs), this raises :class:`BrokerPingStillRunningError` at once instead of
    leaving one more stuck thread per readiness probe.
    """

    def check() -> None:
        error: BaseException | None = None
        try:
            _ping(celery_app, timeout)
        except BaseException as raised:  # handed to on_done, on the caller's side
            error = raised
        on_done(error)

    with _ping_threads_lock:
        previous = _ping_threads.get(celery_app)
        if previous is not None and previous.is_alive():
            raise BrokerPingStillRunningError("the previous broker ping has not returned yet")
        thread = threading.Thread(target=check, name="spaps-broker-ping", daemon=True)
        _ping_threads[celery_app] = thread
        thread.start()


def _ping(celery_app: Celery, timeout: float) -> None:
    connection = celery_app.connection_for_write(
        connect_timeout=timeout,
        transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    try:
        if connection.transport.driver_type == "filesystem":
            _check_filesystem_folders(connection.transport_options)
        try:
            connection.ensure_connection(max_retries=0, timeout=timeout)
            channel = connection.channel()
            channel.close()
        except Exception as error:
            raise BrokerUnavailableError(
                f"broker {connection.as_uri()} unreachable: {type(error).__name__}: {error}"
            ) from error
    finally:
        connection.release()


def _check_filesystem_folders(options: dict[str, Any]) -> None:
    for option in ("data_folder_in", "data_folder_out"):
        folder = options.get(option)
        if folder is None:
            raise BrokerUnavailableError(f"filesystem broker without {option}")
        path = Path(folder)
        if not path.is_dir() or not os.access(path, os.W_OK | os.R_OK):
            raise BrokerUnavailableError(
                f"filesystem broker folder {path} is missing or not writable"
            )
