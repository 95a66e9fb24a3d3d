"""root's views of sides whose records a user planted — pure: the records in a temp
directory read by host/sides.read_side, each side's status made up. One hostile record costs
its side's row: status's table and the lines under it, ``--json``, the fact, metrics and the
verdict verify judges by say ``unreadable (WHY)`` for it — never as wanted — and every other
row is as before; whatever the bytes, nothing raises and nothing a terminal acts on is
printed."""

import io
import json
import random

import pytest

from runit_provision.cli.status import print_table
from runit_provision.health.metrics import exposition
from runit_provision.health.status import ServiceStatus
from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import read_side

from ..protocol.test_hostile_records import (HOSTILE_RECORDS, HOSTILE_VALUES, SEED, replaced,
                                             tally_line)
from ..sides import NOW, NS, made_side

GOOD_READINESS = (b"state ready\npid 42\nstarted %d\nready %d\nmainpid 0\nrefused 0\nfailed \n"
                  b"status serving\n" % (NOW - NS, NOW))
ESCAPES = b"\x1b[2J\x1b]0;pwned\x07\xc2\x9b31m"


def plant(base, name, records, marks=()):
    """A service directory ``name`` under ``base`` with ``records`` ({relative path: bytes})
    and the empty ``marks`` files (``oneshot``); its path."""
    side = base / name
    (side / "supervise").mkdir(parents=True)
    for mark in marks:
        (side / mark).write_bytes(b"")
    for relative, content in records.items():
        (side / relative).write_bytes(content)
    return side


def row_of(fs, side, state, pid=0, want="up", label=None):
    found = read_side(fs, str(side), NOW // NS, probe=lambda where: made_side(
        state, pid, 5, want=want))
    return ServiceStatus(label or side.name, str(side), None, True, found, None)


def views_of(rows):
    """Every view of ``rows``: the table (with the lines under it), the JSON, the fact, the
    metrics — made as the CLI makes them; each must be valid and inert."""
    table = io.StringIO()
    print_table(rows, table)
    document = json.dumps([row.as_json() for row in rows], allow_nan=False)
    fact = json.dumps([row.as_fact() for row in rows], allow_nan=False)
    metrics = exposition(rows)
    for text in (table.getvalue(), document, fact, metrics):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, text
    metrics.encode("utf-8")
    return table.getvalue(), json.loads(document), json.loads(fact), metrics


def test_each_hostile_record_costs_its_row_only(tmp_path):
    due = b"%d.000000000" % (NOW // NS + 3600)
    sides = {
        "nightly": (plant(tmp_path, "nightly", {
            "schedule": b"timer 1\nwhen=*-*-* 03:00:00\n",
            "supervise/timer": b"timer-state 1 next=%s elapse=0 skipped=0 timed_out=0 "
                               b"missed=0\n" % (b"9" * 20)}), "down", 0),
        "setup": (plant(tmp_path, "setup", {
            "supervise/last-run": b"last-run 1 exit=0 signal=0 started=1 "
                                  b"ended=99999999999999999\n"}, ["oneshot"]), "down", 0),
        "web": (plant(tmp_path, "web", {
            "backoff": b"backoff 1 first=1 max=10 steps=3 jitter=0 reset=60\n",
            "supervise/tally": tally_line(delay=b"1e300", due=due)}), "down", 0),
        "banner": (plant(tmp_path, "banner", {
            "supervise/readiness": GOOD_READINESS.replace(b"status serving", b"status "
                                                          + ESCAPES).replace(
                b"started %d" % (NOW - NS), b"started 1e300")}), "run", 42),
        "legacy": (plant(tmp_path, "legacy", {
            "backoff-state": b"backoff-state 1 pid=42 restarts=1 step=0/0 delay=nan due=1"}),
            "finish", 42),
        "fine": (plant(tmp_path, "fine", {
            "supervise/readiness": GOOD_READINESS.replace(b"status serving",
                                                          b"status " + ESCAPES)}), "run", 42),
        "done": (plant(tmp_path, "done", {
            "supervise/last-run": b"last-run 1 exit=0 signal=0 started=1700000000 "
                                  b"ended=1700000001.5\n"}, ["oneshot"]), "down", 0),
    }
    with FsReader("/") as fs:
        rows = [row_of(fs, side, state, pid, want="down" if name in ("setup", "done")
                       else "up", label=name)
                for name, (side, state, pid) in sides.items()]
    table, document, fact, metrics = views_of(rows)
    verdicts = {row["service"]: row["verdict"] for row in document}
    assert verdicts == {
        "nightly": "unreadable (supervise/timer: next=99999999999999999999 is not a time "
                   "within 1970..9999)",
        "setup": "unreadable (supervise/last-run: ended=99999999999999999 is not a time "
                 "within 1970..9999)",
        "web": "unreadable (supervise/tally: delay=1e300 is not a number of seconds within "
               "0..172800)",
        "banner": "unreadable (supervise/readiness: started=1e300 is not a time within "
                  "1970..9999)",
        "legacy": "unreadable (backoff-state: delay=nan is not a number of seconds within "
                  "0..172800)",
        "fine": "as wanted",
        "done": "done (exit 0, at 2023-11-14T22:13:21Z, took 1.5s)"}, verdicts
    assert {row["service"]: row["verdict"] for row in fact}["setup"].startswith("unreadable (")
    assert [row["main"]["unreadable"] for row in document if row["service"] == "web"] == [
        "supervise/tally: delay=1e300 is not a number of seconds within 0..172800"]
    assert "unreadable" not in [row for row in document if row["service"] == "fine"][0]["main"]
    lines = table.splitlines()
    for name in ("setup", "web", "banner", "legacy"):
        row = [line for line in lines if line.startswith(name + " ")]
        assert len(row) == 1 and row[0].split()[1] == "unreadable", lines
    assert "  unreadable: supervise/tally: delay=1e300 is not a number" in table
    assert "ready after 1.00 s: \\x1b[2J\\x1b]0;pwned\\x07\\u009b31m" in table  # escaped
    for name in ("nightly", "setup", "web", "banner", "legacy"):
        labels = '{service="%s",tree="system",declared="true"}' % name
        assert "runit_service_as_wanted%s 0\n" % labels in metrics
        assert "runit_service_unreadable%s 1\n" % labels in metrics
    fine = '{service="fine",tree="system",declared="true"}'
    assert "runit_service_as_wanted%s 1\n" % fine in metrics
    assert "runit_service_unreadable%s" % fine not in metrics
    assert "runit_service_ready%s 1\n" % fine in metrics
    # nothing made up from an unreadable record: no series of the tally, the one-shot's run
    assert 'runit_service_deaths_total{service="web"' not in metrics
    assert 'runit_service_oneshot_last_run_exit_code{service="setup"' not in metrics
    assert 'runit_service_oneshot_failed{service="setup"' not in metrics
    assert 'runit_service_oneshot_failed{service="done",tree="system",declared="true"} 0' \
        in metrics
    assert all(not row.verdict.is_as_wanted for row in rows[:5])


@pytest.mark.parametrize("state, pid", [("run", 42), ("down", 0), ("finish", 42)])
def test_random_hostile_records_never_break_a_view(tmp_path, state, pid):
    rng = random.Random("%d %s" % (SEED, state))
    names = {"supervise/tally": [b"pid", b"at", b"ran", b"recent", b"delay", b"due", b"step"],
             "supervise/last-run": [b"exit", b"signal", b"started", b"ended", b"boot"],
             "supervise/timer": [b"next", b"elapse", b"skipped", b"started"],
             "supervise/readiness": [], "backoff-state": [b"pid", b"delay", b"due", b"step"]}
    good = {"supervise/tally": tally_line(pid=b"%d" % pid),
            "supervise/last-run": b"last-run 1 exit=0 signal=0 started=1 ended=2 boot=b",
            "supervise/timer": b"timer-state 1 next=1 elapse=1 skipped=0 timed_out=0",
            "supervise/readiness": GOOD_READINESS,
            "backoff-state": b"backoff-state 1 pid=42 restarts=1 step=0/1 delay=1 due=1"}
    rows = []
    with FsReader("/") as fs:
        for number in range(60):
            records = {}
            for record, fields in names.items():
                if rng.random() < 0.3:
                    records[record] = rng.choice(HOSTILE_RECORDS[:6])
                elif fields and rng.random() < 0.7:
                    records[record] = replaced(good[record], rng.choice(fields),
                                               rng.choice(HOSTILE_VALUES))
                else:
                    records[record] = good[record]
            if rng.random() < 0.5:
                records["schedule"] = b"timer 1\nwhen=daily\n"
            marks = ["oneshot"] if rng.random() < 0.5 else []
            side = plant(tmp_path, "svc%d" % number, records, marks)
            rows.append(row_of(fs, side, state, pid))
    views_of(rows)
    for row in rows:
        if row.main.unreadable or (row.main.timer is not None
                                   and row.main.timer.unreadable is not None):
            assert not row.verdict.is_as_wanted, row.verdict
