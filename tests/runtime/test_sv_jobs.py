"""Our sv on a timer and a one-shot (docs/sv.md "Timers and one-shots"): the words it appends
to a job's status part, read from its records, and how each wait judges a job — pure, on a
service directory of files (the real runtimes: tests/cli/test_job_verbs.py)."""

import os

import pytest

from runit_provision.protocol.lastrun import LastRun, last_run_bytes
from runit_provision.protocol.status import State, Status
from runit_provision.protocol.timer import TimerSpec, TimerState, timer_spec_bytes, \
    timer_state_bytes
from runit_provision.runtime.control.waits import ONESHOT, TIMER, is_wait_done, job_doing, job_kind

NOW = 1_800_000_000
NEXT = "2027-01-15T10:00:00Z"


def status(state=State.DOWN, want="u", pid=0):
    return Status(NOW - 40, 0, pid, 0, want, 0, state)


@pytest.fixture
def service(tmp_path, monkeypatch):
    (tmp_path / "supervise").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def timer(service, next_s=1_800_000_000 + 7200, last=None, started=None):
    (service / "schedule").write_bytes(timer_spec_bytes(TimerSpec("daily")))
    (service / "supervise" / "timer").write_bytes(timer_state_bytes(TimerState(
        next_usec=next_s * 10**6, started_usec=started)))
    if last is not None:
        (service / "supervise" / "last-run").write_bytes(last_run_bytes(last))


def ran(code=0, signum=0):
    return LastRun(code, signum, (NOW - 100) * 10**9, (NOW - 99) * 10**9)


@pytest.mark.parametrize("record, side, word, text", [
    (dict(), status(), "waiting", "waiting, next at " + NEXT),
    (dict(last=ran(3)), status(), "waiting",
     "waiting, next at %s, last run failed (exit 3)" % NEXT),
    (dict(last=ran()), status(State.RUN, pid=7), "running", "running, next at " + NEXT),
    (dict(next_s=0), status(State.RUN, "d", pid=7), "running", "running, then off"),
    (dict(next_s=0), status(), "no next run", "waiting, no next run"),
    (dict(next_s=0), status(want="d"), "off", "off"),
    # the C runsv: its waiter runs the whole time; started=0 says no job of it ran yet
    (dict(started=0), status(State.RUN, pid=7), "waiting", "waiting, next at " + NEXT),
])
def test_a_timer_says_what_it_does(service, record, side, word, text):
    timer(service, **record)
    assert job_kind() == TIMER
    assert job_doing(TIMER, side) == (word, text)


@pytest.mark.parametrize("last, side, word, text", [
    (ran(), status(want="d"), "done", "done (exit 0)"),
    (ran(3), status(want="d"), "failed", "failed (exit 3)"),
    (ran(-1, 9), status(want="d"), "failed", "failed (signal 9)"),
    (None, status(State.RUN, pid=7), "running", "running"),
    (None, status(want="d"), "never run", "never run"),
])
def test_a_one_shot_says_what_became_of_its_run(service, last, side, word, text):
    (service / "oneshot").write_bytes(b"")
    if last is not None:
        (service / "supervise" / "last-run").write_bytes(last_run_bytes(last))
    assert job_kind() == ONESHOT
    assert job_doing(ONESHOT, side) == (word, text)


def test_a_record_that_is_not_one_is_unreadable_never_a_verdict(service):
    (service / "oneshot").write_bytes(b"")
    (service / "supervise" / "last-run").write_bytes(b"\x1b[2J garbage")
    assert job_doing(ONESHOT, status(want="d")) == (
        "unreadable", "unreadable (supervise/last-run: not a record of a run)")
    os.remove("oneshot")
    assert job_kind() is None


WAITING, FAILED = (TIMER, "waiting"), (ONESHOT, "failed")


@pytest.mark.parametrize("acts, side, job, done", [
    ("u", status(), WAITING, True),  # start of a waiting timer: armed, ok
    ("u", status(want="d"), (TIMER, "off"), False),  # runsv has not taken the u yet
    ("C", status(), WAITING, True),
    ("C", status(State.RUN, pid=7), (TIMER, "running"), True),
    ("C", status(), (TIMER, "no next run"), False),
    ("tcu", status(), WAITING, True),  # restart: it waits again
    ("C", status(want="d"), (TIMER, "off"), True),  # off, as wanted: runit's down
    ("C", status(want="d"), FAILED, False),
    ("C", status(want="d"), (ONESHOT, "done"), True),
    ("C", status(want="d"), (ONESHOT, "never run"), True),
    ("C", status(State.RUN, pid=7), (ONESHOT, "running"), False),
    ("u", status(State.RUN, pid=7), (ONESHOT, "running"), True),  # runit's own rule
])
def test_each_wait_judges_a_job_by_what_it_does(acts, side, job, done):
    assert is_wait_done(acts, side, None, lambda: True, job) is done
