"""A supervisor's end takes every step whatever one of them does: the service's cgroup a user
divided deeper than any recursion goes, and a close step that fails still leaves
``supervise/lock`` free for the next runsv and tells the tree (``on_exit``).

Run in a child interpreter (the loop takes over SIGCHLD), in its own session, killed by
process group at the end. cgroupfs is stood in for by a directory: the cgroup's removal is
the walk tests/vm/ runs on real cgroups.
"""

import os
import sys

import pytest

from ...processes import SH, make_service
from ....cgroupchain import DEEP, make_chain

pytestmark = pytest.mark.slow

HOST = r'''
import os, sys
from runit_provision.errors import FatalError
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.servicecgroup import ServiceCgroup
from runit_provision.runtime.supervision.engine.spawn import Spawner
from runit_provision.runtime.supervision.engine.supervisor import Supervisor
from runit_provision.runtime.unix.cgroup import Cgroups

class StandIn(Cgroups):
    """A directory for cgroupfs: a spawn stays where it is, no process is left behind."""
    def spawn_in(self, path, spawn):
        return spawn()
    def procs(self, path):
        return []

class Failing(StandIn):
    def remove(self, path):
        raise OSError(16, "Device or resource busy")

directory, mount, kind = sys.argv[1:4]
loop = EventLoop()
exited = []

def supervisor():
    service = Supervisor(loop, directory, Spawner(), on_exit=exited.append)
    cgroups = (Failing if kind == "failing" else StandIn)(mount, "/base", "/base/supervise")
    service.cgroup = ServiceCgroup(cgroups, "svc", service)
    service.open()
    return service

def send_x():
    fd = os.open(os.path.join(directory, "supervise/control"), os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"x")
    os.close(fd)

def watch():
    if exited:
        loop.stop()
    else:
        loop.call_later(0.05, watch)

supervisor().start()
loop.call_later(0.5, send_x)
loop.call_later(0.05, watch)
loop.call_later(20, loop.stop)
loop.run()
print("exited" if exited else "never exited")
try:
    supervisor().close()  # as a service linked again: it takes the lock
    print("locked again")
except FatalError as exc:
    print(exc)
'''


def run_host(tmp_path, processes, kind, deep=0):
    """The host on service ``svc`` (its cgroup holding a chain ``deep`` long, as a user made
    it inside a cgroup handed to them): ``(group, the cgroup)``."""
    service = make_service(tmp_path / "sv", "svc", run=SH + "exec sleep 1000\n")
    mount = tmp_path / "cgroupfs"
    (mount / "base" / "supervise").mkdir(parents=True)
    (mount / "base" / "svc").mkdir()
    make_chain(mount / "base" / "svc", deep, "a")
    (tmp_path / "host.py").write_text(HOST)
    group = processes.start([sys.executable, str(tmp_path / "host.py"), str(service),
                             str(mount), kind],
                            cwd=str(tmp_path), output=str(tmp_path / "host.out"))
    return group, mount / "base" / "svc"


def test_a_cgroup_divided_deeper_than_recursion_goes_is_removed_at_the_end(tmp_path,
                                                                            processes):
    group, cgroup = run_host(tmp_path, processes, "deep", DEEP)
    assert group.wait(40) == 0, group.output()
    assert group.output() == "exited\nlocked again\n", group.output()
    assert not os.path.exists(str(cgroup))


def test_a_close_step_that_fails_skips_none_of_the_rest(tmp_path, processes):
    group, _ = run_host(tmp_path, processes, "failing")
    assert group.wait(40) == 0, group.output()
    warning = "runsv %s: warning: unable to close cleanly, continuing: OSError: [Errno 16] " \
        "Device or resource busy" % (tmp_path / "sv" / "svc")
    assert group.output().splitlines() == [warning, "exited", warning, "locked again"]
