"""A one-shot across a restart of its tree (docs/jobs.md, "Boot and a tree started again") —
real processes, under our runsvdir and under the C runit alike.

A tree stopped with its services (HUP: the same teardown under both) and started again runs a
done one-shot again, as at boot: runsv starts every service that has no ``down`` file. A tree
killed (``kill -9``) and started again takes over where it was — ours from its records, the C
runit's runsvs living on — so a done one-shot stays done, and one that was running is taken
over, not run a second time.
"""

import os
import re
import signal

import pytest

from ..apply.test_live import live  # noqa: F401  (the fixture: a LiveTree, ours and the C)
from ..runtime.processes import is_runsv_up, read_bytes, running_pid, wait_until
from .test_oneshot import STAMP, applied, status

pytestmark = pytest.mark.slow


def runs_of(path):
    return path.read_text().count("run\n") if path.exists() else 0


def setup_row(capsys, data):
    return status(capsys, data, "setup")[1]["services"][0]


def kill_tree(live):
    """``kill -9`` of the tree's runsvdir alone: what it started lives on."""
    os.kill(live.proc.pid, signal.SIGKILL)
    live.proc.wait(30)
    live.proc = None


def taken_over(live, web_pid):
    """The tree started again serves ``setup`` and still has ``web`` as it was: whatever a
    fresh start would do, it has done."""
    live.start()
    setup = live.sv_dir / "setup"
    wait_until(lambda: is_runsv_up(setup) and is_runsv_up(setup / "log"), timeout=30,
               what="the tree started again serving setup")
    wait_until(lambda: running_pid(live.sv_dir / "web") == web_pid, timeout=30,
               what="web taken over (pid %d)" % web_pid)


def test_a_done_one_shot_runs_again_when_its_tree_starts_afresh_not_when_taken_over(
        live, capsys):
    """Stopped (HUP) and started: run again, done. Killed and started: the same run."""
    runs = live.tmp / "runs"
    data = applied(live, capsys, {
        "setup": {"oneshot": True, "command": ["sh", "-c", "echo run >>%s" % runs]},
        "web": {"command": ["sleep", "1000"]}})

    record = live.sv_dir / "setup" / "supervise" / "last-run"

    def done(count, before=None):
        """setup's row once its run ``count`` is done: its record is not ``before`` (a run
        may write ``runs`` before its runsv's status says it runs)."""
        if runs_of(runs) != count or read_bytes(record) == before:
            return None
        row = setup_row(capsys, data)
        return row if row["main"].get("job") == "done" else None
    wait_until(lambda: done(1), timeout=30, what="setup done")

    live.proc.send_signal(signal.SIGHUP)  # stopped, its services with it
    live.proc.wait(30)
    live.proc = None
    wait_until(lambda: not is_runsv_up(live.sv_dir / "setup"), timeout=30,
               what="every runsv gone")
    first = read_bytes(record)
    live.start()
    again = wait_until(lambda: done(2, first), timeout=30, what="setup run again, done")
    web_pid = wait_until(lambda: running_pid(live.sv_dir / "web"), what="web running again")

    kill_tree(live)
    taken_over(live, web_pid)
    # a start would begin within milliseconds of the tree's own: look for a while all the same
    with pytest.raises(AssertionError):
        wait_until(lambda: runs_of(runs) > 2, timeout=3, what="setup run again")
    assert setup_row(capsys, data)["verdict"] == again["verdict"]  # the same run: done


def test_a_one_shot_running_when_its_tree_is_killed_is_taken_over_not_run_twice(
        live, capsys):
    """Its end is seen by the tree that took it over. The C runsv, which lived on, waited for
    it: ``done``. Our tree did not start it, and the exit of a process one did not start
    cannot be waited for: ``failed (unknown, at T)`` — never a second run."""
    runs, gate = live.tmp / "runs", live.tmp / "gate"
    data = applied(live, capsys, {
        "setup": {"oneshot": True, "command": [
            "sh", "-c", "echo run >>%s; until [ -e %s ]; do sleep 0.1; done" % (runs, gate)]},
        "web": {"command": ["sleep", "1000"]}})
    wait_until(lambda: runs_of(runs) == 1 and setup_row(capsys, data)["main"].get("job")
               == "running", timeout=30, what="setup running")
    web_pid = wait_until(lambda: running_pid(live.sv_dir / "web"), what="web running")
    kill_tree(live)
    taken_over(live, web_pid)
    assert setup_row(capsys, data)["main"]["job"] == "running"
    gate.write_text("")
    row = wait_until(lambda: (lambda row: row if row["main"].get("job") != "running"
                              else None)(setup_row(capsys, data)),
                     timeout=30, what="setup's end seen")
    word = {"c": r"done \(exit 0, %s, took \d+\.\ds\)", "ours": r"failed \(unknown, %s\)"}
    assert re.fullmatch(word[live.impl] % STAMP, row["verdict"]), row
    assert runs_of(runs) == 1
