"""Settings that production accepts: the baseline each refused configuration changes one thing of.

A test that wants ``env=prod`` to refuse X starts here and sets X, so the refusal it sees is
X's and not some other missing production setting's.
"""

from __future__ import annotations

from typing import Any

PRODUCTION_READY: dict[str, Any] = {
    "env": "prod",
    "auth_mode": "spaps",
    "spaps_api_key": "sk-live-not-a-placeholder",
    "spaps_application_id": "app-orders",
    "auth_local_secret": "x" * 8 + "-a-random-signing-secret-of-40-chars",
    "database_url": "postgresql+asyncpg://orders:pw@db.internal:5432/orders",
    "celery_broker_url": "redis://redis.internal:6379/0",
    "celery_result_backend": "redis://redis.internal:6379/1",
}
