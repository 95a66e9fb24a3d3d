"""A tree's end takes every step whatever one does: with its cgroups' removal failing (as a
recursion over a user's deep chain once did), every service still ends, lets its
``supervise/lock`` go, and the tree still tells its caller it is empty — once it never exited.

In-process, on a real loop, with real processes; cgroupfs stood in for by a directory.
"""

import fcntl
import os

from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.spawn import Spawner
from runit_provision.runtime.supervision.tree import servicetree
from runit_provision.runtime.supervision.tree.servicetree import ServiceTree
from runit_provision.runtime.unix.cgroup import Cgroups

from .test_servicetree_scan import DEADLINE, _pid, _run_until_supervised, _service


class FailingRemoval(Cgroups):
    """A directory for cgroupfs whose removal fails: a spawn stays where it is, no process is
    ever left in a cgroup."""

    __slots__ = ()

    def spawn_in(self, path, spawn):
        return spawn()

    def procs(self, path):
        return []

    def remove(self, path):
        raise RecursionError("maximum recursion depth exceeded")


def test_a_tree_whose_cgroups_cannot_be_removed_still_ends(tmp_path, monkeypatch):
    base = str(tmp_path / "service")
    names = ["a", "b"]
    for name in names:
        _service(base, name)
    mount = tmp_path / "cgroupfs"
    (mount / "base" / "supervise").mkdir(parents=True)
    cgroups = FailingRemoval(str(mount), "/base", "/base/supervise")
    monkeypatch.setattr(servicetree, "open_cgroups", lambda directory, warn: cgroups)
    loop = EventLoop()
    ended = []
    tree = ServiceTree(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                       "test", on_empty=lambda: (ended.append(True), loop.stop()))
    loop.call_later(3 * DEADLINE, loop.stop)  # past it: the tree never said it was empty
    seen, said = _run_until_supervised(tree, loop, base, names)
    assert all(seen.values()), (seen, said)
    assert ended == [True], said
    assert said.count("warning: unable to close cleanly, continuing: RecursionError") == 3, said
    for name in names:
        assert not os.path.exists("/proc/%d" % seen[name]) or _is_zombie(seen[name])
        assert _pid(base, name) == 0
        with open(os.path.join(base, name, "supervise", "lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free for the next runsv


def _is_zombie(pid):
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
