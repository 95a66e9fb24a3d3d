"""runsv rows of docs/runit-protocol.md §1 pinned on the state machine (docs/conformance.md):
no processes.

What cannot be provoked with real processes here — a failing fork() — and the edge of the
finish arguments that needs a core dump.
"""

import errno
import signal

from runit_provision.protocol.status import State
from runit_provision.runtime.supervision.engine.side import (FORK_RETRY_SECONDS, Side, Want,
                                                             finish_arguments)

from ...fakes import FakeHost


def started(**host_options):
    host = FakeHost(**host_options)
    side = Side(host, is_log=False, want=Want.UP)
    host.side = side
    side.evaluate()
    return side, host


def test_fork_failure_warns_and_retries_every_5_seconds():
    """§1.4 "If fork fails, runsv warns ``unable to fork, sleeping`` and retries every 5 s"."""
    assert FORK_RETRY_SECONDS == 5.0
    host = FakeHost()
    side = Side(host, is_log=False, want=Want.UP)
    host.side = side
    host.fail_exec["./run"] = errno.EAGAIN
    side.evaluate()
    assert host.messages == [("warning", "unable to fork, sleeping")]
    assert host.spawned == [] and side.state == State.DOWN
    host.clock.advance(4.9)
    host.run_due_timers()
    assert host.spawned == []
    del host.fail_exec["./run"]
    host.clock.advance(0.2)
    host.run_due_timers()
    assert host.spawned == [(101, ["./run"])]
    assert host.last_status.state == State.RUN


def test_finish_second_argument_keeps_the_core_dump_bit():
    """§1.4 ``$2`` is ``wstat & 0xff``: the signal number, core-dump bit included."""
    assert finish_arguments(0x80 | signal.SIGSEGV) == ["-1", str(0x80 | signal.SIGSEGV)]
    assert finish_arguments(3 << 8) == ["3", "0"]


def test_no_signal_and_no_hook_reaches_finish():
    """§1.5 signals only in state run; during finish d/x only change want, t does nothing."""
    side, host = started(has_finish=True, hooks=set("haiq12pctdx"))
    host.clock.advance(2)
    side.child_exited(101, 1 << 8)
    finish_pid = host.spawned[-1][0]
    assert host.last_status.state == State.FINISH and host.last_status.pid == finish_pid
    for letter in "haiq12pctdx":
        side.control(letter)
    assert host.kills == [] and host.hook_runs == []
    assert side.want is Want.EXIT and not side.paused  # p then c: the flag alone moved
    side.control("p")
    assert host.last_status.paused and host.kills == []
