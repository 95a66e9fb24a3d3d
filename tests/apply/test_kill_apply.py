"""No restart is lost, wherever an apply is killed: ``kill -9`` of a real apply at every step
boundary, against a live tree (our runsvdir; the C runit's under ``runtime: system``), then a
second apply — which must restart what the first one owed (issue 16: the restarts a plan owes
are written down before its first write, ``host/owed.py``).

The change: web's ``env`` (a restart) and worker's log ``config`` (a HUP). The killed apply
runs in a forked child of this process — the real CLI, the real FsRoot and sv — whose file and
runit steps are counted, and which SIGKILLs itself just before step K, for K = 0, 1, … until
an apply runs to its end. After each kill: the next apply exits 0, web runs with the new
environment in a new process, and worker's logger shows the new prefix (it was HUP'd).
"""

import json
import os
import signal

import pytest

from runit_provision.apply import activate, converge
from runit_provision.cli.main import main

from ..runtime.processes import running_pid, wait_until
from .test_live import _read, live, services  # noqa: F401 (live: the fixture)

pytestmark = pytest.mark.slow


def apply_killed_before(live, change, step):
    """Run ``apply`` of ``change`` in a child killed just before its ``step``-th step; True if
    it was killed, False if it ran to its end first."""
    argv = live.apply(change)
    pid = os.fork()
    if pid == 0:  # the child: the real apply, counted
        code = 111
        try:
            count = [0]

            def killing(execute):
                def counted(self, item):
                    if count[0] == step:
                        os.kill(os.getpid(), signal.SIGKILL)
                    count[0] += 1
                    return execute(self, item)
                return counted
            converge.Converger.execute = killing(converge.Converger.execute)
            activate.Activator.execute = killing(activate.Activator.execute)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            code = main(argv)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.waitstatus_to_exitcode(status) == 0
    return False


def last_line(path):
    lines = _read(path).splitlines()
    return lines[-1] if lines else ""


def apply_ok(live, capsys, change):
    code = main(live.apply(change))
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report["msg"]
    return report


def test_a_kill_at_any_step_loses_no_restart(live, capsys):
    before, change = services(), services(greeting="changed", prefix="B: ")
    sv, log = live.sv_dir, live.tmp / "log"
    apply_ok(live, capsys, before)
    step = 0
    while True:
        web = wait_until(lambda: running_pid(sv / "web"), what="web running")
        wait_until(lambda: "A: tick" in last_line(log / "worker" / "current"),
                   what="worker logging with the old prefix")
        if not apply_killed_before(live, change, step):
            break
        apply_ok(live, capsys, change)  # the next apply does what the killed one owed
        wait_until(lambda: running_pid(sv / "web") not in (0, web),
                   what="web restarted after a kill before step %d" % step)
        wait_until(lambda: "web says changed" in _read(log / "web" / "current"),
                   what="web's new environment after a kill before step %d" % step)
        wait_until(lambda: "B: tick" in _read(log / "worker" / "current"),
                   what="worker's logger HUP'd after a kill before step %d" % step)
        assert not (sv / ".pending-restarts").exists()
        changed = running_pid(sv / "web")
        apply_ok(live, capsys, before)  # back, for the next boundary
        # ... and settled: the C sv may say ok before the restarted web runs, and a plan made
        # while it starts has no restart of web to make (one boundary fewer).
        wait_until(lambda: running_pid(sv / "web") not in (0, changed),
                   what="web restarted with the old environment")
        wait_until(lambda: last_line(log / "web" / "current").endswith("web says hello"),
                   what="web logging with the old environment")
        step += 1
    assert step >= 4  # two files, a restart and a HUP: every boundary was tried
