"""A call on a thread of its own, its result or its exception handed back to the caller.

Two parts of the CLI need one, for different reasons: parsing a user's files on a thread with a
large stack (:mod:`spaps_cli.python_source`, and ``spaps migrate``'s one such thread per run:
libcst's native recursion must not depend on ``ulimit -s``), and asking a package index under
one deadline for the whole lookup
(:mod:`spaps_cli.release.index`: httpx's time-outs count per read, so a server that trickles
bytes never trips them). The runtime has its own broker-ping thread
(``spaps_server_quickstart.tasks.health``); the CLI never imports the runtime.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


class DeadlinePassed(Exception):
    """The call was still running when the deadline passed; its daemon thread is left to end."""


def call_on_thread(
    function: Callable[[], _T],
    *,
    name: str,
    timeout: float | None = None,
    stack_bytes: int | None = None,
) -> _T:
    """``function()`` run on a daemon thread: its result, or its exception raised here.

    ``timeout``: seconds to wait, else :class:`DeadlinePassed`; the thread, a daemon, never
    keeps the process from exiting (the caller tells it to stop, if it listens). ``stack_bytes``:
    the thread's stack size; where the system refuses it, or refuses a thread at all, the
    function runs on the calling thread instead (without the deadline).
    """
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # re-raised on the caller's thread
            failure.append(exc)

    thread = start_thread(target, name=name, stack_bytes=stack_bytes)
    if thread is None:  # pragma: no cover - the stack (or a thread) could not be had
        return function()
    thread.join(timeout)
    if failure:
        raise failure[0]
    if not outcome:
        raise DeadlinePassed(f"{name} still running after {timeout:g}s")
    return outcome[0]


def start_thread(
    target: Callable[[], None], *, name: str, stack_bytes: int | None = None
) -> threading.Thread | None:
    """Start ``target`` on a daemon thread with a ``stack_bytes`` stack; None where refused.

    For a caller that hands results back its own way (``spaps migrate`` drains a queue from one
    thread for the whole run). The process-wide stack size is set only while the thread starts.
    """
    previous: int | None = None
    if stack_bytes is not None:
        try:
            previous = threading.stack_size(stack_bytes)
        except (ValueError, RuntimeError):  # pragma: no cover - platform without stack sizes
            return None
    try:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
    except RuntimeError:  # pragma: no cover - the stack (or a thread) could not be had
        return None
    finally:
        if previous is not None:
            threading.stack_size(previous)
    return thread
