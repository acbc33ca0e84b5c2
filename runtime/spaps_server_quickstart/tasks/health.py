"""Is the Celery broker reachable? Used by readiness checks and ``spaps doctor``."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from celery import Celery


class BrokerUnavailableError(RuntimeError):
    """The broker could not be reached (or, for ``filesystem://``, its folders are unusable)."""


def broker_ping(celery_app: Celery, timeout: float) -> None:
    """Open a connection and a channel to the broker within ``timeout`` seconds, or raise.

    Blocking (kombu is synchronous): from async code call it in a thread
    (``await anyio.to_thread.run_sync(broker_ping, app, 2.0)``). Opening a *channel* matters:
    for AMQP a TCP connect succeeds even with bad credentials. The socket time-outs are set
    per transport, and the whole check also runs under a hard deadline, because a broker that
    accepts TCP and then says nothing blocks some clients (redis-py without
    ``socket_timeout``) forever.
    """
    outcome: list[BaseException | None] = []

    def check() -> None:
        try:
            _ping(celery_app, timeout)
        except BaseException as error:
            outcome.append(error)
        else:
            outcome.append(None)

    worker = threading.Thread(target=check, name="spaps-broker-ping", daemon=True)
    worker.start()
    worker.join(timeout + 0.5)
    if not outcome:
        raise BrokerUnavailableError(f"broker did not answer within {timeout:g} s")
    error = outcome[0]
    if error is not None:
        raise error


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
