"""The signal guard ``spaps smoke`` runs under: real signals sent to this process."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from spaps_cli.fleet.supervision import StopSignal, stop_on_signals


def _deliver(signum: signal.Signals) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.2)  # Python runs the handler between bytecodes, soon after delivery


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("restored_handlers")
def _work_then_clean_up() -> StopSignal | None:
    """A run in miniature: SIGTERM during the work, SIGHUP during the clean-up."""
    with stop_on_signals() as guard:
        try:
            _deliver(signal.SIGTERM)
        except StopSignal:
            pass
        finally:
            guard.hold()
            _deliver(signal.SIGHUP)  # recorded, not raised: the clean-up runs to its end
    return guard.received


def test_the_first_signal_raises_later_ones_are_recorded_and_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    received = _work_then_clean_up()
    assert received is not None
    assert received.name == "SIGTERM"
    assert received.exit_code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.usefixtures("restored_handlers")
def test_a_signal_the_caller_ignores_stays_ignored() -> None:
    """``nohup spaps smoke``: a hang-up must not stop the run."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    with stop_on_signals() as guard:
        _deliver(signal.SIGHUP)
    assert guard.received is None
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
