"""Real workers in this process (``start_worker``, solo pool) on memory://, Redis and RabbitMQ,
and ``broker_ping`` against the same brokers."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from spaps_server_quickstart.request_context import request_id_var
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks import (
    BrokerPingStillRunningError,
    BrokerUnavailableError,
    broker_ping,
    create_celery_app,
    create_ping_task,
)
from spaps_server_quickstart.testing.celery_worker import run_worker_in_thread


def make_app(tmp_path: Path, broker: str, backend: str) -> Celery:
    settings = BaseServiceSettings(
        env="test",
        celery_broker_url=broker,
        celery_result_backend=backend,
        celery_filesystem_folder=str(tmp_path / "celery"),
    )
    # A queue of our own: other test runs may share the broker.
    return create_celery_app(settings, task_default_queue=f"spaps-test-{uuid.uuid4().hex[:8]}")


def assert_request_id_round_trip(app: Celery) -> None:
    ping = create_ping_task(app)
    with run_worker_in_thread(app):
        token = request_id_var.set("req-abc123")
        try:
            result = ping.delay().get(timeout=15, interval=0.05)
        finally:
            request_id_var.reset(token)
        assert result["pong"] is True
        assert result["request_id"] == "req-abc123"
        assert result["task_id"]
        assert ping.delay().get(timeout=15, interval=0.05)["request_id"] is None


def test_in_thread_worker_on_memory_broker(tmp_path: Path) -> None:
    assert_request_id_round_trip(make_app(tmp_path, "memory://", "cache+memory://"))


@pytest.mark.services
def test_in_thread_worker_on_redis(tmp_path: Path, redis_url: str) -> None:
    assert_request_id_round_trip(make_app(tmp_path, redis_url, redis_url))


@pytest.mark.services
def test_in_thread_worker_on_rabbitmq(tmp_path: Path, amqp_url: str, redis_url: str) -> None:
    assert_request_id_round_trip(make_app(tmp_path, amqp_url, redis_url))


def test_broker_ping_filesystem(tmp_path: Path) -> None:
    app = make_app(tmp_path, "filesystem://", "cache+memory://")
    broker_ping(app, timeout=1.0)
    queue = Path(app.conf.broker_transport_options["data_folder_in"])
    queue.rmdir()
    with pytest.raises(BrokerUnavailableError, match="missing or not writable"):
        broker_ping(app, timeout=1.0)


@pytest.mark.services
def test_broker_ping_redis_and_rabbitmq(tmp_path: Path, redis_url: str, amqp_url: str) -> None:
    broker_ping(make_app(tmp_path, redis_url, "cache+memory://"), timeout=2.0)
    broker_ping(make_app(tmp_path, amqp_url, "cache+memory://"), timeout=2.0)


@pytest.mark.services
def test_broker_ping_rejects_bad_rabbitmq_credentials(tmp_path: Path, amqp_url: str) -> None:
    bad = amqp_url.replace("guest:guest@", "guest:wrong-password@")
    with pytest.raises(BrokerUnavailableError, match=r"ACCESS_REFUSED|AccessRefused"):
        broker_ping(make_app(tmp_path, bad, "cache+memory://"), timeout=2.0)


@pytest.fixture
def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """Accepts TCP connections (kernel backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    "scheme", ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}//"]
)
def test_broker_ping_fails_fast_when_nothing_listens(
    tmp_path: Path, dead_port: int, scheme: str
) -> None:
    app = make_app(tmp_path, scheme.format(port=dead_port), "cache+memory://")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="unreachable"):
        broker_ping(app, timeout=1.0)
    assert time.monotonic() - started < 3.0


@pytest.mark.parametrize(
    "scheme", ["redis://127.0.0.1:{port}/0", "amqp://guest:guest@127.0.0.1:{port}//"]
)
def test_broker_ping_honours_the_timeout_when_the_broker_hangs(
    tmp_path: Path, silent_listener: int, scheme: str
) -> None:
    app: Any = make_app(tmp_path, scheme.format(port=silent_listener), "cache+memory://")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError):
        broker_ping(app, timeout=0.5)
    assert time.monotonic() - started < 3.0


def test_broker_ping_is_one_thread_at_a_time_per_app(tmp_path: Path, silent_listener: int) -> None:
    # While a ping is blocked on a broker that says nothing, a second ping of the same app says
    # so at once instead of blocking a second thread; once the first returns, pings go on.
    import threading

    app: Any = make_app(tmp_path, f"redis://127.0.0.1:{silent_listener}/0", "cache+memory://")
    first: list[BaseException] = []
    before = set(threading.enumerate())

    def ping_threads() -> list[threading.Thread]:
        return [
            t for t in threading.enumerate() if t.name == "spaps-broker-ping" and t not in before
        ]

    def ping_first() -> None:
        try:
            broker_ping(app, timeout=1.0)
        except BaseException as error:
            first.append(error)

    caller = threading.Thread(target=ping_first)
    caller.start()
    deadline = time.monotonic() + 5
    while not ping_threads():
        assert time.monotonic() < deadline, "the first ping never started its thread"
        time.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(BrokerPingStillRunningError, match="has not returned yet"):
        broker_ping(app, timeout=1.0)
    assert time.monotonic() - started < 0.5
    caller.join(10)
    assert len(first) == 1
    assert isinstance(first[0], BrokerUnavailableError)
    assert not isinstance(first[0], BrokerPingStillRunningError)
    while ping_threads():
        assert time.monotonic() < deadline + 5, "the ping thread outlived its deadline"
        time.sleep(0.01)
    with pytest.raises(BrokerUnavailableError) as again:
        broker_ping(app, timeout=0.3)
    assert not isinstance(again.value, BrokerPingStillRunningError)


@pytest.fixture
def restore_default_celery_app() -> Iterator[None]:
    """``as_default=True`` changes a process-wide global: put Celery's own default back."""
    from celery import _state

    previous = _state.default_app
    try:
        yield
    finally:
        _state.set_default_app(previous)


@pytest.mark.usefixtures("restore_default_celery_app")
def test_as_default_sends_shared_tasks_to_the_services_broker_from_any_thread(
    tmp_path: Path, redis_url: str
) -> None:
    """FastAPI runs sync endpoints in a threadpool: the default app, not the current one."""
    import threading

    import redis as redis_lib
    from celery import current_app, shared_task

    queue = f"spaps-test-{uuid.uuid4().hex[:8]}"
    settings = BaseServiceSettings(
        env="test",
        celery_broker_url=redis_url,
        celery_result_backend="cache+memory://",
        celery_filesystem_folder=str(tmp_path / "celery"),
    )
    celery_app = create_celery_app(settings, as_default=True, task_default_queue=queue)

    @shared_task(name=f"tests.shared_{queue}")
    def shared() -> str:
        return "ran"  # pragma: no cover - no worker consumes the queue

    seen: dict[str, Any] = {}

    def endpoint() -> None:  # what a sync FastAPI endpoint would do, in another thread
        seen["current"] = current_app._get_current_object()
        seen["bound"] = shared.app
        seen["task_id"] = shared.delay().id

    worker = threading.Thread(target=endpoint)
    worker.start()
    worker.join(timeout=10)
    redis = redis_lib.Redis.from_url(redis_url)
    try:
        assert seen["current"] is celery_app
        assert seen["bound"] is celery_app
        [message] = redis.lrange(queue, 0, -1)
        assert seen["task_id"] in message.decode()
    finally:
        redis.delete(queue)
        redis.close()


def test_apps_are_not_made_default_unless_asked(tmp_path: Path) -> None:
    from celery import _state

    before = _state.default_app
    make_app(tmp_path, "memory://", "cache+memory://")
    assert _state.default_app is before
