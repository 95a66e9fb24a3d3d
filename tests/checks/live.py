"""A live host for the slow tiers: a real runsvdir — ours or the C one — on a sandbox's service
directory, and ``host_data`` applied to it by ``runit-provision apply`` (in place: the links
waited for until runsv serves them, as on a host), with PATH holding that implementation's
tools."""

import contextlib
import subprocess

import testinfra

from ..conftest import make_bin_dir
from ..runtime.processes import (
    BASE_PATH, descendants, is_runsv_up, kill_pids, process_group_members, processes_under,
    run_sv, running_pid, wait_until)
from .helpers import apply_data, host_data, rendered


class LiveHost:
    """``start()`` puts the tree on disk and runs it; ``stop()`` ends every process of it."""

    def __init__(self, sandbox, impl, runsvdir, sv):
        self.sandbox, self.impl, self.runsvdir, self.sv_tool = sandbox, impl, runsvdir, sv
        self.bin_dir = make_bin_dir(sandbox / ("bin-" + impl), impl)
        self.path = "%s:%s" % (self.bin_dir, BASE_PATH)
        self.config, self.tree, self.data_file = rendered(sandbox, host_data(
            sandbox, self.path, runtime="python" if impl == "ours" else "system"))
        self.service_dir = sandbox / "service"
        self.proc = None

    def start(self):
        """runsvdir first, on the empty service directory (as init starts it on a host), then
        the apply."""
        self.service_dir.mkdir(exist_ok=True)
        self.proc = subprocess.Popen(
            [self.runsvdir, str(self.service_dir)], env={"PATH": self.path},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.apply()
        return self

    def apply(self):
        apply_data(self.data_file, self.sandbox)

    def wait_all_up(self):
        sides = [self.service_dir / name for name in ("web", "api", "db", "cache", "queue",
                                                       "mailer", "runsvdir-root")]
        sides += [self.sandbox / "home" / "service" / "app"]
        for side in sides:
            wait_until(lambda: running_pid(side) and running_pid(side / "log"), timeout=30,
                       what="%s and its logger running" % side)
        wait_until(lambda: is_runsv_up(self.service_dir / "worker"), timeout=30,
                   what="worker supervised")

    def sv(self, *args):
        out, code = run_sv(list(args), self.service_dir, sv=self.sv_tool)
        assert code == 0, out
        return out

    def kill_the_user_tree(self):
        """``sv down runsvdir-root``: control/t HUPs the user's runsvdir, which stops its tree."""
        self.sv("-w", "15", "down", "runsvdir-root")
        app = self.sandbox / "home" / "service" / "app"
        wait_until(lambda: not is_runsv_up(app), timeout=15, what="the user's tree gone")

    def stop(self):
        if self.proc is not None:
            kill_pids(set(process_group_members(self.proc.pid)) | set(descendants(self.proc.pid)))
            self.proc.wait()
        kill_pids(processes_under(self.sandbox))


def local_host():
    return testinfra.get_host("local://")


@contextlib.contextmanager
def running(sandbox, impl, which_tool, monkeypatch):
    """A started LiveHost, all up; PATH is its tools' (what the probe's ``which`` sees, as on a
    host); stopped in any case."""
    host = LiveHost(sandbox, impl, which_tool(impl, "runsvdir"), which_tool(impl, "sv"))
    monkeypatch.setenv("PATH", host.path)
    try:
        host.start()
        host.wait_all_up()
        yield host
    finally:
        host.stop()
