"""The fork server's life cycle, on the tree's side (runtime/supervision/forkserver.py): a server
that cannot start, or never says it is ready, makes whatever waited for it start the old way —
never an endless wait. Real processes stand in for the server; the loop is this process's.
"""

import errno

import pytest

from runit_provision.runtime.supervision import forkserver
from runit_provision.runtime.supervision.forkserver import ForkServer, NotReady
from runit_provision.runtime.supervision.loop import EventLoop
from runit_provision.runtime.supervision.spawn import Spawner

from .processes import kill_pids

pytestmark = pytest.mark.slow


class StandInSpawner(Spawner):
    """Spawns ``argv`` instead of whatever it is asked for: a server that fails."""

    def __init__(self, argv):
        Spawner.__init__(self, environ={"PATH": "/usr/bin:/bin"})
        self.argv = argv
        self.pids = []

    def spawn(self, argv, **kwargs):
        kwargs.pop("env", None)
        pid = Spawner.spawn(self, self.argv, **kwargs)
        self.pids.append(pid)
        return pid


def run_until(loop, predicate, timeout=10.0):
    deadline = loop.monotonic() + timeout

    def check():
        if predicate() or loop.monotonic() > deadline:
            loop.stop()
        else:
            loop.call_later(0.02, check)

    loop.call_later(0, check)
    loop.run()
    assert predicate()


@pytest.fixture
def loop():
    found = EventLoop()
    yield found
    found.close()


def asked_then_refused(loop, server):
    woken = []
    with pytest.raises(NotReady):
        server.request(b"host", ["x"], [], None)
    server.on_ready.append(lambda: woken.append(True))
    run_until(loop, lambda: woken)
    with pytest.raises(OSError) as refused:
        server.request(b"host", ["x"], [], None)
    assert refused.value.errno == errno.EAGAIN
    return woken


def test_a_server_that_dies_before_it_is_ready_wakes_its_askers_to_start_the_old_way(loop):
    spawner = StandInSpawner(["/bin/sh", "-c", "exit 1"])
    server = ForkServer(loop, spawner, "test")
    asked_then_refused(loop, server)
    assert len(spawner.pids) == 1  # not tried again in a loop


def test_a_server_that_never_says_ready_is_killed_and_its_askers_woken(loop, monkeypatch):
    monkeypatch.setattr(forkserver, "READY_SECONDS", 0.2)
    spawner = StandInSpawner(["/bin/sleep", "60"])
    server = ForkServer(loop, spawner, "test")
    try:
        asked_then_refused(loop, server)
    finally:
        kill_pids(spawner.pids)
