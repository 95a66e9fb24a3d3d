"""Every tool shows its runit name to ``pidof``, ``ps`` and ``/proc/PID/comm``, however it was
started (console script, ``python -m``), and its children start with every signal at its
default — as under the C runit, which forks and execs."""

import doctest
import shutil
import subprocess
import sys

import pytest

from runit_provision.runtime.unix import procname

from ..conftest import our_tool
from ..skips import missing
from .processes import SH, cmdline, make_service, status_record, wait_until

pytestmark = pytest.mark.slow


def test_doctests():
    assert doctest.testmod(procname).failed == 0


def comm(pid):
    with open("/proc/%d/comm" % pid) as handle:
        return handle.read().strip()


def pidof(name):
    done = subprocess.run(["pidof", name], capture_output=True, text=True)
    return {int(pid) for pid in done.stdout.split()}


LAUNCHES = {
    "console script": lambda tool: [our_tool(tool)],
    "python -m": lambda tool: [sys.executable, "-m", "runit_provision.runtime." + tool],
}


@pytest.mark.parametrize("launch", sorted(LAUNCHES))
@pytest.mark.parametrize("tool", ["runsv", "runsvdir"])
def test_a_tool_shows_its_runit_name(tmp_path, processes, tool, launch):
    if shutil.which("pidof") is None:
        missing("pidof", "apt-get install procps (sysvinit-utils before Debian 13)")
    service = make_service(tmp_path / "sv", "a", run=SH + "exec sleep 1000\n")
    target = str(service) if tool == "runsv" else str(tmp_path / "sv")
    group = processes.start(LAUNCHES[launch](tool) + [target])
    wait_until(lambda: status_record(service) is not None, what="the service supervised")
    pid = group.proc.pid
    assert comm(pid) == tool
    assert pid in pidof(tool)
    shown = cmdline(pid)
    assert shown[1:] == [target] and shown[0].rsplit("/", 1)[-1] == tool, shown


def test_a_service_starts_with_every_signal_at_its_default(tmp_path, processes):
    """glibc's posix_spawn would leave its internal signals 32 and 33 ignored (SigIgn
    0x180000000); ignored signals survive exec."""
    service = make_service(tmp_path, "a", run=SH + "exec sleep 1000\n")
    processes.start([our_tool("runsv"), str(service)])
    pid = wait_until(lambda: (status_record(service) or None) and status_record(service).pid,
                     what="the service running")
    with open("/proc/%d/status" % pid) as handle:
        masks = dict(line.split(":", 1) for line in handle if line.startswith("Sig"))
    assert (int(masks["SigIgn"], 16), int(masks["SigBlk"], 16)) == (0, 0), masks


def test_sv_runs_as_a_module_as_it_runs_as_its_script(tmp_path):
    """``python -m runit_provision.runtime.sv`` is sv (bench/sv_startup.py starts it so): its
    usage error and exit code, not an import that does nothing."""
    done = subprocess.run([sys.executable, "-m", "runit_provision.runtime.sv"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr.splitlines()[:1]) == (
        100, ["usage: sv [-v] [-w sec] command service ..."]), done
