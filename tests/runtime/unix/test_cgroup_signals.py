"""runtime/unix/cgroup: a stop signals the processes its cgroup holds when the signal goes, not
whoever has a pid the cgroup listed a moment before (a pid is given again once its process is
reaped, possibly to a process anywhere on the host).

The listing is the subclass's; the processes are real, and each is judged by the cgroup the
kernel says it is in (``/proc/PID/cgroup``), so no cgroup is made here."""

import signal
import subprocess

import pytest

from runit_provision.protocol.cgroupfs import cgroup_of_process
from runit_provision.runtime.unix.cgroup import Cgroups


class Listed(Cgroups):
    """Cgroups whose listing of a cgroup's processes is ``listed``, as read a moment ago."""

    __slots__ = ("listed",)

    def subtree_procs(self, path):
        return list(self.listed)

    procs = subtree_procs


def cgroup_of(pid):
    with open("/proc/%d/cgroup" % pid) as handle:
        return cgroup_of_process(handle.read())


@pytest.fixture
def sleeper():
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def listing(*pids):
    cgroups = Listed("/nowhere", "/base", "/base/supervise")
    cgroups.listed = pids
    return cgroups


def test_a_listed_pid_now_in_another_cgroup_gets_no_signal(sleeper):
    elsewhere = cgroup_of(sleeper.pid).rstrip("/") + "-not-it"
    for below in (True, False):
        assert listing(sleeper.pid).signal_all(elsewhere, (signal.SIGTERM,), below=below) == 0
    assert sleeper.poll() is None


def test_a_process_in_the_cgroup_gets_each_signal(sleeper):
    where = cgroup_of(sleeper.pid)  # "below" is protocol.cgroupfs.is_under's (its doctest)
    assert listing(sleeper.pid).signal_all(where, (signal.SIGSTOP,), below=False) == 1
    assert listing(sleeper.pid).signal_all(where, (signal.SIGCONT, signal.SIGTERM)) == 1
    assert sleeper.wait(timeout=30) == -signal.SIGTERM


def test_a_pid_that_is_gone_or_spared_counts_for_nothing(sleeper):
    gone = subprocess.Popen(["true"])
    gone.wait()
    where = cgroup_of(sleeper.pid)
    assert listing(gone.pid, sleeper.pid).signal_all(
        where, (signal.SIGTERM,), but=(sleeper.pid,)) == 0
    assert sleeper.poll() is None
