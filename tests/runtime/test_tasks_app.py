"""create_celery_app defaults, eager-mode request ids and the task factories (no worker)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from spaps_server_quickstart.request_context import request_id_var, task_id_var
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks import (
    IdempotentTask,
    RedeliveryGuardedTask,
    TransientTaskError,
    create_celery_app,
    create_notification_task,
    create_ping_task,
)
from spaps_server_quickstart.tasks.request_id import connect_request_id_signals
from spaps_server_quickstart.tasks.task_state import (
    RedisTaskStateStore,
    SqliteTaskStateStore,
    open_task_state_store,
    task_state_url_for,
)


def settings(tmp_path: Path, **extra: Any) -> BaseServiceSettings:
    values: dict[str, Any] = {
        "env": "test",
        "celery_broker_url": "memory://",
        "celery_result_backend": "cache+memory://",
        "celery_filesystem_folder": str(tmp_path / "celery"),
        **extra,
    }
    return BaseServiceSettings(**values)


def eager_app(tmp_path: Path, **overrides: Any) -> Celery:
    return create_celery_app(settings(tmp_path, celery_task_always_eager=True), **overrides)


def test_safe_defaults(tmp_path: Path) -> None:
    app = create_celery_app(
        settings(tmp_path, celery_max_redeliveries=4, celery_broker_url="redis://127.0.0.1:1/0"),
        task_modules=["my_service.tasks"],
    )
    conf = app.conf
    assert (conf.task_serializer, conf.result_serializer, conf.accept_content) == (
        "json",
        "json",
        ["json"],
    )
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_retry_on_startup is True
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is True
    assert (
        conf.task_soft_time_limit
        < conf.task_time_limit
        < conf.broker_transport_options["visibility_timeout"]
    )
    assert conf.task_always_eager is False
    assert conf.spaps_max_redeliveries == 4
    assert "my_service.tasks" in app.conf.include
    assert issubclass(app.Task, RedeliveryGuardedTask)


def test_overrides_win(tmp_path: Path) -> None:
    app = create_celery_app(settings(tmp_path), name="svc", worker_prefetch_multiplier=4)
    assert app.main == "svc"
    assert app.conf.worker_prefetch_multiplier == 4


def test_pickle_is_refused_on_publish(tmp_path: Path) -> None:
    app = eager_app(tmp_path)

    @app.task(shared=False)
    def takes_a_set(values: Any) -> int:
        return len(values)

    with pytest.raises(Exception, match=r"not JSON serializable|EncodeError"):
        takes_a_set.delay({1, 2})


def test_filesystem_broker_folders_are_created(tmp_path: Path) -> None:
    folder = tmp_path / "broker"
    app = create_celery_app(
        settings(tmp_path, celery_broker_url="filesystem://", celery_filesystem_folder=str(folder))
    )
    options = app.conf.broker_transport_options
    assert options["data_folder_in"] == options["data_folder_out"] == str(folder / "queue")
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        assert Path(options[key]).is_dir()


def test_task_state_store_choice(tmp_path: Path) -> None:
    assert (
        task_state_url_for(settings(tmp_path, redis_url="redis://r:6379/1")) == "redis://r:6379/1"
    )
    assert (
        task_state_url_for(settings(tmp_path, celery_broker_url="redis://b:6379/2"))
        == "redis://b:6379/2"
    )
    url = task_state_url_for(settings(tmp_path))
    assert url.startswith("sqlite:///")
    assert url.endswith("task-state.sqlite")
    assert isinstance(open_task_state_store(url), SqliteTaskStateStore)
    with pytest.raises(ValueError, match="unsupported"):
        open_task_state_store("memcached://x")


def test_eager_mode_keeps_the_callers_request_id(tmp_path: Path) -> None:
    ping = create_ping_task(eager_app(tmp_path))
    token = request_id_var.set("req-eager-1")
    try:
        result = ping.delay().get()
        assert result["pong"] is True
        assert result["request_id"] == "req-eager-1"
        assert result["task_id"]
        # postrun restored the caller's context
        assert request_id_var.get() == "req-eager-1"
        assert task_id_var.get() is None
    finally:
        request_id_var.reset(token)


def test_signal_connection_is_idempotent(tmp_path: Path) -> None:
    from celery.signals import before_task_publish

    connect_request_id_signals()
    connect_request_id_signals()
    create_celery_app(settings(tmp_path))
    receivers = [r for r in before_task_publish.receivers if "spaps.request_id" in str(r[0])]
    assert len(receivers) == 1


def test_notification_retries_transient_errors_then_succeeds(tmp_path: Path) -> None:
    attempts: list[dict[str, Any]] = []

    def send(payload: Any) -> str:
        attempts.append(dict(payload))
        if len(attempts) < 3:
            raise TransientTaskError("partner 503")
        return "sent"

    notify = create_notification_task(eager_app(tmp_path), send, max_retries=5)
    assert notify.delay({"user_id": 7}).get() == "sent"
    assert attempts == [{"user_id": 7}] * 3
    assert notify.retry_jitter is True
    assert notify.retry_backoff


def test_notification_retries_are_bounded(tmp_path: Path) -> None:
    calls = 0

    def send(payload: Any) -> None:
        nonlocal calls
        calls += 1
        raise ConnectionError("still down")

    notify = create_notification_task(eager_app(tmp_path), send, max_retries=2)
    with pytest.raises(ConnectionError):
        notify.delay({}).get()
    assert calls == 3


def test_notification_does_not_retry_permanent_errors(tmp_path: Path) -> None:
    calls = 0

    def send(payload: Any) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("bad address")

    notify = create_notification_task(eager_app(tmp_path), send)
    with pytest.raises(ValueError, match="bad address"):
        notify.delay({}).get()
    assert calls == 1


def test_unbounded_retries_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_retries"):
        create_notification_task(eager_app(tmp_path), print, max_retries=-1)


def _idempotency_scenario(app: Celery) -> None:
    effects: list[str] = []
    fail_next = [False]

    @app.task(base=IdempotentTask, shared=False, name=f"charge-{uuid.uuid4().hex[:6]}")
    def charge(order_id: int, idempotency_key: str) -> str:
        if fail_next[0]:
            fail_next[0] = False
            raise RuntimeError("card declined")
        effects.append(idempotency_key)
        return "charged"

    key = f"order-{uuid.uuid4().hex}"
    assert (
        charge.apply(kwargs={"order_id": 1, "idempotency_key": key}, task_id="t-1").get()
        == "charged"
    )
    # a second message with the same business key is skipped
    assert charge.apply(kwargs={"order_id": 1, "idempotency_key": key}, task_id="t-2").get() is None
    # a redelivery of the first message (same task id) still runs
    assert (
        charge.apply(kwargs={"order_id": 1, "idempotency_key": key}, task_id="t-1").get()
        == "charged"
    )
    assert effects == [key, key]
    # a failed run releases the claim so the work can be submitted again
    other = f"order-{uuid.uuid4().hex}"
    fail_next[0] = True
    with pytest.raises(RuntimeError):
        charge.apply(kwargs={"order_id": 2, "idempotency_key": other}, task_id="t-3").get()
    assert (
        charge.apply(kwargs={"order_id": 2, "idempotency_key": other}, task_id="t-4").get()
        == "charged"
    )
    with pytest.raises(TypeError, match="idempotency_key"):
        charge.apply(kwargs={"order_id": 3}, task_id="t-5").get()


def test_idempotent_task_with_the_sqlite_store(tmp_path: Path) -> None:
    app = create_celery_app(settings(tmp_path), task_eager_propagates=True)
    _idempotency_scenario(app)


@pytest.mark.services
def test_idempotent_task_with_the_redis_store(tmp_path: Path, redis_url: str) -> None:
    app = create_celery_app(settings(tmp_path, redis_url=redis_url), task_eager_propagates=True)
    _idempotency_scenario(app)


@pytest.mark.services
def test_redis_store_primitives(redis_url: str) -> None:
    store = RedisTaskStateStore(redis_url)
    key = f"spaps:test:{uuid.uuid4().hex}"
    assert [store.increment(key, 60) for _ in range(3)] == [1, 2, 3]
    claim = f"{key}:claim"
    assert store.claim(claim, "a", 60)
    assert store.claim(claim, "a", 60)
    assert not store.claim(claim, "b", 60)
    store.release(claim)
    assert store.claim(claim, "b", 60)
    store.release(claim)
    store.release(key)


def test_sqlite_store_primitives(tmp_path: Path) -> None:
    store = SqliteTaskStateStore(tmp_path / "state.sqlite")
    assert [store.increment("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.increment("short", -1) == 1  # already expired: starts over
    assert store.increment("short", 60) == 1
    assert store.claim("c", "a", 60)
    assert not store.claim("c", "b", 60)
    store.release("c")
    assert store.claim("c", "b", 60)


def _guarded_task(app: Celery) -> Any:
    @app.task(shared=False, name=f"guarded-{uuid.uuid4().hex[:6]}")
    def guarded() -> None:
        return None

    return guarded


def test_redelivery_guard_counts_per_task_id_and_retry(tmp_path: Path) -> None:
    from celery.exceptions import Reject

    app = create_celery_app(settings(tmp_path, celery_max_redeliveries=2))
    task = _guarded_task(app)
    task.push_request(id="message-1", retries=0, is_eager=False)
    try:
        for _ in range(3):  # first delivery + 2 redeliveries
            task._guard_redelivery()
        with pytest.raises(Reject) as rejected:
            task._guard_redelivery()
        assert rejected.value.requeue is False
    finally:
        task.pop_request()
    # a retry of the same message has its own budget
    task.push_request(id="message-1", retries=1, is_eager=False)
    try:
        task._guard_redelivery()
    finally:
        task.pop_request()


def test_redelivery_guard_lets_tasks_run_when_its_store_is_down(tmp_path: Path) -> None:
    app = create_celery_app(
        settings(tmp_path, celery_max_redeliveries=0), spaps_task_state_url="redis://127.0.0.1:1/0"
    )
    task = _guarded_task(app)
    task.push_request(id="message-2", retries=0, is_eager=False)
    try:
        task._guard_redelivery()
        task._guard_redelivery()  # would be rejected if the count were available
    finally:
        task.pop_request()
