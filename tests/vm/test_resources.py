"""A service bounded by its cgroup, for real: under our runsvdir started in a delegated cgroup
(as systemd starts it with Delegate=yes), the limits of the service directory's ``cgroup``
file hold — memory (the OOM killer, told in memory.events), tasks (a fork loop stopped), CPU
(a busy loop held near its quota) — a stop ends a double-forking daemon's every process, and
the runtime's own unit under systemd divides its cgroup (docs/resources.md)."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from runit_provision.protocol.cgroupfs import cgroup_of_process, keyed_counts
from tests.conftest import our_tool
from tests.runtime.processes import SH, alive, make_service, running_pid, wait_until
from tests.vm.conftest import in_cgroup

ALLOCATE = ("#!/usr/bin/python3\nimport time\nb = bytearray(%d << 20)\n"
            "b[::4096] = b'x' * (len(b) // 4096)\nprint('allocated', flush=True)\n"
            "time.sleep(1000)\n")
FORK_LOOP = ("#!/usr/bin/python3\nimport os, time\nkids = 0\nwhile kids < 50:\n"
             "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
             "    if pid == 0:\n        time.sleep(1000)\n        os._exit(0)\n"
             "    kids += 1\nopen('forked', 'w').write('%d\\n' % kids)\ntime.sleep(1000)\n")
BUSY = "#!/usr/bin/python3\nwhile True:\n    pass\n"


@pytest.fixture
def vmtree(cgroup, scratch):
    """``(svdir, start, cgroup)``: our runsvdir on ``scratch/service``, started in ``cgroup``."""
    svdir = scratch / "service"
    svdir.mkdir()
    procs = []

    def start():
        proc = subprocess.Popen(in_cgroup(cgroup, [our_tool("runsvdir"), str(svdir)]),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append(proc)
        wait_until(lambda: (cgroup / "supervise").is_dir(), timeout=60, what="the supervise leaf")
        return proc

    yield svdir, start, cgroup
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def bounded(svdir, name, run, *settings):
    service = make_service(svdir, name, run=run)
    (service / "cgroup").write_text(" ".join(("cgroup", "1", "stop=group") + settings) + "\n")
    return service


def sv(*args):
    return subprocess.run([our_tool("sv")] + list(args), capture_output=True, text=True,
                          timeout=120)


def test_the_tree_divides_its_cgroup_and_gives_services_the_controllers(vmtree):
    svdir, start, cgroup = vmtree
    make_service(svdir, "plain", run=SH + "exec sleep 1000\n")
    tree = start()
    pid = wait_until(lambda: running_pid(svdir / "plain"), timeout=60, what="plain")
    assert str(tree.pid) in (cgroup / "supervise" / "cgroup.procs").read_text().split()
    assert set((cgroup / "cgroup.subtree_control").read_text().split()) == {
        "cpu", "io", "memory", "pids"}
    assert (cgroup / "plain" / "cgroup.procs").read_text().split() == [str(pid)]


def test_memory_max_oom_kills_and_memory_events_count_it(vmtree):
    svdir, start, cgroup = vmtree
    bounded(svdir, "hog", ALLOCATE % 100, "memory.max=33554432")
    start()
    wait_until(lambda: keyed_counts((cgroup / "hog" / "memory.events").read_text()).get(
        "oom_kill", 0) >= 1 if (cgroup / "hog" / "memory.events").exists() else False,
        timeout=120, what="the OOM kill in memory.events")
    assert (cgroup / "hog" / "memory.max").read_text() == "33554432\n"


def test_tasks_max_stops_a_fork_loop(vmtree):
    svdir, start, cgroup = vmtree
    service = bounded(svdir, "forker", FORK_LOOP, "pids.max=5")
    start()
    wait_until(lambda: (service / "forked").exists() and (service / "forked").read_text(),
               timeout=120, what="the fork loop's end")
    assert (service / "forked").read_text() == "4\n"  # the loop and 4 children: 5 tasks
    assert keyed_counts((cgroup / "forker" / "pids.events").read_text())["max"] >= 1


def test_cpu_quota_holds_a_busy_loop_near_it(vmtree):
    svdir, start, cgroup = vmtree
    bounded(svdir, "busy", BUSY, "cpu.max=20000_100000")
    start()
    wait_until(lambda: running_pid(svdir / "busy"), timeout=60, what="busy")
    stat = cgroup / "busy" / "cpu.stat"
    time.sleep(1)  # past the start's own cost
    used, began = keyed_counts(stat.read_text())["usage_usec"], time.monotonic()
    time.sleep(5)
    share = (keyed_counts(stat.read_text())["usage_usec"] - used) / 1e6 / (
        time.monotonic() - began)
    assert 0.12 <= share <= 0.25, share  # 20% of one CPU, the kernel's period granularity


def test_a_double_forking_daemon_leaves_nothing_after_sv_down(vmtree, scratch):
    svdir, start, cgroup = vmtree
    pidfile = scratch / "child"
    make_service(svdir, "daemon", run=SH + (
        "setsid sh -c 'echo $$ >%s; exec sleep 1000' </dev/null >/dev/null 2>&1 &\n"
        "exec sleep 1001\n" % pidfile))
    start()
    child = wait_until(lambda: pidfile.exists() and pidfile.read_text().strip() and
                       int(pidfile.read_text()), timeout=60, what="the daemon's child")
    assert sv("-w", "60", "down", str(svdir / "daemon")).returncode == 0
    assert not alive([child])
    assert (cgroup / "daemon" / "cgroup.procs").read_text() == ""


def test_the_runtime_under_systemd_divides_its_delegated_unit(scratch):
    """install-runtime's unit (Delegate=yes) on this VM's systemd: the tree in the unit's
    supervise leaf, each service beside it; a kill -9 of runsvdir is restarted by systemd and the
    new tree takes its services over in place."""
    service_dir = Path("/etc/service")
    make_service(scratch, "web", run=SH + "exec sleep 1000\n")
    service_dir.mkdir(parents=True, exist_ok=True)
    os.symlink(str(scratch / "web"), str(service_dir / "web"))
    try:
        done = subprocess.run([our_tool("runit-provision"), "install-runtime"],
                              capture_output=True, text=True, timeout=600)
        journal = subprocess.run(["journalctl", "--no-pager", "-n", "40", "-u",
                                  "runit-provision-runsvdir"], capture_output=True, text=True)
        print(done.stdout, done.stderr, journal.stdout, sep="\n")  # shown when it fails
        assert done.returncode == 0, done.stderr
        unit = "/sys/fs/cgroup/system.slice/runit-provision-runsvdir.service"
        pid = wait_until(lambda: running_pid(scratch / "web"), timeout=120, what="web")
        with open("/proc/%d/cgroup" % pid) as handle:
            assert cgroup_of_process(handle.read()) == \
                "/system.slice/runit-provision-runsvdir.service/web"
        tree = int(subprocess.run(["systemctl", "show", "-p", "MainPID", "--value",
                                   "runit-provision-runsvdir"], capture_output=True,
                                  text=True, check=True).stdout)
        assert str(tree) in Path(unit, "supervise", "cgroup.procs").read_text().split()
        os.kill(tree, 9)

        def restarted():
            found = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value",
                                    "runit-provision-runsvdir"], capture_output=True,
                                   text=True).stdout.strip()
            return found not in ("", "0", str(tree)) and int(found)
        new = wait_until(restarted, timeout=120, what="systemd's restart of the tree")
        wait_until(lambda: running_pid(scratch / "web") == pid, timeout=120,
                   what="web taken over by the new tree, not restarted")
        with open("/proc/%d/cgroup" % new) as handle:
            assert cgroup_of_process(handle.read()).endswith("/supervise")
    finally:
        subprocess.run(["systemctl", "stop", "runit-provision-runsvdir"], timeout=120)
        os.unlink(str(service_dir / "web"))


def test_under_a_unit_without_delegate_subgroup_a_crashed_tree_starts_again(scratch):
    """systemd before 254 starts a delegated unit in its own cgroup (no DelegateSubgroup=):
    the tree enables no controller there, so systemd can start it again after a kill -9 —
    its services live on in their cgroups and are taken over."""
    make_service(scratch / "service", "web", run=SH + "exec sleep 1000\n")
    unit = "rp-old-systemd-%d" % os.getpid()
    subprocess.run(["systemd-run", "--unit", unit, "-p", "Delegate=yes", "-p",
                    "KillMode=process", "-p", "Restart=always", "-p", "RestartSec=1",
                    our_tool("runsvdir"), str(scratch / "service")], check=True, timeout=120)
    try:
        own = "/sys/fs/cgroup/system.slice/%s.service" % unit
        pid = wait_until(lambda: running_pid(scratch / "service" / "web"), timeout=120,
                         what="web")
        assert Path(own, "cgroup.subtree_control").read_text().split() == []

        def main_pid():
            found = subprocess.run(["systemctl", "show", "-p", "MainPID", "--value", unit],
                                   capture_output=True, text=True).stdout.strip()
            return int(found or 0)
        first = main_pid()
        os.kill(first, 9)
        wait_until(lambda: main_pid() not in (0, first), timeout=120, what="started again")
        wait_until(lambda: running_pid(scratch / "service" / "web") == pid, timeout=120,
                   what="web taken over by the new tree, not restarted")
    finally:
        subprocess.run(["systemctl", "stop", unit], timeout=120)


def test_a_users_tree_is_bounded_whole_and_its_services_inside_it(vmtree, scratch):
    """``runsvdir-nobody`` as the generator renders it, its ``cgroup`` file the user's
    ``resources`` (memory.max), and the user's own service bounded inside (pids.max): root's
    tree hands the user the cgroup, the user's tree divides it, and each limit holds where
    the data put it — the user's within their tree's."""
    import pwd
    svdir, start, cgroup = vmtree
    user = pwd.getpwnam("nobody")
    home = scratch / "home"
    user_tree = home / "service"
    scratch.chmod(0o755)
    outer = make_service(svdir, "runsvdir-nobody", run=SH + (
        'exec 2>&1\nexec env -i PATH="$PATH" chpst -u nobody -e ./env -L %s/.runsvdir.lock '
        "runsvdir %s\n" % (user_tree, user_tree)))
    (outer / "env").mkdir()
    (outer / "env" / "HOME").write_text(str(home) + "\n")
    (outer / "cgroup").write_text("cgroup 1 stop=group memory.max=67108864\n")
    notes = make_service(user_tree, "notes", run=FORK_LOOP)
    (notes / "cgroup").write_text("cgroup 1 stop=group pids.max=3\n")
    subprocess.run(["chown", "-R", "%d:%d" % (user.pw_uid, user.pw_gid), str(home)],
                   check=True)
    start()
    theirs = cgroup / "runsvdir-nobody"
    wait_until(lambda: (notes / "forked").exists() and (notes / "forked").read_text(),
               timeout=120, what="the user's fork loop's end")
    assert (notes / "forked").read_text() == "2\n"  # the loop and 2 children: 3 tasks
    assert (theirs / "memory.max").read_text() == "67108864\n"
    assert (theirs / "notes" / "pids.max").read_text() == "3\n"
    # handed over: the user's, and the user's tree in its own leaf of it
    assert os.stat(str(theirs)).st_uid == user.pw_uid
    assert os.stat(str(theirs / "notes")).st_uid == user.pw_uid
    with open("/proc/%d/cgroup" % running_pid(outer)) as handle:
        assert cgroup_of_process(handle.read()).endswith("/runsvdir-nobody/supervise")
