"""protocol/needsdone: which one-shots a service's ./run waits for now — held by our tree
(down, wanted up) or in its guard (run, started at or after the one-shot's run began, or
before a run with no run done before it), for a one-shot that is running, never ran, or
failed — and host/sides reading it from the files."""

import os

import pytest

from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import probe_side, side_waiting_for
from runit_provision.protocol.lastrun import LastRun, last_run_bytes
from runit_provision.protocol.needsdone import needed_dirs, waited_for

from ..sides import NOW, NS, made_side


def oneshot(state, uptime=0, last=None, want="down"):
    """A one-shot's side: ``state`` for ``uptime`` s, its last run's record ``last``."""
    side = made_side(state, 7 if state == "run" else 0, uptime, want=want)
    return side.replaced(is_oneshot=True, last_run=last)


def ran(exit_code, began_ago):
    """A record of a run that began ``began_ago`` seconds before NOW."""
    return LastRun(exit_code, 0, NOW - began_ago * NS, NOW - began_ago * NS + NS)


HELD = made_side("down", want="up")  # our tree holds its ./run
GUARD = made_side("run", 42, uptime=5)  # its ./run started 5 s ago: the guard, or past it


@pytest.mark.parametrize("dependent, needed, expected", [
    (HELD, oneshot("run", 3, want="up"), [("setup", "running")]),
    (HELD, oneshot("down", last=ran(0, 9)), []),  # done: nothing to wait for
    (HELD, oneshot("down"), [("setup", "never run")]),
    (HELD, oneshot("down", last=ran(1, 9)), [("setup", "failed")]),
    (made_side("down", want="down"), oneshot("run", 3), []),  # not wanted up: no wait
    (made_side("finish", 42, 1), oneshot("run", 3), []),
    (GUARD, oneshot("run", 9, want="up"), [("setup", "running")]),  # started after it began
    # started before this run of it: passed its guard on the run before's record, done
    (GUARD, oneshot("run", 3, want="up", last=ran(0, 60)), []),
    # ... but without a record of a run done before (the C runsvdir starts both at once at
    # boot: the dependent's guard, started first, waits for the one-shot's first run)
    (GUARD, oneshot("run", 3, want="up"), [("setup", "running")]),
    (GUARD, oneshot("run", 3, want="up", last=ran(1, 60)), [("setup", "running")]),
    (GUARD, oneshot("down", last=ran(1, 9)), [("setup", "failed")]),
    (GUARD, oneshot("down", last=ran(1, 3)), []),  # it failed after the guard passed
    (GUARD, oneshot("down"), [("setup", "never run")]),
    (HELD, oneshot("unknown"), []),  # cannot be told: not said
])
def test_what_a_dependent_waits_for(dependent, needed, expected):
    assert waited_for(dependent, [("setup", needed)]) == expected


def test_the_files_lines_are_absolute_directories_bounded():
    assert needed_dirs(b"/a\n./b\n\n/c\0d\n/e/") == ["/a", "/e/"]
    assert len(needed_dirs(b"/x\n" * 1000)) == 64


def test_read_from_the_dependents_needs_done_and_each_one_shots_supervise(tmp_path):
    """No runsv here: the one-shot's side reads as not supervised, its record tells."""
    setup, other = tmp_path / "setup", tmp_path / "other"
    for directory in (setup, other):
        (directory / "supervise").mkdir(parents=True)
    (setup / "supervise/last-run").write_bytes(last_run_bytes(ran(3, 9)))
    (other / "supervise/last-run").write_bytes(last_run_bytes(ran(0, 9)))
    dependent = tmp_path / "web"
    dependent.mkdir()
    (dependent / "needs-done").write_text("%s\n%s\n" % (setup, other))
    with FsReader() as fs:
        def probe(path):
            return probe_side(fs, path)
        assert side_waiting_for(fs, str(dependent), HELD, probe) == (("setup", "failed"),)
        (dependent / "needs-done").unlink()
        (dependent / "needs-done").symlink_to(tmp_path / "elsewhere")  # never followed
        (tmp_path / "elsewhere").write_text("%s\n" % setup)
        assert side_waiting_for(fs, str(dependent), HELD, probe) == ()
        (dependent / "needs-done").unlink()
        os.mkfifo(str(dependent / "needs-done"))  # planted: never waited on (no writer)
        assert side_waiting_for(fs, str(dependent), HELD, probe) == ()
