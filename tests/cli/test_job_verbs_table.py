"""The verbs' table for a timer (apply/drive.py ``TIMER_VERBS``) is whole, and docs/jobs.md's
table names each verb — pure; what each does to real processes: test_job_verbs.py."""

import re
from pathlib import Path

from runit_provision.apply.drive import TIMER_VERBS, Doing, job_argvs
from runit_provision.cli.control import VERBS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "jobs.md"


class Timer:
    path, is_oneshot, is_timer = "/etc/sv/tick", False, True


class OneShot:
    path, is_oneshot, is_timer = "/etc/sv/setup", True, False


def test_every_verb_has_a_meaning_for_a_timer_in_every_state():
    words = [word for pair in VERBS.values() for word in pair if word is not None]
    assert set(TIMER_VERBS) == {(word, doing) for word in words for doing in Doing}


def test_no_verb_of_a_timer_waits_for_a_run_and_a_refresh_sends_nothing():
    for (verb, doing), (command, _) in TIMER_VERBS.items():
        argvs, said = job_argvs(["sv"], verb, Timer, 7, doing)
        if verb == "try-restart":
            assert argvs == [] and said.startswith("a timer: not restarted"), doing
        for argv in argvs:  # sv waits only for what runsv does at once: armed, or down
            assert "-w" not in argv or argv[3] in ("start", "stop"), (verb, doing, argv)
    assert job_argvs(["sv"], "once", Timer, 7, Doing.WAITING)[0] == [
        ["sv", "1", "/etc/sv/tick"]]
    assert job_argvs(["sv"], "once", Timer, 7, Doing.OFF)[0] == [
        ["sv", "once", "/etc/sv/tick"]]


def test_a_one_shot_that_does_not_run_has_nothing_to_signal():
    for verb in ("term", "hup"):
        assert job_argvs(["sv"], verb, OneShot, 7, Doing.OFF) == (
            [], "a one-shot: nothing to signal: no job runs")
        assert job_argvs(["sv"], verb, OneShot, 7, Doing.RUNNING)[0] == [
            ["sv", "-w", "7", verb, "/etc/sv/setup"]]


def test_the_docs_table_has_a_row_for_each_verb():
    text = DOCS.read_text()
    table = text[text.index("## The verbs"):text.index("## Exit codes")]
    rows = re.findall(r"^\| `([a-z -]+)`", table, re.M)
    assert rows == ["start", "restart", "restart --if-running", "stop", "once", "hup", "term"]
    assert all(row.count("|") == 7 for row in table.splitlines() if row.startswith("| `"))


def test_ok_is_said_only_of_a_service_whose_verb_did_what_it_was_asked():
    """``once`` of a timer whose run fails, or of one still running at the timeout, exits
    3: nothing of it is said ``ok:`` — what the verb did is said only once it is done."""
    from runit_provision.apply.drive import ok_lines

    _, said = job_argvs(["sv"], "once", Timer, 7, Doing.WAITING)
    notes = {"tick": said, "failtimer": said, "longtimer": said}
    done = {"tick": "done (exit 0, at T, took 1.0s)"}
    assert ok_lines(["tick", "failtimer", "longtimer"], notes, done,
                    {"failtimer", "longtimer"}) == [
        "ok: tick: a timer: its job run at once; the schedule stays armed\n",
        "ok: tick: done (exit 0, at T, took 1.0s)\n"]
