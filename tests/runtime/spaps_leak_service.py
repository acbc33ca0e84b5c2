"""A service for the secret-leak tests, configured only through the environment.

``uvicorn spaps_leak_service:app`` serves the API and ``celery -A spaps_leak_service worker``
runs the worker, both from one settings loader, as a generated service does. Its routes and
tasks handle secrets the way real code does by accident: echoing headers into a log line,
putting a cookie, an API key and the database URL into an exception, returning a token from
a task, raising with one.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.logging import get_logger
from spaps_server_quickstart.settings import BaseServiceSettings, create_settings_loader
from spaps_server_quickstart.tasks import create_celery_app

get_settings = create_settings_loader(BaseServiceSettings)
settings = get_settings()
logger = get_logger("leak.service")

router = APIRouter()


@router.get("/echo")
async def echo(request: Request) -> dict[str, str]:
    logger.info("echo", headers=dict(request.headers), url=str(request.url))
    logger.info(f"echo url {request.url} headers {request.headers.items()}")
    return {"ok": "yes"}


@router.get("/boom")
async def boom(request: Request) -> None:
    cookie = request.headers.get("cookie", "")
    api_key = request.headers.get("x-api-key", "")
    database_url = settings.database_url.get_secret_value()
    raise RuntimeError(
        f"upstream refused headers {{'Cookie': '{cookie}', 'X-Api-Key': '{api_key}'}}"
        f" [(b'cookie', b'{cookie}')] Authorization: Bearer {api_key}"
        f" at {request.url} while connected to {database_url}"
    )


@router.post("/upload")
async def upload(payload: dict[str, Any]) -> dict[str, int]:
    return {"keys": len(payload)}


# A queue of the test's own: a shared Redis may serve other test runs.
celery_app = create_celery_app(
    settings,
    name="spaps_leak_service",
    task_default_queue=os.environ.get("SPAPS_TEST_QUEUE", "celery"),
)
# With the Celery app, readiness pings the broker: one more error path that could quote a URL.
app = create_app(settings=get_settings, routers=[router], celery_app=celery_app)


@celery_app.task(name="leak.echo", shared=False)
def echo_task(value: str) -> dict[str, str]:
    """Returns its secret argument in every shape a result carries one."""
    return {
        "token": value,
        "note": f"Bearer {value}",
        "url": f"https://partner.example/cb?token={value}",
        "plain": value,
    }


@celery_app.task(name="leak.fail", shared=False)
def fail_task(value: str) -> None:
    raise RuntimeError(f"partner said Cookie: sid={value}; X-Api-Key: {value} api_key={value}")
