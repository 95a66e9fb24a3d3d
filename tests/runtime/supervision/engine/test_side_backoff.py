"""Restart back-off in the runsv state machine (side.py) with a fake clock: the delay of each
step, the series' reset after a run that stayed up, jitter's bounds, the give-up policy beside
it, and control bytes during the wait (docs/restart.md)."""

import errno
import signal

from runit_provision.protocol.backoff import Backoff
from runit_provision.protocol.status import State
from runit_provision.protocol.tally import tally_bytes, tally_from_bytes
from runit_provision.runtime.supervision.engine.side import Want

from .test_side import make, started

EXIT_1 = 1 << 8


def crash(side, host, ran=0.1):
    """The running ./run dies (exit 1) after ``ran`` seconds; the pid that died."""
    host.clock.advance(ran)
    pid = host.spawned[-1][0]
    side.child_exited(pid, EXIT_1)
    return pid


def delay_before_restart(side, host, limit=1000.0):
    """Seconds the fake clock moves until the next ./run starts (None: it never does within
    ``limit``): to each pending timer in turn, firing it."""
    count, start = len(host.spawned), host.clock.now
    while len(host.spawned) == count:
        pending = [timer.when for timer in host.timers if not timer.cancelled]
        if not pending or min(pending) - start > limit:
            return None
        host.clock.now = max(host.clock.now, min(pending))
        host.run_due_timers()
    return round(host.clock.now - start, 2)


def test_each_restart_waits_its_step_up_to_the_maximum():
    side, host = started(backoff=Backoff(1, 16, 4))
    waits = []
    for _ in range(6):
        crash(side, host, ran=2)
        waits.append(delay_before_restart(side, host))
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 16.0]
    assert side.tally.waiting.restarts == 6 and side.tally.waiting.step == 4


def test_runits_one_second_floor_stays_under_a_shorter_delay():
    side, host = started(backoff=Backoff(0.2, 0.4, 1))
    crash(side, host, ran=0.1)  # under 1 s: runsv's own back-off is the floor
    assert delay_before_restart(side, host) == 1.0
    crash(side, host, ran=3)
    assert delay_before_restart(side, host) == 0.4


def test_a_run_that_stays_up_the_reset_time_begins_a_new_series():
    side, host = started(backoff=Backoff(1, 8, 3, reset=30))
    for expected in (1.0, 2.0, 4.0):
        crash(side, host, ran=2)
        assert delay_before_restart(side, host) == expected
    crash(side, host, ran=30)  # stayed up 30 s: the death is the first of a new series
    assert delay_before_restart(side, host) == 1.0
    assert side.tally.waiting.restarts == 1


def test_jitter_adds_at_most_its_seconds():
    for fraction, expected in ((0.0, 2.0), (0.5, 3.5), (1.0, 5.0)):
        side, host = started(backoff=Backoff(2, 2, 0, jitter=3), jitter=fraction)
        crash(side, host, ran=2)
        assert delay_before_restart(side, host) == expected, fraction
        assert side.tally.waiting.delay == expected


def test_the_wait_is_on_record_with_its_step_while_down():
    side, host = started(backoff=Backoff(1, 16, 4))
    crash(side, host, ran=2)
    crash_at = host.clock.time_ns()
    assert delay_before_restart(side, host) == 1.0
    crash(side, host, ran=2)
    status = host.last_status
    assert status.state == State.DOWN and status.want == "u"
    waiting = side.tally.waiting
    assert (waiting.restarts, waiting.step, waiting.steps, waiting.delay) == (2, 1, 4, 2.0)
    assert waiting.due_ns == host.clock.time_ns() + 2_000_000_000 > crash_at
    assert waiting.text(host.clock.time_ns()) == "restarting in 2 s (step 1 of 4)"
    # the record goes to disk with the tally, and comes back
    assert tally_from_bytes(tally_bytes(side.tally)).waiting == waiting
    delay_before_restart(side, host)
    assert side.tally.waiting.due_ns == 0 and side.state == State.RUN


def test_down_during_the_wait_cancels_the_restart_and_ends_the_series():
    side, host = started(backoff=Backoff(10, 100, 2))
    crash(side, host, ran=2)
    host.clock.advance(1)
    side.control("d")
    assert side.want is Want.DOWN and side.tally.waiting.due_ns == 0
    assert delay_before_restart(side, host, limit=200) is None
    assert side.tally.waiting.restarts == 0
    side.control("u")  # a new series: the next death waits the first delay again
    assert len(host.spawned) == 2
    crash(side, host, ran=2)
    assert delay_before_restart(side, host) == 10.0


def test_up_during_the_wait_starts_at_once_and_begins_a_new_series():
    side, host = started(backoff=Backoff(10, 100, 2))
    crash(side, host, ran=2)
    host.clock.advance(1)
    side.control("u")
    assert len(host.spawned) == 2 and side.state == State.RUN
    host.run_due_timers()
    host.clock.advance(20)
    host.run_due_timers()
    assert len(host.spawned) == 2  # the cancelled wait starts nothing more
    crash(side, host, ran=2)  # as systemd flushes its count at a start it was asked for
    assert side.tally.waiting.restarts == 1
    assert delay_before_restart(side, host) == 10.0
    crash(side, host, ran=2)
    assert delay_before_restart(side, host) == 31.62  # 10 * 10 ** 0.5


def test_up_during_the_wait_keeps_runits_floor():
    side, host = started(backoff=Backoff(10))
    crash(side, host, ran=0.2)
    host.clock.advance(0.3)
    side.control("u")
    assert len(host.spawned) == 1  # the floor: runsv waits 1 s after a run under 1 s
    assert delay_before_restart(side, host) == 0.7


def test_once_and_exit_during_the_wait():
    side, host = started(backoff=Backoff(10))
    crash(side, host, ran=2)
    side.control("o")
    assert len(host.spawned) == 2 and side.want is Want.DOWN
    side, host = started(backoff=Backoff(10))
    crash(side, host, ran=2)
    side.control("x")
    assert side.want is Want.EXIT and delay_before_restart(side, host, 50) is None


def test_the_wait_comes_after_finish():
    side, host = started(backoff=Backoff(5), has_finish=True)
    crash(side, host, ran=2)
    assert host.spawned[-1][1][0] == "./finish" and side.tally.waiting.due_ns == 0
    host.clock.advance(3)  # the finish takes 3 s: the wait begins when it ends
    side.child_exited(host.spawned[-1][0], 0)
    assert delay_before_restart(side, host) == 5.0


def test_give_up_composes_with_the_steps():
    side, host = started(backoff=Backoff(1, 4, 2), give_up=(3, 60))
    crash(side, host, ran=2)
    assert delay_before_restart(side, host) == 1.0
    crash(side, host, ran=2)
    assert delay_before_restart(side, host) == 2.0
    crash(side, host, ran=2)  # the third death within 60 s: given up, no wait, no restart
    assert side.want is Want.DOWN and side.tally.gave_up_ns
    assert side.tally.waiting.due_ns == 0 and delay_before_restart(side, host, 50) is None


def test_a_stop_asked_for_is_no_step():
    side, host = started(backoff=Backoff(10, 100, 2))
    host.clock.advance(2)
    side.control("t")  # sv restart's TERM
    side.child_exited(host.spawned[-1][0], signal.SIGTERM)
    assert len(host.spawned) == 2 and side.tally.waiting is None


def test_without_a_policy_nothing_changes():
    side, host = started()
    crash(side, host, ran=2)
    assert len(host.spawned) == 2 and side.tally.waiting is None


def test_a_wait_a_killed_predecessor_left_goes_on_to_its_end():
    from runit_provision.protocol.backoff import Waiting
    from runit_provision.protocol.tally import Tally

    side, host = make_with(Backoff(10))
    side.tally = Tally(waiting=Waiting(2, 0, 0, 10.0, host.clock.time_ns() + 4 * 10**9))
    side.resume_backoff()
    side.evaluate()
    assert host.spawned == [] and delay_before_restart(side, host) == 4.0
    # a record whose time has passed, or one far off (the clock stepped): no longer than it said
    side, host = make_with(Backoff(10))
    side.tally = Tally(waiting=Waiting(2, 0, 0, 10.0, host.clock.time_ns() - 10**9))
    side.resume_backoff()
    side.evaluate()
    assert len(host.spawned) == 1 and side.tally.waiting.due_ns == 0
    side, host = make_with(Backoff(10))
    side.tally = Tally(waiting=Waiting(2, 0, 0, 10.0, host.clock.time_ns() + 3600 * 10**9))
    side.resume_backoff()
    side.evaluate()
    assert delay_before_restart(side, host) == 10.0


def make_with(policy):
    from .test_side import make
    return make(backoff=policy)


def test_up_while_a_failed_fork_waits_its_retry_starts_one_run():
    """``u`` of a service down and wanted up, its start postponed by a fork that failed: it
    starts now, and the retry that was pending starts nothing more (sv sends ``u`` whatever
    runsv wants: control/session.Session.send)."""
    side, host = make(Want.UP)
    host.fail_exec["./run"] = errno.EAGAIN
    side.evaluate()
    assert host.spawned == [] and ("warning", "unable to fork, sleeping") in [
        message[:2] for message in host.messages]
    del host.fail_exec["./run"]
    side.control("u")
    assert len(host.spawned) == 1 and side.state == State.RUN
    host.clock.advance(10)
    host.run_due_timers()
    assert len(host.spawned) == 1, host.spawned
