"""``call_on_thread``: what the parser's deep stack and the index lookup's deadline stand on."""

from __future__ import annotations

import threading
import time

import pytest

from spaps_cli.thread_call import DeadlinePassed, call_on_thread


def test_the_result_comes_back_from_another_thread() -> None:
    caller = threading.current_thread()
    ran_on: list[threading.Thread] = []

    def work() -> int:
        ran_on.append(threading.current_thread())
        return 42

    assert call_on_thread(work, name="spaps-test") == 42
    assert ran_on[0] is not caller
    assert ran_on[0].name == "spaps-test"


def test_the_exception_is_raised_on_the_caller_s_thread() -> None:
    error = ValueError("from the thread")

    def fail() -> None:
        raise error

    with pytest.raises(ValueError, match="from the thread") as caught:
        call_on_thread(fail, name="spaps-test")
    assert caught.value is error


def test_past_the_deadline_the_caller_goes_on_and_the_thread_is_a_daemon() -> None:
    release = threading.Event()
    started = time.monotonic()
    with pytest.raises(DeadlinePassed, match=r"spaps-test still running after 0\.2s"):
        call_on_thread(release.wait, name="spaps-test", timeout=0.2)
    assert time.monotonic() - started < 2
    stuck = [t for t in threading.enumerate() if t.name == "spaps-test"]
    assert stuck
    assert all(t.daemon for t in stuck)
    release.set()


def test_a_stack_size_is_set_for_the_thread_only() -> None:
    # What the large stack buys (libcst on deep files): tests/migrate/test_deep_nesting.py.
    before = threading.stack_size()
    assert call_on_thread(lambda: 1, name="spaps-test", stack_bytes=64 * 1024 * 1024) == 1
    assert threading.stack_size() == before
