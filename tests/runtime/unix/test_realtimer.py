"""runtime/unix/realtimer.py: a real timerfd on CLOCK_REALTIME — it expires at the moment
asked (not before), at once for a moment past, never when disarmed, and reads NOTHING when
nothing happened. (A clock step's ECANCELED is not provoked here: it would set the host's
clock; the engine's tests drive that path through its host.)"""

import os
import select
import time

import pytest

from runit_provision.runtime.unix import realtimer
from runit_provision.runtime.unix.realtimer import (
    CANCELLED, EXPIRED, NOTHING, RealtimeTimer)


@pytest.fixture
def timer():
    made = RealtimeTimer()
    yield made
    made.close()


def readable(timer, seconds):
    return bool(select.select([timer], [], [], seconds)[0])


@pytest.mark.slow
def test_it_expires_at_the_moment_and_not_before(timer):
    """The kernel's timer on the real clock: its claim is a moment, so it is checked by the
    clock, in the slow tier."""
    at = time.time() + 0.3
    timer.arm(int(at * 1e6))
    assert not readable(timer, 0.1)
    assert timer.read() == NOTHING
    assert readable(timer, 5)
    assert time.time() >= at
    assert timer.read() == EXPIRED
    assert timer.read() == NOTHING       # once


def test_a_moment_past_expires_at_once_and_disarmed_never(timer):
    timer.arm(int((time.time() - 60) * 1e6))
    assert readable(timer, 1) and timer.read() == EXPIRED
    timer.arm(int((time.time() + 0.1) * 1e6))
    timer.disarm()
    assert not readable(timer, 0.3)


def test_it_is_close_on_exec_and_non_blocking(timer):
    import fcntl

    assert fcntl.fcntl(timer.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    assert os.get_blocking(timer.fileno()) is False
    timer.close()
    assert timer.fileno() == -1
    timer.close()  # twice is harmless


def test_the_words():
    assert len({CANCELLED, EXPIRED, NOTHING}) == 3
    assert realtimer.TFD_TIMER_CANCEL_ON_SET == 2 and realtimer.TFD_TIMER_ABSTIME == 1
