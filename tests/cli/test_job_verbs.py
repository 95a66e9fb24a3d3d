"""The verbs on a timer and a one-shot (docs/jobs.md "The verbs"), the same under both
runtimes — real processes, under our runsvdir and under the C runit (``runtime: system``: the
C sv, the C runsv, ``timer-run`` as a timer's ``./run``), one tree each.

``TABLE`` holds, as data, each verb asked of a job in a state: the verb's argv, the exit code,
a line it must print, and what the job does after it (waiting, running, off; a one-shot's
last run) and how many runs its job has had. The rows run in order on one tree: each leaves
the job in the state the next row begins from, so a tree serves every case. Then our sv's own
words and ``sv check`` of each state (docs/sv.md), and a schedule with no elapse left.

The timers' schedules are once a day, hours away: no elapse falls during the test, every run
is one a verb asked for. Every wait is bounded (the verbs' ``--timeout``, ``wait_until``'s
deadlines), generous for a loaded two-core machine.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from runit_provision.cli.main import main

from ..apply.test_live import live  # noqa: F401  (the fixture: a LiveTree, ours and the C)
from ..conftest import our_tool
from ..runtime.processes import wait_until

pytestmark = pytest.mark.slow

T = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def services(live):
    if not (live.bin / "timer-run").exists():  # the C runsv's timers' waiter
        (live.bin / "timer-run").symlink_to(our_tool("timer-run"))
    marks = live.tmp / "runs"
    marks.mkdir()
    later = time.gmtime(time.time() + 7200)
    daily = "*-*-* %02d:%02d:00 UTC" % (later.tm_hour, later.tm_min)

    def job(name, then="exit 0", **more):
        return dict({"command": ["sh", "-c", "echo ran >>%s/%s; %s" % (marks, name, then)]},
                    **more)
    return {
        "tick": job("tick", schedule=daily),
        "failtimer": job("failtimer", "echo 'fatal: no disk'; exit 3", schedule=daily),
        "longtimer": job("longtimer", "exec sleep 60", schedule=daily),
        "offtimer": job("offtimer", schedule=daily, down=True),
        "spent": job("spent", schedule="2020-01-01 00:00"),  # no elapse after now
        "setup": job("setup", oneshot=True),
        "setup-bad": job("setup-bad", "echo 'fatal: no disk'; exit 3", oneshot=True),
        "setup-never": job("setup-never", oneshot=True, down=True),
        "setup-long": job("setup-long", "exec sleep 60", oneshot=True),
    }, marks


# (argv, exit code, a line printed (a regex searched in stdout + stderr), the job's state
# after it, its runs so far). A timer's state: waiting / running / off; a one-shot's: its
# verdict's first word.
TABLE = [
    # a timer waiting: start and restart arm it at once, a refresh is nothing, term has
    # nothing to signal, hup re-arms, once runs the job now and keeps the schedule
    (["start", "tick"], 0, r"^ok: ", "waiting", 0),
    (["restart", "tick"], 0, r"^ok: tick: a timer: armed anew", "waiting", 0),
    (["restart", "--if-running", "tick"], 0, r"^ok: tick: a timer: not restarted", "waiting",
     0),
    (["term", "tick"], 0, r"^ok: tick: a timer: nothing to signal", "waiting", 0),
    (["hup", "tick"], 0, r"^ok: tick: a timer: armed anew", "waiting", 0),
    (["once", "tick"], 0, r"^ok: tick: a timer: its job run at once; the schedule stays "
     r"armed\nok: tick: done \(exit 0, at %s" % T, "waiting", 1),
    (["once", "failtimer"], 3,
     r"^runit-provision once: failtimer: failed: its run ended with exit 3", "waiting", 1),
    (["once", "failtimer"], 3, r"^    .*fatal: no disk$", "waiting", 2),
    # stop disarms; off: nothing to signal, a refresh is nothing, once runs it and it stays
    # off, start arms it again
    (["stop", "tick"], 0, r"^ok: down: ", "off", 1),
    (["term", "tick"], 0, r"^ok: tick: a timer: nothing to signal", "off", 1),
    (["hup", "tick"], 0, r"^ok: tick: a timer: nothing to signal", "off", 1),
    (["restart", "--if-running", "tick"], 0, r"^ok: tick: a timer: not restarted", "off", 1),
    (["once", "tick"], 0, r"^ok: tick: done \(exit 0", "off", 2),
    (["start", "tick"], 0, r"^ok: ", "waiting", 2),
    (["once", "offtimer"], 0, r"^ok: offtimer: done \(exit 0", "off", 1),
    (["restart", "offtimer"], 0, r"^ok: ", "waiting", 1),
    # a run under way (once, whose --timeout ends first: not done, 3): left alone by a
    # refresh, restart and start; once waits for its end; term goes to the job
    (["once", "--timeout", "1", "longtimer"], 3, r"longtimer: not done: still running",
     "running", 1),
    (["restart", "--if-running", "longtimer"], 0, r"^ok: longtimer: a timer: not restarted",
     "running", 1),
    (["restart", "longtimer"], 0, r"^ok: longtimer: a timer: its run under way is left",
     "running", 1),
    (["start", "longtimer"], 0, r"^ok: ", "running", 1),
    (["once", "--timeout", "1", "longtimer"], 3, r"longtimer: not done: still running",
     "running", 1),
    (["term", "longtimer"], 0, r"", "waiting", 1),
    (["once", "--timeout", "1", "longtimer"], 3, r"not done", "running", 2),
    (["hup", "longtimer"], 0, r"", "waiting", 2),  # HUP to the job: sleep ends
    (["once", "--timeout", "1", "longtimer"], 3, r"not done", "running", 3),
    (["stop", "longtimer"], 0, r"^ok: down: ", "off", 3),
    # one-shots: start, restart and once run it to its end; a refresh is nothing; term has
    # nothing to signal once it ran
    (["start", "setup"], 0, r"^ok: setup: done \(exit 0", "done", 2),
    (["restart", "setup"], 0, r"^ok: setup: done \(exit 0", "done", 3),
    (["once", "setup"], 0, r"^ok: setup: done \(exit 0", "done", 4),
    (["restart", "--if-running", "setup"], 0, r"^ok: setup: a one-shot: not restarted",
     "done", 4),
    (["term", "setup"], 0, r"^ok: setup: a one-shot: nothing to signal", "done", 4),
    (["stop", "setup"], 0, r"^ok: down: ", "done", 4),
    (["start", "setup-bad"], 3, r"setup-bad: failed: its run ended with exit 3", "failed", 2),
    (["once", "setup-never"], 0, r"^ok: setup-never: done \(exit 0", "done", 1),
    # a one-shot's run under way: a refresh leaves it, stop ends it (recorded: signal 15)
    (["restart", "--if-running", "setup-long"], 0, r"^ok: setup-long: a one-shot: not "
     r"restarted", "running", 1),
    (["stop", "setup-long"], 0, r"^ok: down: ", "failed", 1),
]


def verdicts(capsys, data):
    capsys.readouterr()
    main(["status", "--json", "--logs", "0"] + data)
    return {row["service"]: row for row in json.loads(capsys.readouterr().out)["services"]}


def doing(row):
    """A timer's waiting / running / off, a one-shot's verdict's first word."""
    word = row["verdict"].split(" ")[0]
    return {"scheduled": "waiting", "failed": "waiting"}.get(word, word) \
        if row["main"].get("timer") is not None else word


def runs(marks, name):
    path = marks / name
    return path.read_text().count("ran\n") if path.exists() else 0


def test_each_verb_on_a_timer_and_a_one_shot_in_each_state(live, capsys):
    wanted, marks = services(live)
    argv = live.apply(wanted)
    # setup-bad fails at the apply: its exit is apply's 1 (or 3); the spent schedule is
    # applied, with a warning
    assert main([arg for arg in argv if arg != "--json"]) in (1, 3), capsys.readouterr()
    assert "runit-provision apply: warning: spent: schedule '2020-01-01 00:00' has no " \
        "elapse after now: the timer never runs (status says no next run)\n" in \
        capsys.readouterr().err
    data = ["--data", str(live.data)]
    # a timer that never runs again says so, and is not as wanted
    row = wait_until(lambda: verdicts(capsys, data)["spent"]["verdict"].startswith("no next")
                     and verdicts(capsys, data)["spent"], timeout=30, what="spent told")
    assert row["verdict"] == "no next run (its schedule has no elapse left)", row
    capsys.readouterr()
    assert main(["status", "spent", "--logs", "0"] + data) == 3
    assert "next run: none (the schedule has no more elapses)" in capsys.readouterr().out
    wait_until(lambda: all(doing(row) in ("waiting", "off") for name, row in verdicts(
        capsys, data).items() if name.endswith("timer") or name == "tick"), timeout=30,
        what="every timer armed")
    # setup and setup-bad ran at the apply: 1 run each
    wait_until(lambda: runs(marks, "setup") and runs(marks, "setup-bad")
               and runs(marks, "setup-long"), timeout=30, what="the one-shots' first runs")
    failures = []
    for verb, code, said, after, count in TABLE:
        name = verb[-1]
        began = time.monotonic()
        capsys.readouterr()
        found = main(verb + data + (["--timeout", "10"] if "--timeout" not in verb else []))
        took = time.monotonic() - began
        out, err = capsys.readouterr()
        row = verdicts(capsys, data)[name]
        where = "%s (%s): exit %s in %.1f s\n%s%s%s" % (" ".join(verb), live.impl, found, took,
                                                      out, err, row["verdict"])
        if found != code or not re.search(said, out + err, re.M):
            failures.append(where)
            continue
        if code and re.search(r"^ok: %s: " % re.escape(name), out, re.M):
            failures.append("ok said, exit %d: %s" % (code, where))  # words and exit agree
        if took > 6:  # nothing waits for more than a run of a moment (or a --timeout of 1)
            failures.append("slow: " + where)
        try:  # what the job does after the verb settles within moments (a run's end)
            wait_until(lambda: doing(verdicts(capsys, data)[name]) == after
                       and runs(marks, name) == count, timeout=15, what=where)
        except AssertionError:
            failures.append("after: want %s, %d runs; %s, %d runs: %s" % (
                after, count, doing(verdicts(capsys, data)[name]), runs(marks, name), where))
    assert not failures, "\n\n".join(failures)

    # our sv says what each job does, and check judges it (the C sv knows nothing of them:
    # docs/sv.md); against either runsv
    assert main(["start"] + data + ["longtimer"]) == 0
    main(["once", "--timeout", "1", "longtimer"] + data)
    wait_until(lambda: doing(verdicts(capsys, data)["longtimer"]) == "running", timeout=15,
               what="longtimer running")
    for name, words, checked in SV_TABLE:
        path = str(live.sv_dir / name)
        said = sv("status", path)
        assert said.returncode == 0 and re.fullmatch(
            r"(run|down): %s: .*; %s(; run: log: .*)?\n" % (re.escape(path), words),
            said.stdout), (name, said)
        began = time.monotonic()
        said = sv("-w", "2", "check", path)
        assert said.returncode == (0 if checked else 1), (name, said)
        assert said.stdout.startswith("ok: " if checked else "timeout: "), (name, said)
        assert time.monotonic() - began < (6 if checked else 10), (name, said)
    for command in ("start", "up", "restart"):  # a timer armed: ok at once
        began = time.monotonic()
        said = sv("-w", "5", command, str(live.sv_dir / "tick"))
        assert said.returncode == 0 and said.stdout.startswith("ok: "), (command, said)
        assert time.monotonic() - began < 5, (command, said)
    assert main(["stop"] + data + ["longtimer"]) == 0


# our sv's words after a job's part (a regex), and whether sv check passes
SV_TABLE = [
    ("tick", r"waiting, next at %s" % T, True),
    ("failtimer", r"waiting, next at %s, last run failed \(exit 3\)" % T, True),
    ("longtimer", r"running, next at %s" % T, True),
    ("offtimer", r"waiting, next at %s" % T, True),
    ("setup", r"done \(exit 0\)", True),
    ("setup-bad", r"failed \(exit 3\)", False),
    ("spent", r"waiting, no next run", False),
]


def sv(*args):
    return subprocess.run([our_tool("sv")] + list(args), capture_output=True, text=True,
                          timeout=60)
