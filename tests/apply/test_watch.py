"""The watch after an apply's steps (apply/watch.py), its pure parts: which sides a step
started, what one look at a side says (our runtime's tally, or the C runit's status alone,
look after look), and the loop — driven by a fake clock, so that a healthy side costs two
looks, a run that fails until what it needs is up is up, a crash loop is reported once it
died as often as ``status`` calls crash-looping, and the watch ends as soon as every side is
decided, or at ``--wait``. The real processes: test_live.py."""

import pytest

from runit_provision.apply.report import not_up_json, not_up_line, not_up_summary
from runit_provision.apply.steps import Action, Phase, ServiceStep, Side, WaitStep
from runit_provision.apply.watch import (
    RECHECK, START_GRACE, STAYED_UP, Look, Memory, NotUp, Outcome, Start, Watched, asked_side,
    judge, started_sides, watch)
from runit_provision.host.sides import NOT_SUPERVISED
from runit_provision.protocol.sidestate import SideState
from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import Tally

from .helpers import desired_from_text

NS = 1_000_000_000
BEGAN, ASKED = 1000.0, 1000.2  # the apply began; the step that started the side ended
NEW = Watched(None, Side.MAIN, "/sv/web", "web", BEGAN, ASKED, Start.NEW)  # a wait's
RESTARTED = Watched(None, Side.MAIN, "/sv/web", "web", 1000.1, ASKED, Start.RESTART)


def status(state, since, pid=None, want="u"):
    pid = (0 if state == "down" else 42) if pid is None else pid
    return SideState(True, Status(int(since), round(since % 1 * NS), pid, False, want, False,
                                 STATES[state]))


STATES = {"down": State.DOWN, "run": State.RUN, "finish": State.FINISH}


def tally(*deaths, pid=42, exit_code=3):
    """A tally that remembers ``deaths`` (unix seconds, newest first)."""
    moments = [round(moment * NS) for moment in deaths]
    return Tally(pid, len(deaths) + 1, len(deaths), exit_code << 8 if deaths else None,
                 moments[0] if moments else 0, 10_000_000 if deaths else None, moments)


def seen(state, since, ends=0):
    """A Memory whose last look saw ``state`` since ``since``."""
    return Memory(Look(STATES[state], since), ends, None)


# (what is seen, its tally, the side, what earlier looks saw, now, the outcome, ends counted)
CASES = [
    ("up for STAYED_UP", status("run", 1000.1), None, NEW, None, 1000.1 + STAYED_UP,
     Outcome.UP, 0),
    ("running, too young yet", status("run", 1000.1), None, NEW, None, 1000.3,
     Outcome.PENDING, 0),
    ("a new runsv's run begun later than it could start the first: a rerun, up",
     status("run", ASKED + START_GRACE + 0.5), None, NEW, None, ASKED + 2, Outcome.UP, 1),
    ("a later run, but our tally counts no death: someone restarted it, not a death",
     status("run", ASKED + 1.5), tally(), NEW, None, ASKED + 2.1, Outcome.UP, 0),
    ("our tally counts a death since the apply began; it runs again, young",
     status("run", 1001.3), tally(1000.25), NEW, None, 1001.4, Outcome.PENDING, 1),
    ("a death before the apply began is not this apply's",
     status("run", 1000.1), tally(999.0), NEW, None, 1000.1 + STAYED_UP, Outcome.UP, 0),
    ("as many deaths as status calls crash-looping", status("down", 1004.3),
     tally(1004.3, 1003.3, 1002.3, 1001.3, 1000.3, pid=0), NEW, None, 1004.4, Outcome.DIED, 5),
    ("a new runsv's down, want up, since the apply, past START_GRACE: it ended",
     status("down", 1000.3), None, NEW, None, 1000.3 + START_GRACE, Outcome.PENDING, 1),
    ("a new runsv's down, want up, a moment ago: its own first status, or a death — wait",
     status("down", 1000.3), None, NEW, None, 1000.4, Outcome.PENDING, 0),
    ("down, want up, stamped before the apply: an earlier runsv's status",
     status("down", 990), None, NEW, None, 1001, Outcome.PENDING, 0),
    ("down, want up, our tally counts no death: starting, or cannot start — wait",
     status("down", 1000.3), tally(pid=0), NEW, None, 1002, Outcome.PENDING, 0),
    ("./finish of a run begun since: ./run ended", status("finish", 1000.25, pid=77), None,
     NEW, None, 1000.3, Outcome.PENDING, 1),
    ("wanted down since (sv down; a one-shot's own)", status("down", 1000.3, want="d"), None,
     NEW, None, 1000.4, Outcome.STOPPED, 0),
    ("no runsv serves it any more", NOT_SUPERVISED, None, NEW, None, 1000.4, Outcome.GONE, 0),
    ("its state cannot be told", SideState(True, unknown="unable to read supervise/status"),
     None, NEW, None, 1000.4, Outcome.PENDING, 0),
    # a restart, under the C runit: the status alone, look after look
    ("the old run still: the C sv said ok before runsv acted — wait",
     status("run", 900), None, RESTARTED, None, 1000.3, Outcome.PENDING, 0),
    ("the old run's ./finish", status("finish", 900, pid=77), None, RESTARTED, None, 1000.3,
     Outcome.PENDING, 0),
    ("down since the restart: runsv's back-off after stopping a young run — wait",
     status("down", 1000.15), None, RESTARTED, None, 1000.9, Outcome.PENDING, 0),
    ("down past runsv's back-off: it is not started again",
     status("down", 1000.15), None, RESTARTED, seen("down", 1000.15), 1001.7,
     Outcome.NOT_UP, 0),
    ("the new run, up STAYED_UP", status("run", 1001.15), None, RESTARTED,
     seen("down", 1000.15), 1001.15 + STAYED_UP, Outcome.UP, 0),
    ("a run begun 1 s after the restart is not a rerun: runsv's back-off",
     status("run", 1001.15), None, RESTARTED, None, 1001.7, Outcome.UP, 0),
    ("down again since the down seen: a run began and ended between the looks",
     status("down", 1001.16), None, RESTARTED, seen("down", 1000.15), 1001.2,
     Outcome.PENDING, 1),
    ("the run seen ended", status("down", 1001.2), None, RESTARTED, seen("run", 1001.15),
     1001.25, Outcome.PENDING, 1),
    ("the run seen was followed by another", status("run", 1002.3), None, RESTARTED,
     seen("run", 1001.15), 1002.4, Outcome.PENDING, 1),
    ("the run seen is in ./finish", status("finish", 1001.15, pid=77), None, RESTARTED,
     seen("run", 1001.15), 1001.3, Outcome.PENDING, 1),
    ("the fifth end seen: crash-looping", status("down", 1005.2), None, RESTARTED,
     seen("run", 1005.15, ends=4), 1005.25, Outcome.DIED, 5),
    ("with our tally, a change of stamp without a death is none (a restart's back-off)",
     status("run", 1001.15), tally(), RESTARTED, seen("down", 1000.15), 1001.7, Outcome.UP,
     0),
]


@pytest.mark.parametrize("live, found, watched, before, now, outcome, ends",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_one_look(live, found, watched, before, now, outcome, ends):
    memory = before or Memory()
    assert judge(live, found, now, watched, BEGAN, memory)[0] is outcome
    assert memory.ends == ends


def test_an_end_is_counted_once_however_often_it_is_seen():
    memory = Memory()
    for now in (1000.9, 1001.0, 1001.1):
        judge(status("down", 1000.3), None, now, NEW, BEGAN, memory)
    assert memory.ends == 1


@pytest.mark.parametrize("live, found, watched, before, now, last", [
    (status("run", 1000.1), None, NEW, None, 1000.2, Outcome.UP),  # --wait < STAYED_UP
    (status("run", 1001.3), None, NEW, seen("down", 1000.3, ends=1), 1001.4, Outcome.DIED),
    (status("down", 1001.3), None, NEW, seen("run", 1001.2, ends=2), 1001.4, Outcome.DIED),
    (status("down", 990), None, NEW, None, 1001, Outcome.NOT_UP),
    (status("down", 1000.3), tally(pid=0), NEW, None, 1002, Outcome.NOT_UP),
    (SideState(True, unknown="unable to read supervise/status"), None, NEW, None, 1001,
     Outcome.NOT_UP),
    (status("run", 900), None, RESTARTED, None, 1015, Outcome.NOT_RESTARTED),  # ignored TERM
])
def test_the_last_look_decides(live, found, watched, before, now, last):
    assert judge(live, found, now, watched, BEGAN, before or Memory(), is_last=True)[0] \
        is last


def test_a_pending_side_is_looked_at_again_when_a_look_can_decide():
    assert judge(status("run", 1000.1), None, 1000.2, NEW, BEGAN, Memory()) == (
        Outcome.PENDING, pytest.approx(1000.1 + STAYED_UP))
    assert judge(status("down", 1000.3), None, 1000.4, NEW, BEGAN, Memory()) == (
        Outcome.PENDING, pytest.approx(1000.3 + START_GRACE))
    assert judge(status("down", 1000.15), None, 1000.4, RESTARTED, BEGAN, Memory()) == (
        Outcome.PENDING, pytest.approx(1000.4 + RECHECK))


DATA = """
runit::services:
  web: {command: /usr/bin/web}
  lazy: {command: /usr/bin/lazy, down: true}
  bare: {command: /usr/bin/bare, log: false}
"""


def test_the_sides_a_step_started():
    units = {unit.label: unit for unit in desired_from_text(DATA).units}
    wait = WaitStep(Phase.SYSTEM_LINKS, [units["web"], units["lazy"], units["bare"]], "new")
    assert [(item.label, item.side, item.since, item.asked, item.is_new)
            for item in started_sides(wait, 1.0, 4.0, 5.0)] == [
        ("web", Side.MAIN, 1.0, 5.0, True), ("web/log", Side.LOG, 1.0, 5.0, True),
        ("bare", Side.MAIN, 1.0, 5.0, True)]
    web = units["web"]
    restart = ServiceStep(Action.RESTART, "web/log", Side.LOG, ["log/run changed"], web,
                          ["sv", "-w", "7", "restart", web.log_path])
    assert [(item.label, item.path, item.since, item.asked, item.is_new)
            for item in started_sides(restart, 1.0, 5.5, 6.0)] == [
        ("web/log", web.log_path, 5.5, 6.0, False)]
    for action in (Action.HUP, Action.EXIT):  # a HUP or a stop starts nothing
        step = ServiceStep(action, "web", Side.MAIN, ["x"], web, ["sv", action.value, web.path])
        assert started_sides(step, 1.0, 5.5, 6.0) == []


class Host:
    """A fake clock and the sides' states as functions of time: ``looks`` records each look."""

    def __init__(self, states, now=BEGAN + 0.3):
        self.now, self.states, self.looks, self.slept = now, states, [], []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.slept.append(round(seconds, 3))
        self.now += seconds

    def look(self, path):
        self.looks.append((path, round(self.now, 3)))
        return self.states[path](self.now)


def watched(*paths, is_new=True):
    return [Watched(None, Side.MAIN, path, path.strip("/"), BEGAN if is_new else 1000.1,
                    ASKED, Start.NEW if is_new else Start.RESTART) for path in paths]


def test_a_healthy_side_costs_two_looks_and_the_watch_ends_when_its_run_is_old_enough():
    host = Host({"/web": lambda now: status("run", ASKED)})
    assert watch(watched("/web"), host.look, 15, BEGAN, host.clock, host.sleep) == []
    assert host.looks == [("/web", 1000.3), ("/web", ASKED + STAYED_UP)]
    assert host.now == pytest.approx(ASKED + STAYED_UP)


def crash_loop(start, ran=0.01):
    """A run begun at ``start`` that ends after ``ran`` seconds, again and again, runsv
    waiting a second after each end (its back-off)."""
    def states(now):
        cycles = int((now - start) // (1 + ran)) if now >= start else 0
        begun = start + cycles * (1 + ran)
        if now < begun + ran:
            return status("run", begun)
        return status("down", begun + ran)
    return states


def test_a_crash_loop_is_reported_once_it_died_as_often_as_status_calls_crash_looping():
    host = Host({"/crash": crash_loop(1000.25), "/web": lambda now: status("run", ASKED)})
    found = watch(watched("/crash", "/web"), host.look, 15, BEGAN, host.clock, host.sleep)
    assert [(item.label, item.outcome) for item in found] == [("crash", Outcome.DIED)]
    assert found[0].last_exit == "unknown" and found[0].deaths is None
    assert 1000.25 + 4 < host.now < 1000.25 + 5.5  # five ends, a second apart
    assert found[0].seconds == pytest.approx(host.now - 1000.3)


def test_a_run_that_fails_until_what_it_needs_is_up_is_up():
    """runit's way to wait for a dependency (``needs``: ``sv -w T start dep || exit 1``):
    the run exits until what it needs runs; runsv starts it again a second later."""
    def states(now):
        if now < 1001.26:
            return crash_loop(1000.25)(now)  # twice
        return status("run", 1002.27)
    host = Host({"/app": states})
    assert watch(watched("/app"), host.look, 15, BEGAN, host.clock, host.sleep) == []
    assert host.now == pytest.approx(1002.27 + STAYED_UP, abs=RECHECK)


def test_a_one_shot_that_stops_itself_is_as_wanted():
    def states(now):
        return status("run", 1000.25) if now < 1000.4 else status("down", 1000.4, want="d")
    host = Host({"/setup": states})
    assert watch(watched("/setup"), host.look, 15, BEGAN, host.clock, host.sleep) == []


def one_shot(state, since, last_run, want):
    """A one-shot's side (docs/jobs.md): its status and its finish's record."""
    return status(state, since, want=want).replaced(is_oneshot=True, last_run=last_run)


def test_a_wait_takes_a_one_shot_that_ran_before_it_by_its_record():
    """A tree started again (killed, or not yet up when apply came) keeps a one-shot that ran
    down — its finish's ``d``: no runsv runs it again, so nothing is recorded since the watch
    began. Its last run is its answer, as status gives it (the chaos soak's last apply said
    "did not stay up: one" of a one-shot done 20 s before); one wanted up still waits for
    the run a new runsv owes it."""
    from runit_provision.protocol.lastrun import LastRun

    done = LastRun(0, 0, round(980 * NS), round(981 * NS))
    failed = LastRun(1, 0, round(980 * NS), round(981 * NS))
    host = Host({"/setup": lambda now: one_shot("down", 981, done, "d"),
                 "/migrate": lambda now: one_shot("down", 981, failed, "d"),
                 "/seed": lambda now: one_shot("down", 981, done, "u")})
    found = watch(watched("/setup", "/migrate", "/seed"), host.look, 2.0, BEGAN, host.clock,
                  host.sleep)
    assert [(item.label, item.outcome) for item in found] == [
        ("migrate", Outcome.FAILED), ("seed", Outcome.NOT_UP)]
    # a restart (sv restart, once) is judged by the run it asked for alone
    restarted = watched("/setup", is_new=False)
    host = Host({"/setup": lambda now: one_shot("down", 981, done, "d")})
    assert [item.outcome for item in watch(restarted, host.look, 2.0, BEGAN, host.clock,
                                           host.sleep)] == [Outcome.NOT_UP]


def test_the_watch_ends_at_the_wait_and_reports_what_never_came_up():
    host = Host({"/stuck": lambda now: status("down", 990)})  # no status of its runsv yet
    found = watch(watched("/stuck"), host.look, 2.0, BEGAN, host.clock, host.sleep)
    assert [(item.label, item.outcome) for item in found] == [("stuck", Outcome.NOT_UP)]
    assert host.now == pytest.approx(1000.3 + 2.0)
    assert found[0].seconds == pytest.approx(2.0)
    assert max(host.slept) <= 0.1 + 1e-9  # looked at again every RECHECK


def test_a_wait_of_zero_is_one_look():
    host = Host({"/web": lambda now: status("run", ASKED)})
    assert watch(watched("/web"), host.look, 0, BEGAN, host.clock, host.sleep) == []
    assert len(host.looks) == 1 and host.slept == []


def test_nothing_started_is_nothing_watched():
    host = Host({})
    assert watch([], host.look, 15, BEGAN, host.clock, host.sleep) == []
    assert host.looks == [] and host.slept == []


def test_the_tally_gives_deaths_and_the_last_exit():
    host = Host({"/web": lambda now: status("down", 1000.26)})
    host.look = lambda path: status("down", 1000.26).replaced(
        tally=tally(1000.26, 1000.24, 990.0, pid=0))
    found = watch(watched("/web"), host.look, 3, BEGAN, host.clock, host.sleep)
    assert found[0].outcome is Outcome.DIED and found[0].deaths == 2
    assert found[0].last_exit == {"code": 3} and found[0].ran == pytest.approx(0.01)


def test_a_death_nobody_saw_is_not_of_a_run_the_apply_started():
    """A runsv that starts (its tree was killed and started again) finds the run of its
    predecessor ended unseen and counts that death then: no exit, no length — not a death of
    a run this apply started. Later deaths, seen, count."""
    unseen = Tally(42, 2, 1, None, round(1000.25 * NS), None, (round(1000.25 * NS),))
    memory = Memory()
    assert judge(status("run", 1000.3), unseen, 1000.3 + STAYED_UP, NEW, BEGAN, memory)[0] \
        is Outcome.UP
    assert memory.ends == 0
    later = Tally(0, 3, 2, 3 << 8, round(1000.4 * NS), 5_000_000,
                  (round(1000.4 * NS), round(1000.25 * NS)))
    judge(status("down", 1000.4), later, 1000.45, NEW, BEGAN, memory)
    assert memory.ends == 2


def test_a_restart_of_a_young_run_waits_out_runsvs_back_off_and_is_up():
    """The C sv said ok on the old run; runsv stops it, pauses a second (the run was younger
    than that), starts the new one: up, no death — looked at every RECHECK meanwhile."""
    def states(now):
        if now < 1000.3:
            return status("run", 999.8)  # the old run, begun 0.5 s before the restart
        if now < 1001.3:
            return status("down", 1000.3)
        return status("run", 1001.3, pid=43)
    host = Host({"/web": states})
    assert watch(watched("/web", is_new=False), host.look, 15, BEGAN, host.clock,
                 host.sleep) == []
    assert host.now == pytest.approx(1001.3 + STAYED_UP, abs=RECHECK)


def test_a_restart_into_a_run_that_dies_at_once_is_seen_between_two_downs():
    """The new runs live a millisecond, unseen; the down stamps between them differ."""
    def states(now):
        if now < 1000.3:
            return status("run", 999.8)
        if now < 1001.3:
            return status("down", 1000.3)  # the restart's stop, then runsv's back-off
        return crash_loop(1001.3, ran=0.001)(now)
    host = Host({"/web": states})
    [found] = watch(watched("/web", is_new=False), host.look, 15, BEGAN, host.clock,
                    host.sleep)
    assert found.outcome is Outcome.DIED and host.now < 1001.3 + 5.5


# -- how the report says it (apply/report.py) --------------------------------------------------
def not_up(outcome, live, found=None, deaths=None, label="web", seconds=15.0):
    unit = next(unit for unit in desired_from_text(DATA).units if unit.label == "web")
    return NotUp(Watched(unit, Side.MAIN, "/etc/sv/web", label, BEGAN, ASKED, Start.RESTART),
                 outcome, live, found, deaths, seconds)


@pytest.mark.parametrize("item, line", [
    (not_up(Outcome.DIED, status("down", 1000.3), tally(1000.3, 1000.29, pid=0), 2),
     "web: died since it was started: 2 deaths, last exit 3 after 0.01 s; now down, want up"),
    # a signal is worded as status words it (protocol/tally.exit_text): named, core dumped
    (not_up(Outcome.DIED, status("down", 1000.3), Tally(0, 2, 1, 11 | 0x80, round(1000.3 * NS),
                                                        10_000_000, [round(1000.3 * NS)]), 1),
     "web: died since it was started: 1 death, last signal 11 (SEGV), core dumped after "
     "0.01 s; now down, want up"),
    (not_up(Outcome.DIED, status("down", 1000.3)),
     "web: died since it was started: last exit unknown (no account of exits: not our "
     "runtime); now down, want up"),
    (not_up(Outcome.GONE, NOT_SUPERVISED),
     "web: no runsv serves it any more (its runsv went away since it was started)"),
    (not_up(Outcome.NOT_UP, SideState(True, unknown="unable to read supervise/status")),
     "web: not running 15.0 s after it was started (state unknown: unable to read "
     "supervise/status)"),
    (not_up(Outcome.NOT_RESTARTED, status("run", 900, pid=42)),
     "web: not restarted: the run from before the restart still runs 15.0 s later (run (pid "
     "42), want up; does it ignore TERM?)"),
    (not_up(Outcome.GONE, NOT_SUPERVISED, label="alice/\x1b]0;x\x07"),
     "alice/\\x1b]0;x\\x07: no runsv serves it any more (its runsv went away since it was "
     "started)"),
])
def test_the_line_that_says_why(item, line):
    assert not_up_line(item) == line


def test_the_json_record_names_the_side_and_carries_its_log_lines():
    item = not_up(Outcome.DIED, status("down", 1000.3), tally(1000.3, pid=0), 1)
    assert not_up_json(item, [b"Nov 25 01:02:03.000000 fatal \xff"]) == {
        "service": "web", "side": "service", "label": "web", "path": "/etc/sv/web",
        "outcome": "died", "state": "down", "pid": None, "want": "up", "deaths": 1,
        "last_exit": {"code": 3}, "ran": 0.01, "watched_seconds": 15.0,
        "why": not_up_line(item), "log": ["Nov 25 01:02:03.000000 fatal \ufffd"]}
    gone = not_up_json(not_up(Outcome.GONE, NOT_SUPERVISED))
    assert (gone["state"], gone["want"], gone["last_exit"], gone["log"]) == (
        "not supervised", None, "unknown", None)
    assert not_up_summary([item, item]) == "2 services started did not stay up: web, web"


def test_once_a_tally_was_seen_a_look_without_it_counts_nothing_from_the_status():
    """Under our runtime a look may read the tally and the status while runsv writes them and
    not match them (side_tally gives none): the status alone would count an end the tally
    does not."""
    memory = Memory()
    judge(status("run", 1000.2), tally(), 1000.3, NEW, BEGAN, memory)
    assert judge(status("down", 1000.35), None, 1000.9, NEW, BEGAN, memory)[0] \
        is Outcome.PENDING
    assert memory.ends == 0 and memory.tally is not None
    host = Host({})
    looks = iter([status("down", 1000.26).replaced(tally=tally(1000.26, pid=0))]
                 + [status("down", 1000.26)] * 100)
    host.look = lambda path: next(looks)
    [found] = watch(watched("/web"), host.look, 2, BEGAN, host.clock, host.sleep)
    assert (found.outcome, found.deaths, found.last_exit) == (Outcome.DIED, 1, {"code": 3})


# -- restart and start by hand (apply/drive.py): the same watch ---------------------------------
def test_a_start_takes_a_run_from_before_for_up_where_a_restart_waits_for_a_new_one():
    """Issue 44 item 1: ``start`` of a service that runs already is up at one look; the run
    from before a restart is not the restart's. A start of a crash loop dies as a restart's
    does (the deaths since it began, from our tally)."""
    unit = next(unit for unit in desired_from_text(DATA).units if unit.label == "web")
    started = asked_side(unit, Start.UP, 1000.1, ASKED)
    assert (started.side, started.path, started.label) == (Side.MAIN, unit.path, "web")
    old_run = status("run", 900)
    assert judge(old_run, None, 1000.3, started, BEGAN, Memory()) == (Outcome.UP, None)
    assert judge(old_run, None, 1000.3, RESTARTED, BEGAN, Memory())[0] is Outcome.PENDING
    dying = tally(1004.3, 1003.3, 1002.3, 1001.3, 1000.3, pid=0)
    assert judge(status("down", 1004.3), dying, 1004.4, started, BEGAN, Memory())[0] \
        is Outcome.DIED


def test_an_exit_0_that_died_is_said_with_what_keeps_a_one_shot_down():
    """Issue 44 item 7, as apply, restart and start report it (cli/output.print_not_up)."""
    import io

    from runit_provision.cli.output import print_not_up
    from runit_provision.protocol.tally import RESTARTS_WHAT_EXITS

    zero = tally(1000.3, 1000.29, pid=0, exit_code=0)
    items = [not_up(Outcome.DIED, status("down", 1000.3), zero, 2),
             not_up(Outcome.DIED, status("down", 1000.3), tally(1000.3, pid=0), 1)]
    out = io.StringIO()
    print_not_up(items, {"/etc/sv/web": [b"Nov 25 01:02:03.000000 done"]}, out,
                 command="restart", verb="restarted")
    assert out.getvalue().splitlines() == [
        "runit-provision restart: web: died since it was started: 2 deaths, last exit 0 after "
        "0.01 s; now down, want up",
        "  " + RESTARTS_WHAT_EXITS,
        "    Nov 25 01:02:03.000000 done",
        "runit-provision restart: web: died since it was started: 1 death, last exit 3 after "
        "0.01 s; now down, want up",
        "    Nov 25 01:02:03.000000 done",
        "runit-provision restart: 2 services restarted did not stay up: web, web"]


# -- a timer (docs/timers.md): up once served wanted up, its runs are its schedule's -------------
def test_a_timer_is_up_once_served_wanted_up_and_its_records_read():
    """Our runtime keeps a timer down (want up) between its runs: no death, no "not up" —
    while a garbled record is; ``sv down`` is stopped, as for any side."""
    from runit_provision.protocol.timerwords import timer_read_from_bytes

    spec = b"timer 1\nwhen=daily\n"
    good = timer_read_from_bytes(spec, None, None)
    garbled = timer_read_from_bytes(spec, b"junk", None)
    waiting = status("down", BEGAN + 0.1).replaced(timer=good)
    for is_last in (False, True):
        assert judge(waiting, None, BEGAN + 0.2, NEW, BEGAN, Memory(), is_last) == (
            Outcome.UP, None)
    assert judge(status("down", BEGAN + 0.1, want="d").replaced(timer=good), None,
                 BEGAN + 0.2, NEW, BEGAN, Memory())[0] is Outcome.STOPPED
    assert judge(waiting.replaced(timer=garbled), None, BEGAN + 0.2, NEW, BEGAN,
                 Memory())[0] is Outcome.NOT_UP
    # without the timer's records, the same status is a daemon that is not up yet
    assert judge(status("down", BEGAN + 0.1), None, BEGAN + 0.2, NEW, BEGAN,
                 Memory())[0] is Outcome.PENDING


def test_a_timers_run_asked_for_is_judged_by_its_end():
    """``once`` of a timer (apply/drive.py, Start.RUN): done or failed once a run ended since
    it was asked for; still running at the end, not done; never started, said so."""
    from runit_provision.protocol.lastrun import LastRun, last_run_bytes
    from runit_provision.protocol.timer import TimerSpec, TimerState, timer_spec_bytes, \
        timer_state_bytes
    from runit_provision.protocol.timerwords import timer_read_from_bytes

    def timer(state, since, last=None):
        read = timer_read_from_bytes(timer_spec_bytes(TimerSpec("daily")), timer_state_bytes(
            TimerState(next_usec=2000 * 10**6)), None if last is None else last_run_bytes(last))
        return status(state, since).replaced(timer=read, last_run=last, tally=tally())

    before = LastRun(0, 0, round(900 * NS), round(901 * NS))
    done = LastRun(0, 0, round(1000.3 * NS), round(1000.5 * NS))
    failed = LastRun(3, 0, round(1000.3 * NS), round(1000.5 * NS))
    asked = [Watched(None, Side.MAIN, path, path[1:], 1000.2, ASKED, Start.RUN)
             for path in ("/tick", "/fail", "/long", "/idle")]
    host = Host({"/tick": lambda now: timer("run", 1000.3, before) if now < 1000.5
                 else timer("down", 1000.5, done),
                 "/fail": lambda now: timer("down", 1000.5, failed),
                 "/long": lambda now: timer("run", 1000.3, before),
                 "/idle": lambda now: timer("down", 901, before)})
    found = watch(asked, host.look, 2.0, BEGAN, host.clock, host.sleep)
    assert [(item.label, item.outcome) for item in found] == [
        ("fail", Outcome.FAILED), ("long", Outcome.NOT_DONE), ("idle", Outcome.NOT_UP)]
    assert not_up_line(found[2]).startswith("idle: its run asked for did not start within ")
