"""The Supervisor host on a loop that outlives it — as a runsvdir tree will host many.

Run in a child interpreter (the loop takes over SIGCHLD and the wakeup fd), in its own
session, killed by process group at the end.
"""

import sys

import pytest

from ...processes import SH, make_service, wait_until

pytestmark = pytest.mark.slow

HOST = r'''
import os, sys, time
from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.supervisor import Supervisor
from runit_provision.runtime.supervision.engine.spawn import Spawner

loop = EventLoop()
exited = []
service = Supervisor(loop, sys.argv[1], Spawner(), on_exit=lambda s: exited.append(time.monotonic()))
service.open()
service.start()

def send_x():
    fd = os.open(os.path.join(sys.argv[1], "supervise/control"), os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"x")
    os.close(fd)

def watch():
    # The loop keeps running past the service's exit, longer than any back-off.
    if exited and time.monotonic() - exited[0] > 1.5:
        loop.stop()
    else:
        loop.call_later(0.05, watch)

loop.call_later(float(sys.argv[2]), send_x)
loop.call_later(0.05, watch)
loop.run()
print("clean exit")
'''


def test_exit_while_the_log_waits_out_its_backoff(tmp_path, processes):
    """x while the logger is between crash-loop restarts: the postponed log start is dropped.

    It used to fire after the service had closed its pipe: a TypeError in the loop, which
    kills a whole tree (and, in a narrow race, a lone runsv on its way out).
    """
    service = make_service(tmp_path, "svc", log_run=SH + "exit 1\n")
    (tmp_path / "host.py").write_text(HOST)
    group = processes.start([sys.executable, str(tmp_path / "host.py"), str(service), "1.3"],
                            cwd=str(tmp_path), output=str(tmp_path / "host.out"))
    assert group.wait(15) == 0, group.output()
    assert group.output() == "clean exit\n"
    wait_until(lambda: (service / "supervise" / "stat").read_text() == "down\n")
