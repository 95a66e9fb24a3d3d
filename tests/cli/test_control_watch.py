"""``restart`` and ``start`` watch what they asked for, as ``apply`` does (issue 44 item 1),
and a crash loop stopped is as wanted (item 5) — real processes, under our runsvdir and the C
runit (``runtime: system``: the C sv drives the C runsv).

A ``run`` that exits 1 at once: ``restart`` and ``start`` exit 3 with its deaths, its last
exit and its log's last lines on stderr, as apply says them — whether sv said ``ok`` (ours,
which sees the run between two deaths) or gave up waiting (the C sv, which mostly never sees a
run that lives a millisecond). A service that stays up: 0, nothing on stderr. Once stopped,
the crash-looper is as wanted; fixed and started again, the deaths before the stop make no
crash loop either (our runtime's tally keeps when it was stopped; the C runit keeps no account
and never called it crash-looping — that side passed before the change too).

Every wait is bounded: sv's own ``--timeout``, the watch's (the same number), and
``wait_until``'s deadlines, generous for a loaded two-core machine.
"""

import json

import pytest

from runit_provision.cli.main import main

from ..apply.test_live import live  # noqa: F401  (the fixture: a LiveTree, ours and the C)
from ..runtime.processes import running_pid, wait_until

pytestmark = pytest.mark.slow

DYING = ["sh", "-c", "echo 'fatal: db unreachable'; exit 1"]
TIMEOUT = "3"  # sv -w, and the watch after it: a crash loop is reported within it


def applied(live, capsys, services):
    """The data applied (a service that dies at once fails the apply: its own watch)."""
    main(live.apply(services))
    capsys.readouterr()
    return ["--data", str(live.data)]


def status(capsys, data):
    capsys.readouterr()
    code = main(["status"] + data + ["--json", "--logs", "0"])
    report = json.loads(capsys.readouterr().out)
    return code, {row["service"]: row for row in report["services"]}


def test_restart_and_start_of_a_crash_loop_exit_3_with_its_deaths_and_its_log(live, capsys):
    data = applied(live, capsys, {"api": {"command": DYING},
                                  "web": {"command": ["sleep", "1000"]}})
    wait_until(lambda: running_pid(live.sv_dir / "web"), timeout=30, what="web running")
    for verb, done in (("restart", "restarted"), ("restart", "restarted"),
                       ("start", "started")):
        code = main([verb] + data + ["--timeout", TIMEOUT, "api"])
        out, err = capsys.readouterr()
        assert code == 3, (verb, out, err)
        lines = err.splitlines()
        died = [line for line in lines
                if line.startswith("runit-provision %s: api: died since it was started: " % verb)]
        assert len(died) == 1, err
        if live.impl == "ours":
            assert ", last exit 1 after " in died[0], err
        else:
            assert "last exit unknown (no account of exits: not our runtime)" in died[0], err
        logged = [line for line in lines if line.startswith("    ")]
        assert logged and logged[-1].endswith(" fatal: db unreachable"), err
        assert lines[-1] == "runit-provision %s: 1 service %s did not stay up: api" % (
            verb, done), err
    for verb in ("restart", "start"):  # what stays up: 0, and nothing said on stderr
        code = main([verb] + data + ["--timeout", TIMEOUT, "web"])
        out, err = capsys.readouterr()
        assert (code, err) == (0, ""), (verb, out)
        assert out.startswith("ok: run: %s" % (live.sv_dir / "web")), out


def test_a_stopped_crash_loop_is_as_wanted_and_started_again_begins_a_new_window(
        live, capsys):
    fixed = live.tmp / "fixed"
    data = applied(live, capsys, {"api": {"command": [
        "sh", "-c", "[ -e %s ] && exec sleep 1000; echo 'fatal: db unreachable'; exit 1"
        % fixed]}})
    if live.impl == "ours":  # our tally: crash-looping after five deaths (some five seconds)
        wait_until(lambda: status(capsys, data)[1]["api"]["verdict"] == "crash-looping",
                   timeout=60, what="api crash-looping")
    code, rows = status(capsys, data)
    assert code == 3 and rows["api"]["verdict"] in ("crash-looping", "not running"), rows
    assert main(["stop"] + data + ["--timeout", "10", "api"]) == 0
    # the C sv says ok on a side with no pid before the C runsv, asleep in its back-off,
    # read the d: its status says want down a second later at most
    rows = wait_until(lambda: _wanted_down(status(capsys, data)), timeout=15,
                      what="api wanted down")
    code, rows = status(capsys, data)
    assert (code, rows["api"]["verdict"]) == (0, "as wanted"), rows
    assert rows["api"]["main"]["crash_looping"] in (False, "unknown"), rows
    fixed.write_text("")
    assert main(["start"] + data + ["--timeout", "10", "api"]) == 0, capsys.readouterr()
    code, rows = status(capsys, data)
    assert (code, rows["api"]["verdict"]) == (0, "as wanted"), rows
    if live.impl == "ours":
        assert rows["api"]["main"]["deaths"] >= 5 and rows["api"]["main"]["deaths_in_window"] \
            == 0, rows  # the counter keeps every death; the window, those since the stop


def _wanted_down(found):
    return found[1] if found[1]["api"]["main"]["want"] == "down" else None
