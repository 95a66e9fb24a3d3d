"""``status``'s line under a service that is not running as wanted — pure, from made-up
sides (tests/runtime/test_tally.py reads real ones)."""

from runit_provision.health.status import ServiceStatus, side_json
from runit_provision.health.verdict import side_words as side_fact
from runit_provision.cli.status import why_not_running
from runit_provision.protocol.tally import Tally

from ..sides import made_side

NOW = 1_700_000_000 * 10**9


def row(state, tally, want="up", enabled=True):
    return ServiceStatus("web", "/etc/sv/web", None, enabled,
                         made_side(state, 0 if state != "run" else 42, 0, want, True, tally,
                                   NOW), None)


def died(times, status=3 << 8, ran=20_000_000):
    tally = Tally()
    for moment in sorted(times):
        tally.started(7)
        tally.died(status, moment, ran)
    return tally


def test_a_crash_loop_says_how_many_deaths_and_the_last_exit():
    tally = died([NOW - index * 10**9 for index in range(37)])
    assert why_not_running(row("down", tally)) == \
        "crash-looping: 37 deaths in 60 s, last exit 3 after 0.02 s"
    # up at this instant, but dying: still said
    assert why_not_running(row("run", tally)).startswith("crash-looping: 37 deaths")


def test_one_death_by_a_signal_with_a_core():
    tally = died([NOW - 5 * 10**9], status=11 | 0x80, ran=7500 * 10**9)
    assert why_not_running(row("down", tally)) == \
        "last signal 11 (SEGV), core dumped after 2h05m (1 death in 60 s)"


def test_old_deaths_leave_the_window_and_a_running_service_says_nothing():
    tally = died([NOW - 3600 * 10**9 - index * 10**9 for index in range(10)])
    assert why_not_running(row("run", tally)) is None
    assert why_not_running(row("down", tally)) == "last exit 3 after 0.02 s (0 deaths in 60 s)"


def test_unknown_where_no_account_is_kept_and_nothing_for_what_is_not_wanted():
    assert why_not_running(row("down", None)) == \
        "last exit unknown (no account of exits: not our runtime)"
    assert why_not_running(row("down", died([NOW]), want="down")) is None
    assert why_not_running(row("down", died([NOW]), enabled=False)) is None
    assert why_not_running(row("not supervised", None)) is None
    lost = Tally()
    lost.started(7)
    lost.died(None, NOW, None)
    assert why_not_running(row("down", lost)) == \
        "last exit unknown after an unknown time (1 death in 60 s)"


def test_a_service_not_in_the_data_is_marked_and_its_note_says_why_it_was_not_read():
    from runit_provision.cli.status import notes_of

    refused = ServiceStatus("alice/peek", "/home/alice/service/peek", "alice", True,
                            made_side("unknown"), None, declared=False,
                            note="not read: a link of uid 1000's to a directory of uid 0's")
    assert refused.is_wanted and notes_of(refused) == [
        "not in the data: /home/alice/service/peek (apply leaves it alone)",
        "not read: a link of uid 1000's to a directory of uid 0's"]  # no "last exit unknown"
    dying = ServiceStatus("flappy", "/etc/service/fl\x1bappy", None, True,
                          made_side("down", 0, 0, "up", True, died([NOW - 10**9]), NOW), None, declared=False)
    assert notes_of(dying) == [
        "not in the data: /etc/service/fl\\x1bappy (apply leaves it alone)",
        "last exit 3 after 0.02 s (1 death in 60 s)"]
    resting = ServiceStatus("resting", "/etc/service/resting", None, True,
                            made_side("down", 0, 0, "down", False, None, NOW), None,
                            declared=False)
    assert not resting.is_wanted and notes_of(resting) == [
        "not in the data: /etc/service/resting (apply leaves it alone)"]


def test_readiness_is_a_line_under_the_row_and_a_word_in_the_state():
    from runit_provision.cli.status import notes_of, readiness_line
    from runit_provision.protocol.readiness import Readiness

    def ready_row(record):
        return ServiceStatus("db", "/etc/sv/db", None, True,
                             made_side("run", 42, 31, "up", True, None, NOW, record),
                             None)

    starting = ready_row(Readiness("starting", 42, NOW - 31 * 10**9, 0, "replaying WAL", 0, 0))
    assert notes_of(starting) == ["not ready after 31s: replaying WAL"]
    assert starting.main.is_ready is False and starting.main.ready_latency is None
    ready = ready_row(Readiness("ready", 42, NOW - 10**9, NOW - 6 * 10**8, "up\x1b", 0, 0))
    assert readiness_line(ready.main) == "ready after 0.40 s: up\\x1b"
    assert side_json(ready.main)["readiness"]["latency"] == 0.4
    assert side_fact(ready.main)["ready"] == "ready"
    assert readiness_line(ready_row(Readiness("reloading", 42, NOW, NOW, "", 0, 0)).main) \
        == "reloading"
    timed_out = Readiness("starting", 42, NOW, 0, "", 0, 0, "not ready after 90 s")
    assert readiness_line(ready_row(timed_out).main) == \
        "not ready after 0.00 s (runsv ended a run: not ready after 90 s)"
    # a side without readiness: its JSON and fact are as they were before readiness existed
    plain = row("run", None).main
    assert "readiness" not in side_json(plain) and "ready" not in side_fact(plain)
    assert plain.is_ready is None and readiness_line(plain) is None


def test_a_crash_loop_of_exit_0_says_that_runsv_restarts_what_exits():
    """Issue 44 item 7: a ``run`` that does its work and exits 0 is restarted by runsv like
    any other: the line under it says so, and points at what keeps a one-shot down today."""
    from runit_provision.cli.status import notes_of
    from runit_provision.protocol.tally import RESTARTS_WHAT_EXITS

    zero = row("down", died([NOW - index * 10**9 for index in range(12)], status=0))
    assert notes_of(zero) == ["crash-looping: 12 deaths in 60 s, last exit 0 after 0.02 s",
                              RESTARTS_WHAT_EXITS]
    assert "`sv down .`" in RESTARTS_WHAT_EXITS and "`sv once`" in RESTARTS_WHAT_EXITS
    three = row("down", died([NOW - index * 10**9 for index in range(12)]))
    assert notes_of(three) == ["crash-looping: 12 deaths in 60 s, last exit 3 after 0.02 s"]
    assert notes_of(row("run", died([NOW - 3600 * 10**9], status=0))) == []  # as wanted


def test_a_state_that_cannot_be_told_says_why_not_that_the_runtime_keeps_no_account():
    """Issue 44 item 6: ``status`` run by a user who may not read root's ``supervise/`` says
    what it cannot read and why (host/sides.not_readable's words), not "no account of exits:
    not our runtime"."""
    from runit_provision.protocol.sidestate import SideState

    why = ("cannot read /etc/sv/web/supervise: permission denied (supervise/ is root's, 0700, "
           "and this is uid 1000)")
    denied = ServiceStatus("web", "/etc/sv/web", None, True, SideState(unknown=why, now_ns=NOW),
                           None)
    assert denied.main.state == "unknown" and why_not_running(denied) == why


def test_a_restart_waiting_out_the_backoff_is_said_under_the_row_in_json_and_metrics():
    """Our runsv's tally, or the C runit's finish's record (host/sides.side_waiting): status
    says ``restarting in N s (step k of n)``, ``--json`` its numbers, metrics the delay."""
    from runit_provision.cli.status import notes_of
    from runit_provision.health.metrics import exposition
    from runit_provision.protocol.backoff import Waiting

    tally = died([NOW - 10**9])
    tally.waiting = Waiting(3, 2, 6, 8.0, NOW + 5 * 10**9)
    side = made_side("down", 0, 1, "up", True, tally, NOW).replaced(waiting=tally.waiting)
    waiting = ServiceStatus("web", "/etc/sv/web", None, True, side, None)
    assert notes_of(waiting) == ["last exit 3 after 0.02 s (1 death in 60 s)",
                                 "restarting in 5 s (step 2 of 6)"]
    assert side_json(side)["restart"] == {"in": 5.0, "due": NOW / 1e9 + 5, "delay": 8.0,
                                          "step": 2, "steps": 6, "restarts": 3}
    text = exposition([waiting])
    assert 'runit_service_restart_delay_seconds{service="web",tree="system",' \
           'declared="true"} 8.000\n' in text
    assert 'runit_service_restart_step{service="web",tree="system",declared="true"} 2\n' in text
    # a wait that is over is not said; a tally without one says a delay of 0
    over = side.replaced(now_ns=NOW + 10 * 10**9)
    assert over.restart_text is None and "restart" not in notes_of(
        ServiceStatus("web", "/etc/sv/web", None, True, over, None))[-1]
    still = made_side("down", 0, 1, "up", True, died([NOW - 10**9]), NOW)
    assert "runit_service_restart_delay_seconds{" in exposition(
        [ServiceStatus("web", "/etc/sv/web", None, True, still, None)])
    assert "restart" not in side_json(still)
