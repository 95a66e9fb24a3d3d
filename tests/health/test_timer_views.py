"""A timer (``schedule:``, issue 46 §2, docs/timers.md) told truthfully by every view, pure:
planted records — ``schedule``, ``supervise/timer``, ``supervise/last-run`` as the waiters
and the rendered finish write them, or as a user could garble them — read into the one side
type, then status's row (its word, its mark, its lines), ``--json``, the Puppet fact,
``fleet status`` judging that fact (with the node's verdict and without), the metrics and
verify's check all say the same; nothing garbled is ever as wanted, nothing crashes."""

import re
import time

import pytest

from runit_provision.checks.expected import TIMER_CHECK, failed_problems, running_problems
from runit_provision.cli.status import notes_of, print_table
from runit_provision.fleet.view import problems_of
from runit_provision.health.metrics import exposition
from runit_provision.health.status import ServiceStatus
from runit_provision.health.verdict import judge
from runit_provision.protocol.lastrun import LastRun, last_run_bytes
from runit_provision.protocol.tally import Tally
from runit_provision.protocol.timerwords import timer_read_from_bytes

from ..sides import NOW, NS, made_side
from .test_verdict import host_with

SPEC = b"timer 1\nwhen=*-*-* *:00/15:00\ntime_limit=600\n"
S = NOW // NS  # the moment every side is read, unix seconds
LAST_ELAPSE, NEXT = S - 900, S + 300


def record(next_s=NEXT, elapse=LAST_ELAPSE, skipped=0, timed_out=0, missed=0, extra=b""):
    return b"timer-state 1 next=%d.000000 elapse=%d.000000 skipped=%d timed_out=%d " \
           b"missed=%d%s\n" % (next_s, elapse, skipped, timed_out, missed, extra)


def ran(exit_code=0, signal=0, started=LAST_ELAPSE, took=1.5):
    """The last-run line of a run started ``started`` (unix s) that took ``took`` s."""
    return last_run_bytes(LastRun(exit_code, signal, started * NS,
                                  started * NS + int(took * NS)))


def timer(state, want="up", spec=SPEC, timer_record=None, last=None, uptime=20, **options):
    """A timer's side: its status (``made_side``'s: in ``state`` for ``uptime`` s), and its
    records' bytes as planted."""
    from runit_provision.protocol.lastrun import last_run_from_bytes

    side = made_side(state, 42 if state in ("run", "finish") else 0, uptime, want=want,
                     **options)
    return side.replaced(timer=timer_read_from_bytes(spec, timer_record, last),
                         last_run=None if last is None else last_run_from_bytes(last))


def utc(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


NEXT_AT, LAST_AT = "next at " + utc(NEXT), utc(LAST_ELAPSE)
CASES = [  # name, side, the word, the fact's word, as wanted, stopped, status's lines
    ("never run", timer("down", timer_record=record(elapse=0)),
     "scheduled (%s)" % NEXT_AT, "scheduled", True, False,
     ["schedule: *-*-* *:00/15:00", "last run: none yet", "next run: " + utc(NEXT)]),
    ("done", timer("down", timer_record=record(), last=ran()),
     "scheduled (%s; last done exit 0 at %s, took 1.5s)" % (NEXT_AT, LAST_AT), "scheduled",
     True, False, ["schedule: *-*-* *:00/15:00",
                   "last run: started %s, took 1.50 s, exit 0" % LAST_AT,
                   "next run: " + utc(NEXT)]),
    ("failed", timer("down", timer_record=record(), last=ran(3)),
     "failed (exit 3, at %s; %s)" % (LAST_AT, NEXT_AT), "failed (exit 3)", False, True,
     ["schedule: *-*-* *:00/15:00", "last run: started %s, took 1.50 s, exit 3" % LAST_AT,
      "next run: " + utc(NEXT)]),
    ("running, our runtime (a status that runs is the job)",
     timer("run", timer_record=record(), last=ran(), tally=Tally()),
     "running (since %s; %s)" % (utc(S - 20), NEXT_AT), "running", True, False,
     ["schedule: *-*-* *:00/15:00", "running since " + utc(S - 20),
      "last run: started %s, took 1.50 s, exit 0" % LAST_AT, "next run: " + utc(NEXT)]),
    ("running, the C runit (the record's elapse after the last end)",
     timer("run", timer_record=record(elapse=S - 10), last=ran()),
     "running (since %s; %s)" % (utc(S - 10), NEXT_AT), "running", True, False, None),
    ("waiting, the C runit (its waiter runs; the elapse is the last run's)",
     timer("run", timer_record=record(), last=ran()),
     "scheduled (%s; last done exit 0 at %s, took 1.5s)" % (NEXT_AT, LAST_AT), "scheduled",
     True, False, None),
    ("off by the data (down: true)",
     timer("down", want="down", is_normally_up=False, timer_record=record(next_s=0),
           last=ran()), "off", "off", True, False, None),
    ("off by sv down, the data wants it on",
     timer("down", want="down", timer_record=record(next_s=0), last=ran()),
     "off (wanted up)", "off (wanted up)", False, True,
     ["schedule: *-*-* *:00/15:00", "last run: started %s, took 1.50 s, exit 0" % LAST_AT,
      "next run: none (off: sv up turns it on)"]),
    ("skipped for overlap", timer("down", timer_record=record(skipped=2), last=ran()),
     "scheduled (%s; last done exit 0 at %s, took 1.5s)" % (NEXT_AT, LAST_AT), "scheduled",
     True, False, ["schedule: *-*-* *:00/15:00",
                   "last run: started %s, took 1.50 s, exit 0" % LAST_AT,
                   "next run: " + utc(NEXT), "skipped for overlap: 2 (a run was still going)"]),
    ("timed out", timer("down", timer_record=record(timed_out=1),
                        last=ran(-1, 15, took=600)),
     "failed (signal 15 (TERM), at %s; %s)" % (LAST_AT, NEXT_AT), "failed (signal 15)",
     False, True, ["schedule: *-*-* *:00/15:00",
                    "last run: started %s, took 10m00s, signal 15 (TERM)" % LAST_AT,
                    "next run: " + utc(NEXT), "timed out: 1 (time_limit 600s)"]),
    ("no more elapses: it never runs again, not as wanted",
     timer("down", timer_record=record(next_s=0), last=ran()),
     "no next run (its schedule has no elapse left)", "no next run", False, False,
     ["schedule: *-*-* *:00/15:00", "last run: started %s, took 1.50 s, exit 0" % LAST_AT,
      "next run: none (the schedule has no more elapses)"]),
    ("no more elapses, never run", timer("down", timer_record=record(next_s=0)),
     "no next run (its schedule has no elapse left)", "no next run", False, False, None),
    ("no record yet", timer("down"), "scheduled (next at unknown)", "scheduled", True, False,
     ["schedule: *-*-* *:00/15:00", "last run: none yet",
      "next run: unknown (its waiter has written no record yet)"]),
]
UNREADABLE = [  # name, side, why — each garbled record a user could write
    ("an error= record", timer("down", timer_record=record(extra=b" error=bad%20schedule")),
     "its waiter cannot read its schedule"),
    ("a garbage record", timer("down", timer_record=b"\x00\xffgarbage\n", last=ran()),
     "supervise/timer: not a timer record"),
    ("a record with a bad number", timer("down", timer_record=b"timer-state 1 next=-17"),
     "supervise/timer: next=-17 is not a time within 1970..9999"),
    ("a garbage schedule", timer("down", spec=b"#!/bin/sh\nrm -rf /\n",
                                 timer_record=record()), "schedule: not a timer file"),
    ("a schedule without when=", timer("down", spec=b"timer 1\njitter=5\n"),
     "schedule: no when="),
    ("a schedule its waiter cannot parse (its error= record)",
     timer("down", spec=b"timer 1\nwhen=*-*-* 25:00\n", timer_record=record(
         next_s=0, extra=b" error=schedule: when=*-*-* 25:00: column 7: the hour 25 is not "
                         b"within 0..23")),
     "its waiter cannot read its schedule: schedule: when=*-*-* 25:00: column 7: the hour 25"),
    ("a schedule that is no file", timer("down", spec=None), "schedule: not a regular file"),
    ("a garbage last-run", timer("down", timer_record=record(), last=b"last-run 1 exit=zz"),
     "supervise/last-run: exit=zz is not a number within -1..255"),
    ("a last-run out of range", timer("down", timer_record=record(),
                                      last=b"last-run 1 exit=0 signal=0 ended=1e300"),
     "supervise/last-run: ended=1e300 is not a time within 1970..9999"),
    ("garbage while running", timer("run", timer_record=b"nonsense", tally=Tally()),
     "supervise/timer: not a timer record"),
]


def everything_says(side, word, fact_word, as_wanted, stopped):
    """status's row and --json, the fact, fleet status, metrics and verify: one judgement."""
    row = ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None)
    verdict = row.verdict
    assert (verdict.word, verdict.is_as_wanted, verdict.is_stopped) == (word, as_wanted,
                                                                        stopped)
    assert row.as_json()["verdict"] == word
    fact = row.as_fact()
    assert fact["verdict"] == fact_word
    assert fact["main"].get("timer_word") == {"off (wanted up)": "off", "not running": None
                                              }.get(fact_word, fact_word)
    without = {key: value for key, value in fact.items() if key != "verdict"}
    assert judge(without).word == fact_word  # an older fleet view judges the words
    for given in (fact, without):
        problems, _ = problems_of({"node": {"services": [given], "not_running":
                                            ["nightly"] if stopped else []}})
        assert [problem.why for problem in problems] == ([] if as_wanted else [fact_word])
    labels = '{service="nightly",tree="system",declared="true"}'
    assert "runit_service_as_wanted%s %d\n" % (labels, as_wanted) in exposition([row])
    if side.is_normally_up:  # verify: the data wants it on
        problems = running_problems("web", "/etc/service/web", verify_host(side))
        assert (problems == []) == as_wanted, problems
        assert all(word in problem for problem in problems), problems
    return row


def verify_host(side):
    snapshot = host_with(side)
    found = snapshot.sides["/etc/service/web"]
    found.timer, found.last_run, found.tally = side.timer, side.last_run, side.tally
    return snapshot


@pytest.mark.parametrize("side, word, fact_word, as_wanted, stopped, lines",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_every_view_tells_a_timer_the_same(side, word, fact_word, as_wanted, stopped, lines):
    row = everything_says(side, word, fact_word, as_wanted, stopped)
    if lines is not None:
        assert notes_of(row) == lines


@pytest.mark.parametrize("side, why", [case[1:] for case in UNREADABLE],
                         ids=[case[0] for case in UNREADABLE])
def test_a_garbled_record_is_unreadable_never_green(side, why):
    assert side.timer.unreadable.startswith(why), side.timer
    word = "unreadable (%s" % why
    row = ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None)
    assert row.verdict.word.startswith(word) and not row.verdict.is_as_wanted
    assert row.as_fact()["verdict"].startswith(word)
    assert notes_of(row)[0].startswith("unreadable: " + why)
    timer_json = row.as_json()["main"]["timer"]
    assert timer_json["state"] == "unreadable" and timer_json["last_run"] is None
    assert "runit_timer_" not in exposition([row])  # nothing made up from garbage
    problems, _ = problems_of({"node": {"services": [row.as_fact()], "not_running": []}})
    assert [problem.why for problem in problems] == [row.as_fact()["verdict"]]
    assert running_problems("web", "/etc/service/web", verify_host(side)) != []


def test_an_error_word_is_shown_printable():
    side = timer("down", timer_record=record(extra=b" error=\x1b[31mred"))
    row = ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None)
    assert "\x1b" not in row.verdict.word and "\x1b" not in "".join(notes_of(row))


def test_a_timer_no_runsv_serves_is_not_running():
    side = timer("not supervised", timer_record=record(), last=ran())
    everything_says(side, "not running", "not running", False, True)


def test_a_timer_whose_state_cannot_be_told_says_why():
    side = timer("unknown", timer_record=record(), last=ran())
    row = ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None)
    assert row.verdict.word == "not running" and side.timer_doing is None
    assert notes_of(row) == ["unable to read supervise/status: bad format"]


def test_the_json_of_a_timer():
    side = timer("down", timer_record=record(skipped=2, timed_out=1), last=ran(3))
    found = ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None) \
        .as_json()["main"]["timer"]
    assert found == {
        "state": "failed", "word": "failed (exit 3, at %s; %s)" % (LAST_AT, NEXT_AT),
        "unreadable": None, "next": float(NEXT), "since": None,
        "last_run": {"started": float(LAST_ELAPSE), "ended": LAST_ELAPSE + 1.5,
                     "duration": 1.5, "exit": {"code": 3}, "done": False, "said": "exit 3"},
        "skipped": 2, "timed_out": 1, "missed": False,
        "schedule": "*-*-* *:00/15:00", "persistent": False, "jitter": 0, "time_limit": 600}
    daemon = ServiceStatus("web", "/etc/sv/web", None, True, made_side("run", 7), None)
    assert "timer" not in daemon.as_json()["main"]  # a daemon's JSON is as it was


def test_the_json_of_a_running_timer_of_one_that_missed_and_of_one_not_told():
    running = timer("run", timer_record=record(missed=1), last=ran(), tally=Tally())
    found = ServiceStatus("nightly", "/etc/sv/nightly", None, True, running, None) \
        .as_json()["main"]["timer"]
    assert (found["state"], found["since"], found["missed"]) == ("running", float(S - 20), True)
    # a last run whose record names no moment: none is made up
    unstamped = timer("down", timer_record=record(), last=last_run_bytes(LastRun(3, 0, 0, 0)))
    found = ServiceStatus("nightly", "/etc/sv/nightly", None, True, unstamped, None) \
        .as_json()["main"]["timer"]
    assert (found["since"], found["last_run"]["ended"], found["last_run"]["duration"]) == (
        None, None, None)
    # its state cannot be told: its last run is what the record says, when it started not
    told = timer("unknown", timer_record=record(), last=ran())
    found = ServiceStatus("nightly", "/etc/sv/nightly", None, True, told, None) \
        .as_json()["main"]["timer"]
    assert (found["state"], found["last_run"]["started"], found["last_run"]["ended"],
            found["last_run"]["duration"]) == (None, None, LAST_ELAPSE + 1.5, None)

def test_the_metrics_of_a_timer():
    side = timer("down", timer_record=record(skipped=2, timed_out=1), last=ran(3))
    text = exposition([ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None)])
    labels = '{service="nightly",tree="system",declared="true"}'
    for name, value in (("last_run_start_seconds", "%d.000" % LAST_ELAPSE),
                        ("last_run_exit_code", "3"), ("last_run_duration_seconds", "1.500"),
                        ("next_run_seconds", "%d.000" % NEXT), ("skipped_total", "2"),
                        ("timed_out_total", "1")):
        assert "\nrunit_timer_%s%s %s\n" % (name, labels, value) in text, (name, text)
    assert "# TYPE runit_timer_skipped_total counter\n" in text
    never = timer("down", timer_record=record(elapse=0))
    text = exposition([ServiceStatus("nightly", "/etc/sv/nightly", None, True, never, None)])
    assert "runit_timer_last_run" not in text and "runit_timer_next_run_seconds" in text


def test_under_the_c_runit_a_run_starts_at_its_elapse_not_at_the_waiters_start():
    """The C runsv's finish records ``started`` as ``./run``'s start — the waiter's, long
    before its elapse: the run's start is the elapse."""
    side = timer("run", timer_record=record(), last=ran(started=LAST_ELAPSE - 800, took=801))
    assert side.timer_doing.last_start_ns == LAST_ELAPSE * NS
    row = ServiceStatus("nightly", "/etc/sv/nightly", None, True, side, None)
    assert "last run: started %s, took 1.00 s, exit 0" % LAST_AT in notes_of(row)


def test_under_the_c_runit_timer_runs_started_word_tells_waiting_from_running():
    """timer-run's ``started=``: 0 while its waiter waits (runsv says ``run`` all along: not
    a run going), the job's start once it runs (running since then, not since the waiter's
    start); a record without the word is judged by its elapse (ours, an older waiter)."""
    waiting = timer("run", timer_record=record(elapse=LAST_ELAPSE, extra=b" started=0"),
                    last=ran(started=LAST_ELAPSE, took=2))
    assert waiting.timer_doing.kind == "scheduled", waiting.timer_doing
    job_start = LAST_ELAPSE + 3
    running = timer("run", timer_record=record(extra=b" started=%d.000000" % job_start),
                    last=ran(started=LAST_ELAPSE - 900, took=2), uptime=S - LAST_ELAPSE + 60)
    assert running.timer_doing.kind == "running", running.timer_doing
    assert running.timer_doing.since_ns == job_start * NS
    assert running.timer_doing.word.startswith("running (since %s;" % utc(job_start))


@pytest.mark.parametrize("recorded", [True, False], ids=["finish-recorded", "finish-failed"])
def test_under_the_c_runit_a_new_waiter_is_not_the_run_its_last_record_names(recorded):
    """The hand-over: the C runsv has started the next waiter, which has not yet written its
    first record; the record still names the run that ended (``started=`` its start). That
    run is done — last-run says so, and the waiter started after it (when the finish could
    not write last-run: a full disk) — never ``running`` (a CI run of the truth table saw
    it for the moment the new waiter took to start)."""
    job_start = LAST_ELAPSE + 3
    last = ran(started=job_start, took=2) if recorded else ran(started=LAST_ELAPSE - 900)
    side = timer("run", timer_record=record(extra=b" started=%d.000000" % job_start),
                 last=last, uptime=S - job_start - 2)
    assert side.timer_doing.kind == "scheduled", side.timer_doing
    if recorded:
        assert side.timer_doing.word == "scheduled (%s; last done exit 0 at %s, took 2.0s)" % (
            NEXT_AT, utc(job_start)), side.timer_doing.word


def test_a_down_timer_passes_verify_unless_its_last_run_failed():
    off = timer("down", want="down", is_normally_up=False, timer_record=record(next_s=0))
    assert failed_problems("web", "/etc/service/web", verify_host(off)) == []
    failed = timer("down", want="down", is_normally_up=False, last=ran(2))
    assert failed_problems("web", "/etc/service/web", verify_host(failed)) == [
        "web: its last run failed (exit 2)"]
    garbled = timer("down", want="down", is_normally_up=False, timer_record=b"junk")
    assert failed_problems("web", "/etc/service/web", verify_host(garbled)) == [
        "web: unreadable (supervise/timer: not a timer record)"]
    assert TIMER_CHECK == "scheduled and not failed"


def test_the_table_marks_a_timer_by_its_verdict():
    import io

    rows = [ServiceStatus(name, "/etc/sv/" + name, None, True, side, None) for name, side in (
        ("ok", CASES[1][1]), ("failed", CASES[2][1]), ("off", CASES[6][1]),
        ("garbled", UNREADABLE[1][1]))]
    out = io.StringIO()
    print_table(rows, out)
    states = dict(re.findall(r"^(\w+)\s+(\w+)", out.getvalue(), re.M))
    assert states == {"SERVICE": "STATE", "ok": "scheduled", "failed": "failed", "off": "off",
                      "garbled": "unreadable"}, out.getvalue()
