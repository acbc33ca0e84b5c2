"""Celery for SPAPS services: the app factory, request-id propagation and task factories."""

from __future__ import annotations

from spaps_server_quickstart.tasks.app import create_celery_app
from spaps_server_quickstart.tasks.factories import (
    IdempotentTask,
    TransientTaskError,
    create_notification_task,
    create_ping_task,
)
from spaps_server_quickstart.tasks.health import (
    BrokerPingStillRunningError,
    BrokerUnavailableError,
    broker_ping,
)
from spaps_server_quickstart.tasks.redelivery import RedeliveryGuardedTask
from spaps_server_quickstart.tasks.request_id import connect_request_id_signals

__all__ = [
    "BrokerPingStillRunningError",
    "BrokerUnavailableError",
    "IdempotentTask",
    "RedeliveryGuardedTask",
    "TransientTaskError",
    "broker_ping",
    "connect_request_id_signals",
    "create_celery_app",
    "create_notification_task",
    "create_ping_task",
]
