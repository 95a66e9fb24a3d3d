"""protocol/needsdone: which one-shots a service's ./run waits for now — held by our tree
(down, wanted up) or in its guard (run, started at or after the one-shot's run began, or
before a run with no run done before it), for a one-shot that is running, never ran, or
failed; by its guard's own word (``needs-passed``: this run's pid in this boot) where it said
one — and host/sides reading it from the files."""

import os

import pytest

from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import probe_side, side_waiting_for
from runit_provision.protocol.lastrun import LastRun, last_run_bytes
from runit_provision.protocol.needsdone import guard_passed, needed_dirs, waited_for

from ..sides import NOW, NS, made_side


def oneshot(state, uptime=0, last=None, want="down"):
    """A one-shot's side: ``state`` for ``uptime`` s, its last run's record ``last``."""
    side = made_side(state, 7 if state == "run" else 0, uptime, want=want)
    return side.replaced(is_oneshot=True, last_run=last)


def ran(exit_code, began_ago, boot=None):
    """A record of a run that began ``began_ago`` seconds before NOW (in ``boot``)."""
    return LastRun(exit_code, 0, NOW - began_ago * NS, NOW - began_ago * NS + NS, boot)


BOOT, BEFORE = "b1", "b0"  # this boot's id, and the boot before's


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


def passed_by(pid, boot=BOOT):
    """The guard's word, as ``./run`` writes it: ``pid`` passed in ``boot``."""
    return b"needs-passed 1 pid=%d boot=%s\n" % (pid, boot.encode())


@pytest.mark.parametrize("word, needed, expected", [
    # the guard let this run through: whatever the timing says, it waits for nothing
    (passed_by(42), oneshot("run", 3, want="up"), []),
    (passed_by(42), oneshot("down", last=ran(1, 9)), []),
    # its word is another run's (the pid before, the boot before): this run waits — the
    # case timing alone told as wanted: started before a run that then failed
    (passed_by(41), oneshot("down", last=ran(1, 3)), [("setup", "failed")]),
    (passed_by(41), oneshot("run", 3, want="up", last=ran(0, 60)), [("setup", "running")]),
    (passed_by(42, BEFORE), oneshot("run", 3, want="up", last=ran(0, 60)),
     [("setup", "running")]),
    # a supervise/ that outlived a reboot: the boot before's done is no run of this one
    (passed_by(41), oneshot("down", last=ran(0, 60, BEFORE)), [("setup", "never run")]),
    (passed_by(41), oneshot("down", last=ran(0, 60, BOOT)), []),  # between its look and word
    # marked down: run once, any boot's record counts
    (passed_by(41), oneshot("down", last=ran(0, 60, BEFORE)).replaced(is_normally_up=False),
     []),
    # no word (rendered before it was said, a directory not writable): the timing decides
    (None, oneshot("down", last=ran(1, 3)), []),
])
def test_a_guards_word_decides_for_a_dependent_that_runs(word, needed, expected):
    assert waited_for(GUARD, [("setup", needed)], word, BOOT) == expected


def test_a_guards_word_is_never_taken_without_a_boot_id():
    """Pids at boot repeat from boot to boot: a pid alone may be the boot before's."""
    word = b"needs-passed 1 pid=42 boot=b1\n"
    assert guard_passed(GUARD, word, None) is None
    assert guard_passed(GUARD, word, "unknown") is None
    assert guard_passed(GUARD, word.replace(b"b1", b"unknown"), BOOT) is None
    assert guard_passed(GUARD, b"needs-passed 1 pid=x boot=b1", BOOT) is None
    assert guard_passed(GUARD, b"needs-passed 2 pid=42 boot=b1", BOOT) is None


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


def test_read_with_the_guards_word_never_followed_nor_waited_on(tmp_path):
    """The dependent runs (pid 42, started before setup's failed run): its guard's word decides
    — its own pid in this boot: passed; another's: waits. A link or a FIFO planted for the
    word is not read (never followed, never waited on): the timing decides then."""
    from runit_provision.protocol.layout import boot_id as this_boot

    setup = tmp_path / "setup"
    (setup / "supervise").mkdir(parents=True)
    (setup / "supervise/last-run").write_bytes(last_run_bytes(ran(1, 3), boot=this_boot()))
    dependent = tmp_path / "web"
    dependent.mkdir()
    (dependent / "needs-done").write_text("%s\n" % setup)
    word = dependent / "needs-passed"
    with FsReader() as fs:
        def probe(path):
            return probe_side(fs, path)

        def waits():
            return side_waiting_for(fs, str(dependent), GUARD, probe)
        assert waits() == ()  # no word: started before the run, taken to have passed
        word.write_text("needs-passed 1 pid=41 boot=%s\n" % this_boot())
        assert waits() == (("setup", "failed"),)
        word.write_text("needs-passed 1 pid=42 boot=%s\n" % this_boot())
        assert waits() == ()
        word.unlink()
        (tmp_path / "elsewhere").write_text("needs-passed 1 pid=41 boot=%s\n" % this_boot())
        word.symlink_to(tmp_path / "elsewhere")
        assert waits() == ()
        word.unlink()
        os.mkfifo(str(word))
        assert waits() == ()
