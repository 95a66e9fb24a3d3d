"""The runsv state machine (runtime.side) with a fake clock and host: no processes at all."""

import signal

import pytest

from runit_provision.protocol.status import State
from runit_provision.runtime.supervision.engine.side import Side, Want, finish_arguments

from ...fakes import EACCES, FakeHost

EXIT_0 = 0
KILLED_BY_TERM = signal.SIGTERM  # a wait status: killed by signal 15


def make(want=Want.UP, **host_options):
    host = FakeHost(**host_options)
    side = Side(host, is_log=False, want=want)
    host.side = side
    return side, host


def started(want=Want.UP, **host_options):
    side, host = make(want, **host_options)
    side.evaluate()
    return side, host


def test_starts_run_when_want_up_and_writes_status():
    side, host = started()
    assert host.spawned == [(101, ["./run"])]
    status = host.last_status
    assert (status.state, status.pid, status.want, status.paused, status.term) == (
        State.RUN, 101, "u", False, False)
    assert status.nanoseconds % 1000 == 500  # runit's usec*1000+500


def test_want_down_does_not_start():
    side, host = started(want=Want.DOWN)
    assert host.spawned == []


def test_down_sends_term_then_cont_and_marks_term():
    side, host = started()
    side.control("d")
    assert host.kills == [(101, signal.SIGTERM), (101, signal.SIGCONT)]
    status = host.last_status
    assert (status.want, status.term, status.state) == ("d", True, State.RUN)
    side.child_exited(101, KILLED_BY_TERM)
    status = host.last_status
    assert (status.state, status.pid, status.term) == (State.DOWN, 0, False)
    assert len(host.spawned) == 1  # not restarted


def test_term_with_want_up_sends_no_cont_and_restarts():
    side, host = started()
    host.clock.advance(5)
    side.control("t")
    assert host.kills == [(101, signal.SIGTERM)]
    side.child_exited(101, KILLED_BY_TERM)
    assert host.spawned[-1] == (102, ["./run"])


def test_finish_gets_runit_arguments_then_down():
    side, host = started(want=Want.UP, has_finish=True)
    host.clock.advance(3)
    side.control("d")
    side.child_exited(101, KILLED_BY_TERM)
    assert host.spawned[-1] == (102, ["./finish", "-1", "15"])
    assert host.last_status.state == State.FINISH
    assert host.last_status.pid == 102
    side.child_exited(102, EXIT_0)
    assert host.last_status.state == State.DOWN
    assert host.last_status.pid == 0


def test_finish_arguments_for_exit_code():
    assert finish_arguments(111 << 8) == ["111", "0"]
    assert finish_arguments(signal.SIGKILL) == ["-1", "9"]


def test_fast_crash_backs_off_without_blocking_controls():
    side, host = started()
    host.clock.advance(0.2)
    side.child_exited(101, 1 << 8)  # lived 0.2 s
    assert len(host.spawned) == 1, "restart must wait for the back-off"
    assert host.last_status.state == State.DOWN and host.last_status.want == "u"
    # Control bytes are served during the back-off (runit would be asleep).
    side.control("p")
    assert host.last_status.paused
    host.clock.advance(1.0)
    host.run_due_timers()
    assert host.spawned[-1] == (102, ["./run"])


def test_down_during_backoff_cancels_the_restart():
    side, host = started()
    side.child_exited(101, 1 << 8)
    side.control("d")
    host.clock.advance(2)
    host.run_due_timers()
    assert len(host.spawned) == 1


def test_slow_crash_restarts_at_once():
    side, host = started()
    host.clock.advance(1.5)
    side.child_exited(101, 1 << 8)
    assert host.spawned[-1] == (102, ["./run"])


def test_exec_failure_reports_like_runit_and_goes_through_finish():
    side, host = make(has_finish=True)
    host.fail_exec["./run"] = EACCES
    side.evaluate()
    assert host.messages == [("fatal", "unable to start ./run", EACCES)]
    assert host.spawned == [(101, ["./finish", "111", "0"])]


def test_once_runs_a_single_time():
    side, host = started(want=Want.DOWN)
    side.control("o")
    assert host.spawned == [(101, ["./run"])]
    assert host.last_status.want == "d"
    host.clock.advance(3)
    side.child_exited(101, EXIT_0)
    assert len(host.spawned) == 1


def test_pause_and_cont_flag_even_without_process():
    side, host = started(want=Want.DOWN)
    side.control("p")
    assert host.last_status.paused and host.kills == []
    side.control("c")
    assert not host.last_status.paused


@pytest.mark.parametrize("letter,signum", [
    ("h", signal.SIGHUP), ("a", signal.SIGALRM), ("i", signal.SIGINT),
    ("q", signal.SIGQUIT), ("1", signal.SIGUSR1), ("2", signal.SIGUSR2),
    ("k", signal.SIGKILL), ("p", signal.SIGSTOP), ("c", signal.SIGCONT)])
def test_signal_bytes(letter, signum):
    side, host = started()
    side.control(letter)
    assert host.kills == [(101, signum)]


def test_unknown_bytes_are_ignored():
    side, host = started()
    before = list(host.statuses)
    for garbage in "\n\0zZ?!":
        side.control(garbage)
    assert host.statuses == before and host.kills == []


def test_kill_during_finish_does_not_rerun_finish():
    side, host = started(has_finish=True)
    host.clock.advance(2)
    side.child_exited(101, 1 << 8)
    finish_pid = host.spawned[-1][0]
    side.control("k")
    assert host.kills[-1] == (finish_pid, signal.SIGKILL)
    side.child_exited(finish_pid, signal.SIGKILL)
    states = [status.state for status, _ in host.statuses]
    # want up restarts ./run at once: from finish to run on disk (no "down" written between)
    assert states[-2:] == [State.FINISH, State.RUN]
    assert sum(1 for _, argv in host.spawned if argv[0] == "./finish") == 1


def test_exit_with_want_exit_status_byte_is_d_and_stat_says_exit():
    side, host = started()
    side.control("x")
    status, word = host.statuses[-1]
    assert status.want == "d" and word == "exit"


def test_hook_suppresses_signal_and_queues_later_events():
    side, host = started(hooks={"t"})
    host.clock.advance(5)
    side.control("d")
    hook_pid, letter = host.hook_runs[-1]
    assert letter == "t" and host.kills == []
    side.control("u")  # arrives while control/t runs: must wait for it
    assert host.last_status.want == "d"
    side.child_exited(hook_pid, 0)  # exit 0: handled, no TERM
    assert (101, signal.SIGTERM) not in host.kills
    assert (101, signal.SIGCONT) in host.kills  # want down still gets CONT
    assert host.last_status.want == "u"


def test_hook_killed_by_signal_is_not_handled():
    side, host = started(hooks={"h"})
    side.control("h")
    hook_pid, _ = host.hook_runs[-1]
    side.child_exited(hook_pid, signal.SIGKILL)
    assert host.kills == [(101, signal.SIGHUP)]


def test_hook_u_runs_before_every_start():
    side, host = started(hooks={"u"})
    hook_pid, letter = host.hook_runs[-1]
    assert letter == "u" and host.spawned == []
    side.child_exited(hook_pid, 1 << 8)  # exit code ignored
    assert host.spawned == [(hook_pid + 1, ["./run"])]


def test_log_side_ignores_x_and_hooks():
    host = FakeHost(hooks={"d", "t"})
    side = Side(host, is_log=True, want=Want.UP)
    host.side = side
    side.evaluate()
    side.control("x")
    assert host.last_status.want == "u" and host.kills == []
    side.control("d")
    assert host.hook_runs == [] and host.kills[0] == (101, signal.SIGTERM)


def test_a_give_up_policy_stops_restarts_until_up():
    side, host = started(give_up=(3, 60))
    for death in range(3):
        pid = host.spawned[-1][0]
        host.clock.advance(2)  # past the back-off: each restart is at once
        side.child_exited(pid, 1 << 8)
        side.evaluate()
    assert len(host.spawned) == 3  # the third death: no fourth start
    assert side.want is Want.DOWN and side.tally.gave_up_ns and side.tally.deaths == 3
    assert host.last_status.want == "d"
    assert any("giving up: 3 deaths within 60 seconds" in str(item) for item in host.messages)
    side.control("u")
    assert len(host.spawned) == 4 and side.tally.gave_up_ns == 0 and side.want is Want.UP
    assert side.tally.recent_ns == ()  # a fresh window: three more deaths to give up again


def test_a_stop_keeps_its_moment_in_the_tally_and_the_deaths_before_it_count_no_more():
    """Issue 44 item 5: ``d``, ``x`` and ``o`` record when the side was wanted down (the
    tally is written with the status they write); two deaths, a stop, ``u`` and one more
    death are one death towards a policy of two — and in status's window."""
    side, host = started(give_up=(2, 60))
    host.clock.advance(2)
    side.child_exited(101, 1 << 8)
    host.clock.advance(2)
    side.control("d")
    side.child_exited(host.spawned[-1][0], KILLED_BY_TERM)  # the stop asked for: no death
    assert side.tally.down_ns == host.clock.time_ns() and side.tally.deaths == 1
    side.control("u")
    host.clock.advance(2)
    side.child_exited(host.spawned[-1][0], 1 << 8)
    side.evaluate()
    assert side.want is Want.UP and side.tally.gave_up_ns == 0  # one death since the stop
    assert side.tally.deaths_within(60, host.clock.time_ns()) == 1
    for letter in "ox":
        host.clock.advance(1)
        side.control(letter)
        assert side.tally.down_ns == host.clock.time_ns(), letter


def test_stops_that_were_asked_for_never_count_towards_giving_up():
    side, host = started(give_up=(2, 60))
    for _ in range(3):
        host.clock.advance(2)
        side.control("t")  # sv restart's TERM: the end was asked for
        side.child_exited(host.spawned[-1][0], KILLED_BY_TERM)
        side.evaluate()
    assert side.want is Want.UP and side.tally.deaths == 0 and len(host.spawned) == 4


def _states(host):
    return [(status.state, status.pid) for status, _ in host.statuses]


def test_a_restart_at_once_goes_from_run_to_run_on_disk():
    """A death restarted at once (want up, no ./finish, past the back-off) writes the new
    run only: runsv's fork writes the new pid while the child execs, and six files on that
    path (pid, stat, status, twice) were most of our respawn time. Every other death writes
    "down" first: a back-off, a control/u hook that runs first, a spawn that fails."""
    side, host = started()
    host.clock.advance(2)
    side.child_exited(101, KILLED_BY_TERM)
    assert _states(host)[-2:] == [(State.RUN, 101), (State.RUN, 102)]
    assert side.tally.deaths == 1 and side.tally.starts == 2  # the death is still counted
    # ... and on disk before the restart: the tally alone (pid 0, the death in it), so that a
    # kill before the new run's files are written loses no death
    assert host.tallies == [(0, 1, 1)]

    side.child_exited(102, KILLED_BY_TERM)  # lived less than 1 s: the back-off
    assert _states(host)[-1] == (State.DOWN, 0)

    side, host = started(hooks={"u"})
    host.clock.advance(2)
    hook_pid, _ = host.hook_runs[-1]
    side.child_exited(hook_pid, 0)
    run_pid = host.spawned[-1][0]
    side.child_exited(run_pid, KILLED_BY_TERM)
    assert _states(host)[-1] == (State.DOWN, 0)  # while control/u runs

    side, host = started()
    host.clock.advance(2)
    host.fail_exec["./run"] = EACCES
    side.child_exited(101, KILLED_BY_TERM)
    assert _states(host)[-1] == (State.DOWN, 0)


def test_a_lost_run_that_starts_again_at_once_writes_only_the_new_run():
    """A process our predecessor started ended while nobody supervised it (adoption.py's
    "lost"): as a death seen, a side that starts again at once writes "run" with the start,
    not "down" just before — the death still counted. One that does not start again at once
    (want down, ./finish to run) writes its state at once."""
    side, host = make()
    side.inherit_lost(State.RUN, 0, False)
    assert host.statuses == []
    side.evaluate()
    assert _states(host) == [(State.RUN, 101)]
    assert side.tally.deaths == 1 and side.tally.starts == 1

    side, host = make(want=Want.DOWN)
    side.inherit_lost(State.RUN, 0, False)
    assert _states(host) == [(State.DOWN, 0)]

    side, host = make(has_finish=True)
    side.inherit_lost(State.RUN, 0, False)
    assert _states(host) == [(State.FINISH, 0)]


def test_a_one_shots_clean_exit_is_no_death_and_its_failure_is_one():
    """Issue 46 §1: the ``oneshot`` file marks a run that is meant to end — its exit 0 is the
    last exit, not a death (no crash loop, no give-up, however often it is run); any other
    end is a death, as a daemon's. A daemon's exit 0 stays a death."""
    side, host = started(give_up=(2, 60))
    host.oneshot = True
    for _ in range(3):
        host.clock.advance(2)
        side.child_exited(host.spawned[-1][0], 0)
        side.control("u")  # run again, as an operator's start does
    assert side.tally.deaths == 0 and side.tally.last_exit == {"code": 0}
    assert side.tally.gave_up_ns == 0 and len(host.spawned) == 4
    host.clock.advance(2)
    side.child_exited(host.spawned[-1][0], 4 << 8)
    assert side.tally.deaths == 1 and side.tally.last_exit == {"code": 4}
    daemon, daemon_host = started()
    daemon_host.clock.advance(2)
    daemon.child_exited(101, 0)
    assert daemon.tally.deaths == 1


@pytest.mark.parametrize("has_finish", [False, True])
@pytest.mark.parametrize("wait_status", [0, 3 << 8, signal.SIGKILL])
def test_a_one_shot_is_recorded_and_kept_down_by_runsv_itself(wait_status, has_finish):
    """Issue 46 §4 (one-shots at boot): our runsv records a one-shot's run (its start, its
    end, how it ended) and keeps it down when ./run ends — done or failed, with a ./finish or
    none — what the rendered finish's ``printf d`` and record do under the C runsv; no restart,
    not even after runit's one-second floor."""
    side, host = started(has_finish=has_finish)
    host.oneshot = True
    started_ns = side.stamp_ns
    host.clock.advance(0.25)
    side.child_exited(101, wait_status)
    assert host.runs == [(wait_status, started_ns, host.clock.time_ns())]
    assert side.want is Want.DOWN
    if has_finish:
        assert host.spawned[-1][1][0] == "./finish"
        side.child_exited(host.spawned[-1][0], 0)
    host.clock.advance(5)
    side.evaluate()
    assert side.state == State.DOWN and host.last_status.want == "d"
    assert [argv[0] for _, argv in host.spawned] == ["./run"] + ["./finish"] * has_finish


@pytest.mark.parametrize("wait_status", [0, 3 << 8, signal.SIGKILL])
def test_the_rendered_one_shot_finish_is_said_by_the_host_not_started(wait_status):
    """Our runsv says the rendered one-shot finish's words itself (Supervisor.said_run_end):
    no ./finish started, the side down at once — no "finish" status written on the way —
    recorded and kept down as with a finish started; a daemon's finish is started still."""
    side, host = started(has_finish=True)
    host.oneshot = host.says_ends = True
    side.child_exited(101, wait_status)
    assert host.ends_said == [wait_status] and len(host.runs) == 1
    assert [argv[0] for _, argv in host.spawned] == ["./run"]
    assert [status.state for status, _ in host.statuses[1:]] == [State.DOWN]
    assert side.state == State.DOWN and side.want is Want.DOWN and side.pid == 0
    daemon, daemon_host = started(has_finish=True)
    daemon_host.says_ends = True
    daemon.child_exited(101, wait_status)
    assert daemon_host.ends_said == [] and daemon_host.spawned[-1][1][0] == "./finish"
