"""A timer (docs/timers.md) through the views' command lines: ``status`` (its exit code, its
table and the lines under a timer), ``status --json``, ``status --fact`` and ``metrics`` read
the planted records of a service directory with ``schedule`` (read from the host through
host/sides.py, not handed in), its sides served by a stand-in runsv under a --root so that
each state is exact. Then both of verify's probes (python's and sh's) read the same records.
"""

import json
import re
import time

import pytest

from runit_provision.cli.main import main
from runit_provision.protocol.lastrun import LastRun, last_run_bytes
from runit_provision.protocol.status import State, Status, status_to_bytes

from ..apply.helpers import staged_root
from ..checks.helpers import FakeRunsv

DATA = """\
runit::init: none
runit::services:
  nightly: {command: /usr/bin/backup}
"""
SPEC = b"timer 1\nwhen=*-*-* 03:00:00\n"


def state_line(next_s, elapse, skipped=0, timed_out=0, extra=b""):
    return b"timer-state 1 next=%d.000000 elapse=%d.000000 skipped=%d timed_out=%d " \
           b"missed=0%s\n" % (next_s, elapse, skipped, timed_out, extra)


@pytest.fixture
def timer(tmp_path, capsys):
    """Applied under a --root, then made a timer by its records: (side, runsv, run) where
    ``run(*argv)`` is (exit code, stdout) of ``runit-provision ARGV --data … --root …``."""
    root = staged_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    side = root / "etc/sv/nightly"
    runsv = FakeRunsv()
    runsv.serve(side, State.DOWN, want="u")  # our runtime, waiting: down, want up
    runsv.serve(side / "log")
    (side / "schedule").write_bytes(SPEC)

    def run(*argv):
        capsys.readouterr()
        code = main(list(argv) + ["--data", str(data), "--root", str(root)])
        return code, capsys.readouterr().out

    yield side, runsv, run
    runsv.close()


def plant(side, record=None, last=None):
    supervise = side / "supervise"
    for name, content in (("timer", record), ("last-run", last)):
        if content is None:
            (supervise / name).unlink(missing_ok=True)
        else:
            (supervise / name).write_bytes(content)


def test_status_json_fact_and_metrics_tell_a_timer(timer):
    side, runsv, run = timer
    now = int(time.time())
    next_s, elapse = now + 600, now - 3000
    done = last_run_bytes(LastRun(0, 0, elapse * 10**9, (elapse + 2) * 10**9))
    plant(side, state_line(next_s, elapse, skipped=1), done)
    code, out = run("status", "--json", "--logs", "0")
    report = json.loads(out)
    row = report["services"][0]
    assert code == 0, report
    assert row["verdict"].startswith("scheduled (next at %s; last done exit 0 at "
                                     % time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                     time.gmtime(next_s))), row
    assert row["main"]["timer"]["skipped"] == 1 and row["main"]["timer"]["next"] == next_s

    code, out = run("status", "nightly", "--logs", "0")
    assert code == 0 and "scheduled" in out
    assert "skipped for overlap: 1 (a run was still going)" in out
    assert "schedule: *-*-* 03:00:00" in out

    code, out = run("status", "--fact")
    fact = json.loads(out)
    assert (code, fact["services"][0]["verdict"], fact["not_running"]) == (0, "scheduled", [])

    code, out = run("metrics")
    assert 'runit_timer_skipped_total{service="nightly",tree="system",declared="true"} 1\n' \
        in out
    assert 'runit_service_as_wanted{service="nightly",tree="system",declared="true"} 1\n' \
        in out

    # its run fails: red, exit 3, and verify's words
    plant(side, state_line(next_s, elapse),
          last_run_bytes(LastRun(4, 0, elapse * 10**9, (elapse + 2) * 10**9)))
    code, out = run("status", "--json", "--logs", "0")
    report = json.loads(out)
    assert code == 3 and report["services"][0]["verdict"].startswith("failed (exit 4, at ")
    assert report["not_running"] == ["nightly"]  # as a failed one-shot is
    code, out = run("status", "--fact")
    fact = json.loads(out)
    assert (code, fact["services"][0]["verdict"], fact["not_running"]) == (
        3, "failed (exit 4)", ["nightly"])
    code, out = run("metrics")
    assert 'runit_timer_last_run_exit_code{service="nightly",tree="system",' \
           'declared="true"} 4\n' in out

    # a run going (the C runit's way: its waiter runs, and the record's elapse is after the
    # last run's end), then sv down: off, not as the data wants
    runsv.write(side, State.RUN, want="u")
    code, out = run("status", "--json", "--logs", "0")
    assert code == 3  # the waiter runs, and the last run failed: still failed
    plant(side, state_line(next_s, now - 10),
          last_run_bytes(LastRun(4, 0, elapse * 10**9, (elapse + 2) * 10**9)))
    code, out = run("status", "--json", "--logs", "0")
    assert code == 0 and json.loads(out)["services"][0]["verdict"].startswith("running (since")
    runsv.write(side, State.DOWN, want="d")
    code, out = run("status", "--json", "--logs", "0")
    report = json.loads(out)
    assert (code, report["services"][0]["verdict"], report["not_running"]) == (
        3, "off (wanted up)", ["nightly"])
    (side / "down").write_text("")  # down: true — off as the data wants
    code, out = run("status", "--json", "--logs", "0")
    assert (code, json.loads(out)["services"][0]["verdict"]) == (0, "off")


@pytest.mark.parametrize("record, last", [
    (b"\x00\xff" * 40, None), (state_line(0, 0, extra=b" error=bad%20spec"), None),
    (None, b"last-run 1 garbage"), (b"timer-state 1 next=1 elapse=", None)],
    ids=["garbage", "error=", "garbage last-run", "cut short"])
def test_a_garbled_record_makes_status_red_never_a_crash(timer, record, last):
    side, _, run = timer
    plant(side, record, last)
    code, out = run("status", "--json", "--logs", "0")
    row = json.loads(out)["services"][0]
    assert code == 3 and row["verdict"].startswith("unreadable ("), row
    code, out = run("status", "nightly", "--logs", "0")
    assert code == 3 and "unreadable:" in out
    code, out = run("metrics")
    assert code == 0 and "runit_timer_" not in out


def test_a_garbage_schedule_is_unreadable(timer):
    side, _, run = timer
    (side / "schedule").write_bytes(b"\x1b[2J\x00not a spec")
    code, out = run("status", "--json", "--logs", "0")
    assert code == 3
    assert json.loads(out)["services"][0]["verdict"] == \
        'unreadable (schedule: not a timer file (its first line is not "timer 1"))'



def test_a_schedule_that_is_a_link_marks_no_timer(timer, tmp_path):
    """``schedule`` marks a timer only as a regular file (never followed, as ``oneshot``)."""
    side, _, run = timer
    (side / "schedule").unlink()
    (tmp_path / "elsewhere").write_bytes(SPEC)
    (side / "schedule").symlink_to(tmp_path / "elsewhere")
    code, out = run("status", "--json", "--logs", "0")
    row = json.loads(out)["services"][0]
    assert "timer" not in row["main"] and row["verdict"] == "not running", row


def test_both_probes_read_a_timers_records(timer, monkeypatch):
    """verify's reading of a host (python's probe, and sh's for a host without it) carries a
    timer's three records: the snapshot's side tells it as status does."""
    import testinfra

    from runit_provision.checks.expected import running_problems
    from runit_provision.checks.snapshot import Request, take_snapshot

    from ..conftest import OUR_BIN
    from ..runtime.processes import BASE_PATH

    monkeypatch.setenv("PATH", "%s:%s" % (OUR_BIN, BASE_PATH))
    host = testinfra.get_host("local://")
    side, _, _ = timer
    now = int(time.time())
    plant(side, state_line(now + 60, now - 600),
          last_run_bytes(LastRun(2, 0, (now - 600) * 10**9, (now - 590) * 10**9)))
    request = Request().side(str(side))
    for python in (True, False):
        snapshot = take_snapshot(host, request, python=python)
        found = snapshot.side(str(side))
        assert found.is_timer and found.timer.unreadable is None, (python, found.timer)
        assert found.last_run.exit_code == 2
        problems = running_problems("nightly", str(side), snapshot)
        assert len(problems) == 1 and problems[0].startswith("nightly: failed (exit 2, at "), \
            (python, problems)
    plant(side, b"junk")
    for python in (True, False):
        snapshot = take_snapshot(host, request, python=python)
        assert snapshot.side(str(side)).timer.unreadable == \
            "supervise/timer: not a timer record", python


# -- real processes: our runsv runs the timer, status reads what it and the finish wrote ------
@pytest.mark.slow
def test_status_tells_a_timer_our_runsv_runs(tmp_path, capsys):
    """Our runsv runs a timer every two seconds (its job fails, or takes longer than that):
    ``status`` says failed with its next run, running while a run is going, the skipped
    elapses, and ``off (wanted up)`` after ``sv down`` — every wait bounded."""
    from runit_provision.protocol.timer import TimerSpec, timer_spec_bytes

    from ..conftest import our_tool
    from ..runtime.processes import (
        BASE_PATH, Processes, send_control, status_record, wait_until, write_file)
    from ..runtime.test_runsv_timer import FINISH, SH

    root = staged_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text(DATA.replace("backup}", "backup, log: false}"))
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    side = root / "etc/sv/nightly"
    write_file(side / "schedule", timer_spec_bytes(TimerSpec("*:*:0/2 UTC")).decode())
    write_file(side / "job", SH + "[ -e slow ] && sleep 3\nexit 3\n", 0o755)
    write_file(side / "finish", FINISH, 0o755)

    def status():
        capsys.readouterr()
        code = main(["status", "--data", str(data), "--root", str(root), "--json", "--logs",
                     "0", "nightly"])
        return code, json.loads(capsys.readouterr().out)["services"][0]

    processes = Processes()
    try:
        processes.start([our_tool("runsv"), "nightly"], cwd=str(side.parent),
                        env={"PATH": BASE_PATH}, output=str(tmp_path / "runsv.out"))
        code, row = wait_until(lambda: (lambda found: found if found[1]["verdict"].startswith(
            "failed") else None)(status()), timeout=15, what="a failed run told")
        assert code == 3 and re.match(
            r"failed \(exit 3, at \S+Z; next at \S+Z\)\Z", row["verdict"]), row
        assert row["main"]["timer"]["last_run"]["exit"] == {"code": 3}
        (side / "slow").write_text("")  # runs of 3 s, every 2 s: running, then skipped
        code, row = wait_until(lambda: (lambda found: found if found[1]["verdict"].startswith(
            "running (since") else None)(status()), timeout=15, what="a run going told")
        assert code == 0 and row["main"]["timer"]["state"] == "running", row
        wait_until(lambda: status()[1]["main"]["timer"]["skipped"] >= 1, timeout=15,
                   what="an elapse skipped")
        (side / "slow").unlink()
        send_control(side, b"d")
        wait_until(lambda: status_record(side).want == "d"
                   and status_record(side).state == State.DOWN, timeout=15, what="sv down")
        code, row = status()
        assert (code, row["verdict"]) == (3, "off (wanted up)"), row
    finally:
        processes.kill_all()
