"""``celery worker`` as a separate program: prefork on real Redis, and the filesystem broker.

The worker's app is ``spaps_runtime_worker_tasks`` configured only through environment
variables. Every worker is started in its own process group and killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from spaps_server_quickstart.request_context import request_id_var
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks import create_celery_app
from spaps_server_quickstart.tasks.redelivery import delivery_count_key

HERE = Path(__file__).parent
MAX_REDELIVERIES = 1


def start_worker_process(env: dict[str, str], cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "spaps_runtime_worker_tasks",
        "worker",
        "--loglevel",
        "WARNING",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "-n",
        f"spaps-test-{uuid.uuid4().hex[:8]}@%h",
        *args,
    ]
    full_env = {
        **os.environ,
        **env,
        "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.Popen(command, env=full_env, cwd=cwd, start_new_session=True)


def stop_worker_process(process: subprocess.Popen[bytes]) -> None:
    """Warm shutdown first, then SIGKILL the whole group (pool children included)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class RedisWorker:
    def __init__(self, app: Celery, redis: Any) -> None:
        self.app = app
        self.redis = redis


@pytest.fixture(scope="module")
def redis_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisWorker]:
    import redis as redis_lib
    from spaps_server_quickstart.testing.services import REDIS_URL, require_service

    require_service("Redis", REDIS_URL)
    queue = f"spaps-test-{uuid.uuid4().hex[:8]}"
    env = {
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_MAX_REDELIVERIES": str(MAX_REDELIVERIES),
        "SPAPS_TEST_QUEUE": queue,
    }
    process = start_worker_process(
        env, tmp_path_factory.mktemp("redis-worker"), "--pool", "prefork", "--concurrency", "1"
    )
    try:
        settings = BaseServiceSettings(
            env="test",
            celery_broker_url=REDIS_URL,
            celery_result_backend=REDIS_URL,
            redis_url=REDIS_URL,
        )
        app = create_celery_app(settings, task_default_queue=queue)
        # The worker is ready when it answers.
        app.send_task("spaps.ping").get(timeout=30, interval=0.05)
        yield RedisWorker(app, redis_lib.Redis.from_url(REDIS_URL))
    finally:
        stop_worker_process(process)


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.services
def test_worker_process_receives_the_publishers_request_id(redis_worker: RedisWorker) -> None:
    token = request_id_var.set("req-subprocess-1")
    try:
        result = redis_worker.app.send_task("spaps.ping").get(timeout=15, interval=0.05)
    finally:
        request_id_var.reset(token)
    assert result["request_id"] == "req-subprocess-1"
    assert result["pong"] is True


@pytest.mark.services
def test_killing_the_pool_child_mid_task_does_not_lose_the_task(redis_worker: RedisWorker) -> None:
    marker = f"spaps-test:{uuid.uuid4().hex}"
    result = redis_worker.app.send_task("tests.slow_attempt", args=[marker, 60])
    first_pid = int(wait_for(lambda: redis_worker.redis.get(f"{marker}:pid:1"), 15, "attempt 1"))
    os.kill(first_pid, signal.SIGKILL)
    outcome = result.get(timeout=30, interval=0.05)
    assert outcome["attempts"] == 2
    assert outcome["pid"] != first_pid


@pytest.mark.services
def test_redelivery_guard_stops_a_poison_message(redis_worker: RedisWorker) -> None:
    marker = f"spaps-test:{uuid.uuid4().hex}"
    result = redis_worker.app.send_task("tests.poison", args=[marker])
    deliveries_key = delivery_count_key(result.id, 0)
    wait_for(
        lambda: int(redis_worker.redis.get(deliveries_key) or 0) > 1 + MAX_REDELIVERIES,
        60,
        "the guard to see the over-limit delivery",
    )
    time.sleep(1.0)  # a message that was requeued once more would run again within this
    assert int(redis_worker.redis.get(f"{marker}:runs")) == 1 + MAX_REDELIVERIES
    assert int(redis_worker.redis.get(deliveries_key)) == 2 + MAX_REDELIVERIES
    # and the worker is healthy afterwards
    assert redis_worker.app.send_task("spaps.ping").get(timeout=15, interval=0.05)["pong"]


def test_filesystem_broker_works_across_two_processes(tmp_path: Path) -> None:
    backend = f"db+sqlite:///{tmp_path / 'results.sqlite'}"
    folder = tmp_path / "broker"
    env = {
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_RESULT_BACKEND": backend,
        "CELERY_FILESYSTEM_FOLDER": str(folder),
    }
    process = start_worker_process(env, tmp_path, "--pool", "solo")
    try:
        settings = BaseServiceSettings(
            env="test",
            celery_broker_url="filesystem://",
            celery_result_backend=backend,
            celery_filesystem_folder=str(folder),
        )
        app = create_celery_app(settings, task_default_queue="spaps-runtime-tests")
        token = request_id_var.set("req-filesystem")
        try:
            result = app.send_task("spaps.ping").get(timeout=30, interval=0.05)
        finally:
            request_id_var.reset(token)
        assert result["request_id"] == "req-filesystem"
        assert result["pong"] is True
        assert process.poll() is None
    finally:
        stop_worker_process(process)
