"""The one verdict (health/verdict.py), pure: what is wrong with a service, in words, from the
one side type — and the verbs that judge through it agree: status's row and its fact, fleet
status judging a fact that carries no verdict, verify's check of what runs."""

import time

import pytest

from runit_provision.checks.expected import running_problems, undeclared_problems
from runit_provision.checks.snapshot import Side, Snapshot
from runit_provision.health.status import ServiceStatus
from runit_provision.health.verdict import (
    AS_WANTED, CRASH_LOOPING, GAVE_UP, NOT_RUNNING, fact_deaths, is_as_wanted_word, is_wanted,
    judge, side_words, verdict_of)
from runit_provision.protocol.readiness import Readiness
from runit_provision.protocol.sidestate import Condition
from runit_provision.protocol.tally import Tally

from ..sides import NOW, NS, made_side


def dying(count, gave_up=False):
    """A tally with ``count`` deaths in the last seconds (and given up, if so)."""
    tally = Tally()
    for index in range(count):
        tally.started(7)
        tally.died(3 << 8, NOW - (count - index) * NS, 20_000_000)
    if gave_up:
        tally.gave_up_ns = NOW
    return tally


RUN, DOWN = made_side("run", 42, 100), made_side("down", 0, 3)
CASES = [
    ("running", RUN, None, True, (), False),
    ("down, wanted up", DOWN, None, True, (NOT_RUNNING,), True),
    ("down, wanted down (sv down)", made_side("down", want="down"), None, False, (), False),
    ("crash-looping while up this instant", made_side("run", 42, 0, tally=dying(6)), None,
     True, (CRASH_LOOPING,), False),
    ("crash-looping and down", made_side("down", tally=dying(6)), None, True,
     (CRASH_LOOPING,), True),
    ("gave up", made_side("down", want="down", tally=dying(6, gave_up=True)), None, True,
     (GAVE_UP,), True),
    # issue 44 item 5: deaths before a wanted-down make no crash loop now
    ("crash-looping, then stopped (sv down)", made_side("down", want="down", tally=dying(6)),
     None, False, (), False),
    ("a few deaths, running again", made_side("run", 42, 5, tally=dying(2)), None, True, (),
     False),
    ("its logger down", RUN, made_side("down", 0, 3), True, ("its logger is down",), False),
    # no runsv serves the logger: nothing says it is wanted up (fleet status's rule)
    ("its logger not supervised", RUN, made_side("not supervised"), True, (), False),
    ("its logger crash-looping", RUN, made_side("run", 9, 0, tally=dying(5)), True,
     ("its logger is crash-looping",), False),
    ("down, and its logger down: the service is what is wrong", DOWN, made_side("down"),
     True, (NOT_RUNNING,), True),
    ("state unknown, wanted up", made_side("unknown"), None, True, (NOT_RUNNING,), True),
]


@pytest.mark.parametrize("main, log, wanted, words, stopped", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_the_words_in_their_order(main, log, wanted, words, stopped):
    verdict = verdict_of(wanted, main, log)
    assert (verdict.words, verdict.is_stopped) == (words, stopped)
    assert verdict.word == (", ".join(words) or AS_WANTED)


def test_what_is_wanted_is_runsvs_view():
    assert is_wanted(DOWN) and not is_wanted(made_side("down", want="down"))
    assert is_wanted(made_side("down", want="down", tally=dying(6, gave_up=True)))
    assert not is_wanted(RUN, enabled=False)
    assert is_wanted(made_side("not supervised"))  # nothing marks it down
    assert not is_wanted(made_side("not supervised", is_normally_up=False))
    # not in the data: up unless a down file says otherwise, whatever runsv was told
    assert not is_wanted(made_side("run", 42, want="up", is_normally_up=False),
                         declared=False)


@pytest.mark.parametrize("main, log", [case[1:3] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_a_fact_is_judged_as_its_node_judged_it(main, log):
    """fleet status judges a fact without a verdict (an older node's) from its words: the
    same words status --fact wrote."""
    row = ServiceStatus("web", "/etc/sv/web", None, True, main, log)
    fact = row.as_fact()
    without = {key: value for key, value in fact.items() if key != "verdict"}
    assert judge(without).word == fact["verdict"] == row.verdict.word
    assert row.as_json()["verdict"] == fact["verdict"]


def host_with(side):
    """A reading of a host (checks/snapshot.py) whose only side is ``side``'s state."""
    snapshot = Snapshot()
    snapshot.now = NOW / NS
    found = Side("/etc/service/web", ok="up" if side.is_supervised else "ENXIO",
                 is_normally_up=side.is_normally_up)
    found.is_supervised, found.status = side.is_supervised, side.status
    found.error = None if side.status is not None else "runsv not running"
    snapshot.sides[found.path] = found
    return snapshot


@pytest.mark.parametrize("side", [RUN, DOWN, made_side("finish", 77), made_side("down",
                                                                               want="down"),
                                  made_side("not supervised")],
                         ids=["run", "down", "finish", "sv down", "not supervised"])
def test_verify_judges_what_runs_as_status_does(side):
    """verify's ``running`` wants up what the data wants up — a service not ``down``, even
    one an operator stopped — and finds it as wanted exactly when the verdict does; one not
    in the data, as status judges it (runsv's want)."""
    snapshot = host_with(side)
    assert (running_problems("web", "/etc/service/web", snapshot) == []) == \
        verdict_of(True, side).is_as_wanted
    assert (undeclared_problems("web", "/etc/service/web", snapshot) == []) == \
        verdict_of(is_wanted(side, declared=False), side).is_as_wanted


# -- one-shots (issue 46 §1): the verdict's words, and every verb that judges by them ----------
def oneshot(state, last=None, **options):
    """A one-shot's side: ``last`` (exit code, signal) of its recorded run, or none."""
    from runit_provision.protocol.lastrun import LastRun

    side = made_side(state, 42 if state in ("run", "finish") else 0, 5, **options)
    record = None if last is None else LastRun(last[0], last[1], NOW - 9 * NS, NOW - 8 * NS)
    return side.replaced(is_oneshot=True, last_run=record)


UTC_RUN_END = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW // NS - 8))  # its run's end


ONESHOT_CASES = [  # name, side, wanted (runsv's view), the word, as wanted, stopped
    ("running", oneshot("run", want="up"), True, "running", True, False),
    ("finishing", oneshot("finish", (0, 0), want="down"), False, "running", True, False),
    ("done", oneshot("down", (0, 0), want="down"), False,
     "done (exit 0, at %s, took 1.0s)", True, False),
    ("failed", oneshot("down", (4, 0), want="down"), False, "failed (exit 4, at %s)", False,
     True),
    ("killed", oneshot("down", (-1, 9), want="down"), False, "failed (signal 9, at %s)", False,
     True),
    ("failed, then down: true", oneshot("down", (1, 0), want="down", is_normally_up=False),
     False, "failed (exit 1, at %s)", False, True),
    ("never run, down: true", oneshot("down", want="down", is_normally_up=False), False,
     AS_WANTED, True, False),
]


@pytest.mark.parametrize("main, wanted, word, as_wanted, stopped",
                         [case[1:] for case in ONESHOT_CASES],
                         ids=[case[0] for case in ONESHOT_CASES])
def test_a_one_shot_is_told_by_its_last_run_and_never_as_wanted_when_it_failed(
        main, wanted, word, as_wanted, stopped):
    """status's row, its JSON and its fact, fleet status judging that fact (with or without
    the node's verdict), verify's check and the metric all say the same; a failed run is
    never as wanted, whatever is wanted of it."""
    from runit_provision.fleet.view import problems_of
    from runit_provision.health.metrics import exposition

    word = word % UTC_RUN_END if "%s" in word else word
    row = ServiceStatus("job", "/etc/sv/job", None, True, main, None)
    assert row.is_wanted == wanted
    verdict = row.verdict
    assert (verdict.word, verdict.is_as_wanted, verdict.is_stopped) == (word, as_wanted,
                                                                        stopped)
    fact = row.as_fact()
    assert fact["verdict"] == row.as_json()["verdict"] == word
    without = {key: value for key, value in fact.items() if key != "verdict"}
    assert judge(without).word == word
    for given in (fact, without):
        problems, _ = problems_of({"node": {"services": [given], "not_running":
                                            ["job"] if stopped else []}})
        assert [problem.why for problem in problems] == ([] if as_wanted else [word])
    assert ('runit_service_as_wanted{service="job",tree="system",declared="true"} %d\n'
            % as_wanted) in exposition([row])
    if main.state is not Condition.RUN:  # verify reads a remote host's status: no finish
        return
    snapshot = host_with(main)
    snapshot.sides["/etc/service/web"].is_oneshot = True
    assert running_problems("web", "/etc/service/web", snapshot) == []


@pytest.mark.parametrize("count, bucket", [
    (0, "0"), (1, "1"), (2, "2-9"), (9, "2-9"), (10, "10-99"), (99, "10-99"),
    (100, "100-999"), (999, "100-999"), (1000, "1000+"), (10**9, "1000+"),
])
def test_a_death_count_falls_in_the_bucket_whose_top_it_reaches(count, bucket):
    """Each bucket holds its top: a fact's ``9`` deaths is ``2-9``, never ``10-99``."""
    assert fact_deaths(count) == bucket


# -- what the fact carries of a side: every key, for each kind of side --------------------------
def side_of_a_run(exit_code, signal, state="down"):
    """A one-shot's side whose last run ended ``exit_code`` / ``signal`` at NOW - 8 s."""
    return oneshot(state, (exit_code, signal), want="down")


def fact_of(state="down", want="up", normally="up", paused=False, **account):
    """The fact's words of a side read as ``state``: the C runit's (no account: ``unknown``)
    unless ``account`` gives our runtime's ``crash_looping``, ``gave_up``, ``last_exit``,
    ``deaths``."""
    found = {"state": state, "want": want, "normally": normally, "paused": paused}
    found.update({key: account.get(key, "unknown")
                  for key in ("crash_looping", "gave_up", "last_exit", "deaths")})
    return found


def killed(count, status):
    """A tally of ``count`` deaths, the last one ended by the wait status ``status``."""
    tally = dying(count)
    tally.started(7)
    tally.died(status, NOW, 20_000_000)
    return tally


FACT_CASES = [  # name, side, the fact's words of it
    ("the C runit: no account", RUN, fact_of("run")),
    ("sv pause'd, normally down, a death by a signal and its core",
     made_side("run", 42, 9, is_normally_up=False, paused=True, tally=killed(0, 11 | 0x80)),
     fact_of("run", normally="down", paused=True, crash_looping=False, gave_up=False,
             last_exit="signal 11 (core)", deaths="1")),
    ("gave up, wanted down by it",
     made_side("down", want="down", tally=dying(12, gave_up=True)),
     fact_of(want="down", crash_looping=True, gave_up=True, last_exit="exit 3",
             deaths="10-99")),
    ("not supervised", made_side("not supervised"), fact_of("not supervised", want=None)),
    ("declares readiness, still starting",
     made_side("run", 42, 1, readiness=Readiness("starting", 42, NOW - NS, 0, "", 0, 0)),
     dict(fact_of("run"), ready="starting")),
    ("its ./run waits for one-shots",
     RUN.replaced(waiting_for=(("setup", "running"), ("migrate", "failed"))),
     dict(fact_of("run"), waiting_for="setup, migrate (failed)")),
    ("a record that cannot be read",
     DOWN.replaced(unreadable=(("supervise/tally", "at=1e300 is not a time"),
                               ("supervise/readiness", "no pid="))),
     dict(fact_of(), unreadable="supervise/tally: at=1e300 is not a time; "
                                "supervise/readiness: no pid=")),
    ("a one-shot never run", oneshot("down", want="down"),
     dict(fact_of(want="down"), job="never run", job_word="never run")),
    ("a one-shot that runs", oneshot("run", (0, 0)),
     dict(fact_of("run"), job="running", job_word="running")),
    ("a one-shot a signal killed, its core dumped", side_of_a_run(-1, 6 | 0x80),
     dict(fact_of(want="down"), job="failed",
          job_word="failed (signal 6 (core), at %s)" % UTC_RUN_END)),
    ("a one-shot done", side_of_a_run(0, 0),
     dict(fact_of(want="down"), job="done",
          job_word="done (exit 0, at %s, took 1.0s)" % UTC_RUN_END)),
    ("a one-shot whose state cannot be told", made_side("unknown").replaced(is_oneshot=True),
     dict(fact_of("unknown", want=None), job="unknown", job_word="unknown")),
]


@pytest.mark.parametrize("side, words", [case[1:] for case in FACT_CASES],
                         ids=[case[0] for case in FACT_CASES])
def test_the_fact_carries_each_word_of_a_side_by_its_name(side, words):
    """What REFERENCE.md's ``runit_services`` documents, key by key: a PQL query and an older
    node's judge read these names; our runtime's account where it keeps one (the last exit
    by the signal's number alone), ``unknown`` where it does not, and the optional words only
    for a side they are about."""
    assert side_words(side) == words


# -- judging a fact's words: what fleet status reads from PuppetDB -------------------------------
def test_what_a_node_says_of_running_and_wanted_gives_way_to_what_is_handed_in():
    """fleet status hands in the node's ``not_running``: it, not the service's own word,
    says whether it runs; so with ``wanted``."""
    says_up = {"wanted": True, "running": True, "main": {}}
    assert judge(says_up).word == AS_WANTED
    assert judge(says_up, running=False).words == (NOT_RUNNING,)
    says_down = {"wanted": True, "running": False, "main": {}}
    assert judge(says_down).words == (NOT_RUNNING,)
    assert judge(says_down, wanted=False).word == AS_WANTED


def test_a_side_facter_hands_back_as_empty_reads_as_none():
    assert judge({"wanted": True, "running": True, "main": "", "log": ""}).word == AS_WANTED
    assert judge({"wanted": True, "running": False, "main": ""}).words == (NOT_RUNNING,)


@pytest.mark.parametrize("why", ["", 7, True, ["supervise/tally"]])
def test_only_words_say_why_a_record_is_unreadable(why):
    """A fact's ``unreadable`` names its records in words; anything else in it (an empty
    word, what a hand-edited fact holds) says nothing is unreadable."""
    assert judge({"wanted": True, "running": True, "main": {"unreadable": why},
                  "log": {"state": "run", "unreadable": why}}).word == AS_WANTED


def test_a_loggers_unreadable_record_is_said_as_its_loggers():
    found = judge({"wanted": True, "running": True, "main": {},
                   "log": {"state": "run", "want": "up", "unreadable": "supervise/tally: x"}})
    assert found.words == ("its logger is unreadable (supervise/tally: x)",)
    assert not found.is_service_wrong


def test_a_one_shot_whose_record_is_unreadable_without_a_why():
    """An older fact: its ``job`` says ``unreadable`` and no word says why."""
    found = judge({"wanted": False, "running": False, "main": {"job": "unreadable"}})
    assert (found.words, found.is_as_wanted) == (("unreadable",), False)


@pytest.mark.parametrize("main, words", [
    ({"gave_up": True, "crash_looping": True}, (GAVE_UP,)),
    ({"crash_looping": True}, (CRASH_LOOPING,)),
    ({"unreadable": "supervise/timer: next=x"}, ("unreadable (supervise/timer: next=x)",)),
], ids=["gave up", "crash-looping", "unreadable"])
def test_a_timer_is_judged_by_its_runs_too(main, words):
    """A timer that gave up, crash-loops or has a record that cannot be read is not as
    wanted, whatever its schedule says."""
    found = judge({"wanted": True, "running": False, "main": dict(
        main, timer="scheduled", timer_word="scheduled (next at T)")})
    assert (found.words, found.is_as_wanted) == (words, False)


def test_a_timers_logger_is_judged_while_the_timer_is_on():
    log = {"state": "down", "want": "up"}
    on = judge({"wanted": True, "main": {"timer": "scheduled", "timer_word": "scheduled"},
                "log": log})
    assert on.words == ("its logger is down",) and not on.is_service_wrong
    off = judge({"wanted": False, "main": {"timer": "off"}, "log": log})
    assert off.word == "off" and off.is_as_wanted


@pytest.mark.parametrize("word, main, as_wanted", [
    ("as wanted", {}, True),
    ("scheduled (next at T)", {"timer": "scheduled", "timer_word": "scheduled (next at T)"},
     True),
    ("scheduled", {"timer": "scheduled", "timer_word": "scheduled (next at T)"}, False),
    ("scheduled", {"timer": "scheduled"}, True),  # an older fact: no timer_word
    ("running", {"timer": "running"}, True),
    ("off", {"timer": "off"}, True),
    ("off (wanted up)", {"timer": "off"}, False),
    ("failed (exit 3)", {"timer": "failed", "timer_word": "failed (exit 3)"}, False),
    ("running", {"job": "running"}, True),
    ("done", {"job": "done"}, True),
    ("never run", {"job": "never run", "job_word": "never run"}, False),
    ("crash-looping", {"job": "done", "job_word": "done (exit 0)"}, False),
], ids=lambda value: value if isinstance(value, str) else None)
def test_a_word_a_node_carries_says_as_wanted_only_for_what_is(word, main, as_wanted):
    """fleet status reads a node's verdict word: as wanted, a timer's own word (or its kind,
    from an older fact), ``off`` alone, or a one-shot's ``running`` or ``done (…)``."""
    assert is_as_wanted_word(word, main) is as_wanted
