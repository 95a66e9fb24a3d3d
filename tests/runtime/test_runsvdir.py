"""runsvdir: a whole tree supervised by one Python process (reference §2, SPEC §5).

Real processes only. The C ``sv`` (when installed) and ours read the tree's services exactly
as they read services of separate runsv processes.
"""

import os
import signal
import subprocess
import time

import pytest

from ..conftest import C_RUNIT, has_c_runit, our_tool
from .runsv_helpers import (
    SH, children_of, cmdline, is_runsv_up, make_service, process_group_members, status_record,
    wait_until)

pytestmark = pytest.mark.slow

RUN = SH + "exec sleep 1000\n"


def sv_tools():
    tools = [our_tool("sv")]
    if has_c_runit():
        tools.append(C_RUNIT["sv"])
    return tools


@pytest.fixture
def tree(tmp_path):
    """A runsvdir on ``tmp_path/service``, in its own process group, ended in any case."""
    svdir = tmp_path / "service"
    svdir.mkdir()
    procs = []

    def start(*extra):
        proc = subprocess.Popen([our_tool("runsvdir")] + list(extra) + [str(svdir)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append(proc)
        return proc

    yield svdir, start
    for proc in procs:
        for pid in process_group_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


def running_pid(service):
    record = status_record(service)
    if is_runsv_up(service) and record is not None and record.state.name == "RUN" and record.pid:
        return record.pid
    return 0


def test_scans_like_runit_and_sv_reads_every_service(tree):
    svdir, start = tree
    make_service(svdir, "plain", run=RUN)
    make_service(svdir, "logged", run=RUN, log_run=SH + "exec cat >/dev/null\n")
    make_service(svdir, ".hidden", run=RUN)
    (svdir / "afile").write_text("not a service\n")
    target = make_service(svdir.parent, "elsewhere", run=RUN)
    os.symlink(str(target), str(svdir / "linked"))
    runsvdir = start()
    for name in ("plain", "logged", "linked"):
        wait_until(lambda: running_pid(svdir / name), what="%s running" % name)
    assert not (svdir / ".hidden" / "supervise").exists()
    for sv in sv_tools():
        out = subprocess.run([sv, "status", "plain", "logged", "linked"], env={
            "SVDIR": str(svdir), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
        lines = out.stdout.splitlines()
        assert out.returncode == 0, out
        assert lines[0].startswith("run: plain: (pid ")
        assert lines[1].startswith("run: logged: (pid ") and "; run: log: (pid " in lines[1]
        assert lines[2].startswith("run: linked: (pid ")
    # one process supervises them all: every service process is its child
    kids = set(children_of(runsvdir.pid))
    for name in ("plain", "logged", "linked"):
        assert running_pid(svdir / name) in kids
    assert "runsvdir" in " ".join(cmdline(runsvdir.pid))


def test_new_service_runs_within_a_second_and_rename_restarts_nothing(tree):
    svdir, start = tree
    start()
    wait_until(lambda: (svdir / ".").exists())
    time.sleep(0.2)  # let runsvdir reach its idle wait before the service appears
    staged = make_service(svdir.parent, "staged", run=RUN)
    linked_at = time.monotonic()
    os.rename(str(staged), str(svdir / "web"))
    pid = wait_until(lambda: running_pid(svdir / "web"), what="web running")
    assert time.monotonic() - linked_at < 1.0
    os.rename(str(svdir / "web"), str(svdir / "www"))
    time.sleep(0.3)  # a restart would show within this window
    assert running_pid(svdir / "www") == pid


def test_removed_directory_stops_its_service(tree):
    svdir, start = tree
    make_service(svdir, "a", run=RUN)
    make_service(svdir, "b", run=RUN)
    start()
    pid_a = wait_until(lambda: running_pid(svdir / "a"))
    pid_b = wait_until(lambda: running_pid(svdir / "b"))
    moved = svdir.parent / "a-removed"
    os.rename(str(svdir / "a"), str(moved))
    wait_until(lambda: not os.path.exists("/proc/%d" % pid_a) or
               open("/proc/%d/stat" % pid_a).read().split(") ")[1][0] == "Z",
               what="a's process gone")
    wait_until(lambda: not is_runsv_up(moved), what="a no longer supervised")
    assert running_pid(svdir / "b") == pid_b


@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 0), (signal.SIGHUP, 111)])
def test_term_and_hup_bring_the_whole_tree_down(tree, signum, code):
    svdir, start = tree
    for name in ("a", "b"):
        make_service(svdir, name, run=RUN, finish=SH + "echo finished >>finish.out\n",
                     log_run=SH + "exec cat >>log.out\n")
    runsvdir = start()
    for name in ("a", "b"):
        wait_until(lambda: running_pid(svdir / name) and running_pid(svdir / name / "log"))
    runsvdir.send_signal(signum)
    assert runsvdir.wait(timeout=15) == code
    assert process_group_members(runsvdir.pid) == []
    for name in ("a", "b"):
        assert (svdir / name / "finish.out").read_text() == "finished\n"
        assert (svdir / name / "supervise" / "stat").read_text() == "down\n"


def test_orphans_are_reaped(tree):
    """A double-forking run leaves a grandchild; runsvdir (a subreaper) reaps it: no zombie."""
    svdir, start = tree
    make_service(svdir, "forker", run=SH + "sh -c 'sleep 0.2 &'\nexec sleep 1000\n")
    runsvdir = start()
    wait_until(lambda: running_pid(svdir / "forker"))

    def zombies():
        found = []
        for pid in children_of(runsvdir.pid):
            try:
                if open("/proc/%d/stat" % pid).read().split(") ")[1][0] == "Z":
                    found.append(pid)
            except OSError:
                pass
        return found

    # the orphaned `sleep 0.2` is re-parented to runsvdir, exits, and must be reaped
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert zombies() == []
        time.sleep(0.05)


def test_idle_tree_does_not_wake(tree):
    svdir, start = tree
    for index in range(10):
        make_service(svdir, "s%d" % index, run=RUN, log_run=SH + "exec cat >/dev/null\n")
    runsvdir = start()
    for index in range(10):
        wait_until(lambda: running_pid(svdir / ("s%d" % index)))
    time.sleep(0.3)

    def switches():
        with open("/proc/%d/status" % runsvdir.pid) as handle:
            for line in handle:
                if line.startswith("voluntary_ctxt_switches:"):
                    return int(line.split()[1])

    before = switches()
    time.sleep(2)  # the idle window being measured
    assert switches() - before == 0


@pytest.mark.parametrize("which", ["ours", "c"])
def test_sv_controls_a_service_in_the_tree(tree, which):
    if which == "c":
        if not has_c_runit():
            pytest.skip("the C runit is not installed")
        sv = C_RUNIT["sv"]
    else:
        sv = our_tool("sv")
    svdir, start = tree
    make_service(svdir, "web", run=RUN)
    start()
    pid = wait_until(lambda: running_pid(svdir / "web"))
    env = {"SVDIR": str(svdir), "PATH": "/usr/bin:/bin"}

    def run_sv(*args):
        return subprocess.run([sv] + list(args), env=env, capture_output=True, text=True)

    out = run_sv("-w", "5", "down", "web")
    assert out.returncode == 0 and out.stdout.startswith("ok: down: web: "), out
    out = run_sv("-w", "5", "up", "web")
    assert out.returncode == 0 and out.stdout.startswith("ok: run: web: (pid "), out
    assert running_pid(svdir / "web") != pid
    # runit: `sv exit` of a service under runsvdir comes back at the next scan
    out = run_sv("exit", "web")
    assert out.returncode == 0, out
    wait_until(lambda: running_pid(svdir / "web"), timeout=5, what="web back after exit")


def test_one_broken_service_does_not_disturb_the_others(tree):
    svdir, start = tree
    make_service(svdir, "good", run=RUN)
    broken = make_service(svdir, "broken", run=RUN)
    (broken / "supervise").write_text("a file where a directory belongs\n")
    runsvdir = start()
    wait_until(lambda: running_pid(svdir / "good"))
    # the broken one is reported (as runsv would) and retried, the good one keeps running
    time.sleep(1.5)
    assert running_pid(svdir / "good")
    assert runsvdir.poll() is None
    (broken / "supervise").unlink()
    wait_until(lambda: running_pid(broken), timeout=5, what="broken service once repaired")
    runsvdir.send_signal(signal.SIGTERM)
    out, _ = runsvdir.communicate(timeout=15)
    assert b"runsv broken: fatal: unable to open supervise/lock: not a directory" in out
