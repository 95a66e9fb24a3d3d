"""The side of a timer (runtime.side with a fake host whose service has a ``schedule``): never
``./run``; wanted up, a start arms the host's timer; ``start_job`` runs ``./job`` then
``./finish``; a failed run is no death; ``o`` runs the job now; ``h`` while waiting re-reads
the schedule, while the job runs goes to it; ``1`` while waiting runs the job now and keeps
the schedule (the host's), while the job runs goes to it as USR1."""

import signal

from runit_provision.protocol.status import State
from runit_provision.runtime.supervision.engine.side import Side, Want

from ...fakes import FakeHost

EXIT_3 = 3 << 8


class TimerHost(FakeHost):
    def __init__(self, **options):
        super().__init__(**options)
        self.arms = self.reloads = self.runs_now = 0

    def is_timer(self):
        return True

    def arm_timer(self):
        self.arms += 1
        self.statuses.append(("armed", None))  # in order with the statuses written

    def timer_control(self, letter):
        if letter == "h":
            self.reloads += 1
        else:
            self.runs_now += 1
            self.side.start_job()


def make(want=Want.UP, **options):
    host = TimerHost(**options)
    side = host.side = Side(host, is_log=False, want=want)
    side.evaluate()
    return side, host


def test_wanted_up_it_arms_and_starts_no_run():
    side, host = make()
    assert host.spawned == [] and host.arms >= 1
    assert (side.state, side.want) == (State.DOWN, Want.UP)
    side, host = make(want=Want.DOWN)
    assert host.spawned == [] and host.arms == 0


def test_an_elapse_runs_the_job_then_finish_and_a_failure_is_no_death():
    side, host = make(has_finish=True)
    assert side.start_job() is True
    assert host.spawned == [(101, ["./job"])] and host.last_status.pid == 101
    assert side.start_job() is False  # running: the host counts it skipped
    side.child_exited(101, EXIT_3)
    assert host.spawned[-1] == (102, ["./finish", "3", "0"])
    side.child_exited(102, 0)
    assert side.state == State.DOWN and side.want is Want.UP
    assert (side.tally.starts, side.tally.deaths) == (1, 0)
    assert side.tally.waiting is None  # no back-off
    arms = host.arms
    side.evaluate()
    assert host.arms > arms and len(host.spawned) == 2  # waits again, no ./run


def test_once_runs_the_job_now_and_stays_down():
    side, host = make()
    side.control("o")
    assert host.spawned == [(101, ["./job"])] and side.want is Want.DOWN
    side.child_exited(101, 0)
    side.evaluate()
    assert len(host.spawned) == 1 and side.state == State.DOWN


def test_hup_reloads_while_waiting_and_goes_to_the_job_while_it_runs():
    side, host = make()
    side.control("h")
    assert host.reloads == 1 and host.kills == []
    side.start_job()
    side.control("h")
    assert host.reloads == 1 and host.kills == [(101, signal.SIGHUP)]


def test_1_runs_the_job_now_while_waiting_and_goes_to_the_job_while_it_runs():
    side, host = make()
    side.control("1")
    assert host.runs_now == 1 and host.spawned == [(101, ["./job"])]
    assert side.want is Want.UP  # the schedule kept: wanted up still
    side.control("1")
    assert host.runs_now == 1 and host.kills[-1] == (101, signal.SIGUSR1)
    side.child_exited(101, 0)
    assert side.state == State.DOWN and side.want is Want.UP


def test_down_terms_the_running_job():
    side, host = make()
    side.start_job()
    side.control("d")
    assert (101, signal.SIGTERM) in host.kills and (101, signal.SIGCONT) in host.kills


def test_a_start_after_a_stop_arms_before_the_status_says_want_up():
    """``u`` of a timer that is off: the status saying want up wakes ``sv -w start``, which
    then reads the timer's record — armed first, the record names the next run, never the
    stop's ``next=0`` (sv said ``waiting, no next run``)."""
    side, host = make()
    side.control("d")
    assert side.want is Want.DOWN
    del host.statuses[:]
    side.control("u")
    written = [(entry[0] if entry[0] == "armed" else entry[1]) for entry in host.statuses]
    assert written[:2] == ["armed", "up"], written
