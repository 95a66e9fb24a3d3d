"""adoption.claim: a process a record names is taken only when it is the one the record means —
alive, started when the record says, of the uid it must be, supervised by no one yet — and the
checks are made on the process a pidfd holds (issue 43). Real processes, no timing."""

import os
import signal
import subprocess

import pytest

from runit_provision.runtime.supervision.engine.adoption import (
    Refused, claim, exactly, started_between)
from runit_provision.runtime.unix.processes import real_uid, stat_fields

from ...processes import close_pipes

pytestmark = pytest.mark.slow

OTHER_UID = 61001  # a uid no account of the host's has (the security tier's apprun1)


def starttime(pid):
    return int(stat_fields(pid)[22 - 3])


@pytest.fixture
def sleeper():
    started = []

    def start(uid=None):
        preexec = None
        if uid is not None:
            def preexec():
                os.setgid(uid)
                os.setuid(uid)
        proc = subprocess.Popen(["sleep", "1000"], preexec_fn=preexec,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        started.append(proc)
        return proc
    yield start
    for proc in started:
        proc.kill()
        proc.wait()
        close_pipes(proc)


def test_the_process_the_record_means_is_claimed_by_a_pidfd_that_reaches_it(sleeper):
    proc = sleeper()
    pidfd = claim(proc.pid, exactly(starttime(proc.pid)), uid=os.getuid(),
                  owned=lambda pid: False)
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        os.close(pidfd)


def test_a_process_started_at_another_time_is_one_that_ended_not_one_to_take(sleeper):
    proc = sleeper()
    assert claim(proc.pid, exactly(starttime(proc.pid) - 1)) is None  # the pid reused
    assert claim(proc.pid, started_between(starttime(proc.pid) + 1, 1 << 62)) is None


def test_a_zombie_or_a_gone_process_is_none(sleeper):
    proc = sleeper()
    os.kill(proc.pid, signal.SIGKILL)
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # ended, not reaped: a zombie
    assert claim(proc.pid, lambda starttime: True) is None
    proc.wait()
    assert claim(proc.pid, lambda starttime: True) is None


def test_another_uids_process_is_refused(sleeper):
    proc = sleeper(uid=OTHER_UID)
    assert real_uid(proc.pid) == OTHER_UID
    with pytest.raises(Refused, match="is uid %d's, not uid 0's" % OTHER_UID):
        claim(proc.pid, exactly(starttime(proc.pid)), uid=0)
    mine = sleeper()
    with pytest.raises(Refused, match="is uid 0's, not uid %d's" % OTHER_UID):
        claim(mine.pid, exactly(starttime(mine.pid)), uid=OTHER_UID)


def test_a_process_a_side_supervises_already_is_refused(sleeper):
    proc = sleeper()
    with pytest.raises(Refused, match="supervised already"):
        claim(proc.pid, lambda starttime: True, owned={proc.pid}.__contains__)


@pytest.mark.parametrize("pid", [1, os.getpid()], ids=["init", "this supervisor"])
def test_init_and_the_supervisor_itself_are_nobodys(pid):
    with pytest.raises(Refused):
        claim(pid, lambda starttime: True)


def test_whose_a_process_is_is_its_real_uid_not_what_it_runs_as(sleeper):
    """A set-uid-root program a user started is still the user's (real uid), as the kernel
    judges who may signal it."""
    proc = subprocess.Popen(["sleep", "1000"], preexec_fn=lambda: os.setresuid(OTHER_UID, 0, 0),
                            stdin=subprocess.DEVNULL)
    try:
        assert real_uid(proc.pid) == OTHER_UID
        with pytest.raises(Refused):
            claim(proc.pid, exactly(starttime(proc.pid)), uid=0)
    finally:
        proc.kill()
        proc.wait()
