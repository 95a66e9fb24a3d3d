"""A service is its whole process tree: each in a cgroup of its own, and a stop ends every
process of it (docs/resources.md).

Real processes in this machine's cgroup v2 hierarchy — a controller-less one is enough for
what is here (membership, ``cgroup.kill``, ``cgroup.events``); limits need controllers and
are tested in the VM tier (tests/vm/). Each tree is started in the hierarchy's root, as init
starts it, wherever pytest itself runs: it makes its own subtree,
``/runit-provision/<its directory>``, and leaves pytest's cgroup alone (a tree started in
another cgroup divides that one, moving every process of it into its ``supervise`` leaf).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from runit_provision.protocol.cgroupfs import cgroup2_mount, cgroup_of_process
from runit_provision.runtime.unix.cgroup import OWN_ROOT, tree_leaf_name

from ..conftest import IN_CI, our_tool
from .processes import SH, alive, make_service, running_pid, wait_until

pytestmark = pytest.mark.slow


def _mount():
    with open("/proc/self/mountinfo") as handle:
        mount = cgroup2_mount(handle.read())
    if mount is None or os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI=true but no cgroup v2 hierarchy to test in (or not root)")
        pytest.skip("needs root and a cgroup v2 hierarchy")
    return mount


def in_the_root(mount):
    """A prefix of argv that starts the program in the hierarchy's root cgroup (a shell moves
    itself there, then execs it)."""
    return ["sh", "-c", 'echo $$ >"$0/cgroup.procs" && exec "$@"', mount]


@pytest.fixture
def cgtree(tree):
    """``(svdir, start, base)``: the ``tree`` fixture, its ``start`` in the hierarchy's root,
    and the tree's cgroup directory."""
    svdir, start = tree
    mount = _mount()

    def start_in_the_root(*extra, **kwargs):
        return start(*extra, prefix=in_the_root(mount), **kwargs)
    return svdir, start_in_the_root, mount + OWN_ROOT + "/" + tree_leaf_name(str(svdir))


def cgroup_of(pid):
    with open("/proc/%d/cgroup" % pid) as handle:
        return cgroup_of_process(handle.read())


def sv(*args, svdir):
    return subprocess.run([our_tool("sv")] + list(args), env={"SVDIR": str(svdir)},
                          capture_output=True, text=True, timeout=60)


def read_pid(path):
    return wait_until(lambda: path.exists() and path.read_text().strip()
                      and int(path.read_text()), what=str(path))


# ./run starts a child that leaves the process group and the session (a double-forking
# daemon's way out of runit's reach), says its pid, and goes on as the main process.
def escaping_run(pidfile, trap=""):
    return SH + ("setsid sh -c '%s echo $$ >%s; exec sleep 1000' </dev/null >/dev/null 2>&1 &\n"
                 "exec sleep 1001\n" % (trap, pidfile))


def test_each_service_runs_in_a_cgroup_of_its_own(cgtree):
    svdir, start, base = cgtree
    for name in ("a", "b"):
        make_service(svdir, name, run=SH + "exec sleep 1000\n")
    runsvdir = start()
    for name in ("a", "b"):
        pid = wait_until(lambda: running_pid(svdir / name), what=name)
        assert cgroup_of(pid) == OWN_ROOT + "/" + tree_leaf_name(str(svdir)) + "/" + name
        assert open(base + "/" + name + "/cgroup.procs").read().split() == [str(pid)]
        # where the views find it
        assert (svdir / name / "supervise" / "cgroup").read_text() == cgroup_of(pid) + "\n"
    assert cgroup_of(runsvdir.pid) == "/"  # the tree itself stays where it started


def test_down_ends_what_run_left_behind_before_it_counts_as_down(cgtree, tmp_path):
    svdir, start, base = cgtree
    make_service(svdir, "daemon", run=escaping_run(tmp_path / "child"))
    start()
    child = read_pid(tmp_path / "child")
    assert alive([child])
    done = sv("-w", "20", "down", "daemon", svdir=svdir)
    assert done.returncode == 0, done
    assert not alive([child])  # gone by the time sv said down
    assert open(base + "/daemon/cgroup.procs").read() == ""


def test_the_rest_gets_term_first_and_down_waits_for_it(cgtree, tmp_path):
    svdir, start, _ = cgtree
    ended = tmp_path / "ended"
    # the child takes a second to end after TERM, and says so as its last act
    trap = "trap \\\"sleep 1; echo bye >%s; exit 0\\\" TERM;" % ended
    run = SH + ("setsid sh -c \"%s echo \\$\\$ >%s; while :; do sleep 0.1; done\" "
                "</dev/null >/dev/null 2>&1 &\nexec sleep 1001\n" % (trap, tmp_path / "child"))
    make_service(svdir, "slow", run=run)
    start()
    child = read_pid(tmp_path / "child")
    began = time.monotonic()
    done = sv("-w", "20", "down", "slow", svdir=svdir)
    assert done.returncode == 0, done
    assert ended.read_text() == "bye\n"  # it was asked (TERM), not KILLed
    assert not alive([child]) and time.monotonic() - began >= 0.9


def test_stop_main_keeps_the_rest_as_runit_does(cgtree, tmp_path):
    svdir, start, base = cgtree
    service = make_service(svdir, "classic", run=escaping_run(tmp_path / "child"))
    (service / "cgroup").write_text("cgroup 1 stop=main\n")
    start()
    child = read_pid(tmp_path / "child")
    assert sv("-w", "20", "down", "classic", svdir=svdir).returncode == 0
    time.sleep(0.3)
    assert alive([child])  # runit's behaviour, asked for
    os.unlink(str(tmp_path / "child"))
    assert sv("-w", "20", "up", "classic", svdir=svdir).returncode == 0
    second = read_pid(tmp_path / "child")
    assert alive([child, second]) == [child, second]  # both in the service's cgroup
    assert set(open(base + "/classic/cgroup.procs").read().split()) >= {str(child), str(second)}


def test_a_stop_reads_what_it_ends_from_the_cgroup_file_as_it_is_then(cgtree, tmp_path):
    """An apply that changes ``stop`` while the service runs sets nothing in place
    (apply/effects.py): the end of the main process reads the file again."""
    svdir, start, base = cgtree
    service = make_service(svdir, "changed", run=escaping_run(tmp_path / "child"))
    (service / "cgroup").write_text("cgroup 1 stop=main\n")
    start()
    child = read_pid(tmp_path / "child")
    (service / "cgroup").write_text("cgroup 1 stop=group\n")
    assert sv("-w", "20", "down", "changed", svdir=svdir).returncode == 0
    assert not alive([child])  # the whole service ended, as the file says now
    assert open(base + "/changed/cgroup.procs").read() == ""


def test_what_a_one_shots_run_leaves_behind_ends_with_it(cgtree, tmp_path):
    """A one-shot (and a timer's job) is done when its cgroup is: what its run started and
    left running is ended, not kept running beside the next run."""
    svdir, start, _ = cgtree
    pidfile = tmp_path / "child"
    service = make_service(svdir, "setup", run=SH + (
        "setsid sh -c 'echo $$ >%s; exec sleep 1000' </dev/null >/dev/null 2>&1 &\n"
        "until [ -s %s ]; do sleep 0.05; done\nexit 0\n" % (pidfile, pidfile)))
    (service / "oneshot").touch()
    start()
    child = read_pid(tmp_path / "child")
    wait_until(lambda: (service / "supervise" / "last-run").exists(), what="the run's record")
    wait_until(lambda: not alive([child]), what="the run's rest ended")
    assert b"exit=0" in (service / "supervise" / "last-run").read_bytes()


def run_hiding_below(mount, pidfile, trap=""):
    """A ``./run`` whose child makes a cgroup below the service's, moves in, leaves the
    session and says its pid (as a user's process may, in the cgroup handed to them)."""
    return SH + (
        "cg=%s$(sed -n 's/^0:://p' /proc/self/cgroup)\nmkdir \"$cg/hid\" \"$cg/hid/deeper\"\n"
        "setsid sh -c '%s echo $$ >\"$1/hid/deeper/cgroup.procs\"; echo $$ >%s; "
        "exec sleep 1000' sh \"$cg\" </dev/null >/dev/null 2>&1 &\n"
        "exec sleep 1001\n" % (mount, trap, pidfile))


def test_a_stop_ends_what_hides_in_a_cgroup_below_the_services(cgtree, tmp_path):
    svdir, start, base = cgtree
    make_service(svdir, "hider", run=run_hiding_below(_mount(), tmp_path / "child"))
    start()
    child = read_pid(tmp_path / "child")
    assert cgroup_of(child).endswith("/hider/hid/deeper")
    assert sv("-w", "20", "down", "hider", svdir=svdir).returncode == 0
    assert not alive([child])  # gone by the time sv said down
    assert "populated 0" in open(base + "/hider/cgroup.events").read().splitlines()


@pytest.mark.skipif(os.environ.get("RUNIT_PROVISION_QUICK") == "1", reason="7 s grace")
def test_a_rest_that_ignores_term_is_killed_after_the_grace(cgtree, tmp_path):
    svdir, start, _ = cgtree
    make_service(svdir, "stubborn", run=escaping_run(tmp_path / "child", trap='trap "" TERM;'))
    start()
    child = read_pid(tmp_path / "child")
    began = time.monotonic()
    assert sv("-w", "30", "down", "stubborn", svdir=svdir).returncode == 0
    assert not alive([child]) and time.monotonic() - began >= 6.5


def test_a_limit_the_tree_cannot_set_fails_the_start_and_names_the_controller(cgtree):
    svdir, start, base = cgtree
    with open(base.rsplit(OWN_ROOT, 1)[0] + "/cgroup.subtree_control") as handle:
        if "memory" in handle.read().split():
            pytest.skip("this hierarchy has the memory controller (the VM tier's case)")
    service = make_service(svdir, "bounded", run=SH + "exec sleep 1000\n")
    (service / "cgroup").write_text("cgroup 1 stop=group memory.max=268435456\n")
    runsvdir = start()
    line = runsvdir.stdout.readline().decode()
    assert "unable to set up cgroup" in line and "memory.max" in line \
        and "the memory controller is not enabled for this tree" in line, line
    assert not running_pid(svdir / "bounded")


def test_the_tree_removes_its_cgroups_when_it_ends(cgtree):
    svdir, start, base = cgtree
    make_service(svdir, "a", run=SH + "exec sleep 1000\n")
    runsvdir = start()
    wait_until(lambda: running_pid(svdir / "a"), what="a")
    assert os.path.isdir(base + "/a")
    runsvdir.terminate()
    runsvdir.wait(timeout=30)
    assert not os.path.exists(base)


def test_a_users_tree_divides_the_cgroup_root_handed_it(tmp_path):
    from .supervision.users.test_user_tree import OUTER, UserTree
    mount = _mount()
    found = UserTree()
    try:
        web = found.build()
        found.start(prefix=in_the_root(mount))
        tree = found.tree_pid()
        outer = OWN_ROOT + "/" + tree_leaf_name(str(found.svdir)) + "/" + OUTER
        # the user's tree in its own cgroup's leaf, its services beside it
        wait_until(lambda: cgroup_of(tree) == outer + "/supervise", what="tree in supervise")
        pid = wait_until(lambda: running_pid(web), what="the user's web")
        assert cgroup_of(pid) == outer + "/web"
        # handed over as the kernel's delegation asks, and nothing above
        for name in ("", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"):
            assert os.stat(mount + outer + name).st_uid == found.user.pw_uid, name
        assert os.stat(mount + outer.rsplit("/", 1)[0]).st_uid == 0
        assert (web / "supervise" / "cgroup").read_text() == outer + "/web\n"
        # the user's own stop ends what their service left behind
        assert sv("-w", "20", "down", str(web), svdir=found.user_tree).returncode == 0
        # the tree's end: everything of the user's in that cgroup goes with it
        found.proc.terminate()
        found.proc.wait(timeout=40)
        assert not os.path.exists(mount + outer)
    finally:
        found.close()


# -- the C runsv, through what the generator renders (runtime: system) -------------------------
def rendered_under_c_runit(tmp_path, services):
    """``services`` (YAML of ``runit::services``) rendered with ``runtime: system`` into
    ``tmp_path/sv`` and ``tmp_path/service`` — the generator's scripts as they are."""
    import shutil
    import sys
    data = tmp_path / "data.yaml"
    data.write_text("runit::runtime: system\nrunit::sv_dir: %s/sv\nrunit::service_dir: "
                    "%s/service\nrunit::services:\n%s" % (tmp_path, tmp_path, services))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "runit_provision.cli.main", "render",
                           "--data", str(data), "--out", str(out)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for name in ("sv", "service"):
        shutil.move(str(out / str(tmp_path).lstrip("/") / name), str(tmp_path / name))
    return tmp_path / "service"


@contextlib.contextmanager
def c_runit_tree(tmp_path, svdir):
    """The C runsvdir on ``svdir``, the C runit's tools first on its PATH and ours after (the
    rendered scripts' runsv-cgroup): ``(env, base, left)`` — its env, the C tree's cgroup, and
    a list of pids the test adds to, KILLed after. The C runsvs leave the cgroups behind
    (nothing of theirs removes them): removed after, once empty."""
    from runit_provision.runtime.unix.cgroup import Cgroups
    from ..conftest import C_RUNIT, OUR_BIN, require_c_runit
    from .processes import BASE_PATH, Group, end_tree
    require_c_runit()
    mount = _mount()
    env = {"PATH": "%s:%s" % (BASE_PATH, OUR_BIN)}
    tree = Group(in_the_root(mount) + [C_RUNIT["runsvdir"], svdir], env=env,
                 output=tmp_path / "runsvdir.out")
    base = OWN_ROOT + "/" + tree_leaf_name(str(tmp_path / "sv"))
    left = []
    try:
        yield env, base, left
    finally:
        end_tree(tree.proc, tmp_path)
        for pid in alive(left):
            os.kill(pid, 9)
    cgroups = Cgroups(mount, base, "/")
    wait_until(lambda: cgroups.remove(base), what="the C tree's cgroups removed")


def c_sv(env, *args):
    from ..conftest import C_RUNIT
    return subprocess.run([C_RUNIT["sv"]] + list(args), env=env, capture_output=True,
                          text=True, timeout=60)


def test_under_the_c_runsv_the_rendered_scripts_end_the_whole_service(tmp_path):
    run = "      #!/bin/sh\n      setsid sh -c 'echo $$ >%s; exec sleep 1000' </dev/null " \
          ">/dev/null 2>&1 &\n      exec sleep 1001\n"
    svdir = rendered_under_c_runit(tmp_path, (
        "  daemon:\n    log: false\n    stop: group\n    run: |\n"
        + run % (tmp_path / "daemon-child") +
        "  classic:\n    log: false\n    run: |\n" + run % (tmp_path / "classic-child")))
    with c_runit_tree(tmp_path, svdir) as (env, base, left):
        daemon, classic = (read_pid(tmp_path / name) for name in ("daemon-child",
                                                                  "classic-child"))
        left.append(classic)
        assert cgroup_of(daemon) == base + "/daemon"
        assert cgroup_of(classic) == "/"  # asked for no cgroup: as the C runit runs it
        for name in ("daemon", "classic"):
            done = c_sv(env, "-w", "20", "down", str(svdir / name))
            assert done.returncode == 0, done
        assert not alive([daemon])  # gone before the C sv said down
        assert alive([classic])  # runit's own stop, the C runit's default
        assert (svdir / "daemon" / "supervise" / "cgroup").read_text() == base + "/daemon\n"


def test_under_the_c_runsv_a_stop_ends_what_hides_below_and_waits_for_it(tmp_path):
    """``runsv-cgroup end`` walks the service's subtree: a TERM-ignoring child moved below the
    service's cgroup is killed after the grace, and the C sv's ``down`` waits for it."""
    run = run_hiding_below(_mount(), tmp_path / "child", trap='trap "" TERM;')
    svdir = rendered_under_c_runit(tmp_path, "  hider:\n    log: false\n    stop: group\n"
                                   "    run: |\n" + "".join(
                                       "      " + line + "\n" for line in run.splitlines()))
    with c_runit_tree(tmp_path, svdir) as (env, base, left):
        child = read_pid(tmp_path / "child")
        left.append(child)
        assert cgroup_of(child) == base + "/hider/hid/deeper"
        began = time.monotonic()
        done = c_sv(env, "-w", "30", "down", str(svdir / "hider"))
        assert done.returncode == 0, done
        assert not alive([child])  # killed after the grace, before the C sv said down
        assert time.monotonic() - began >= 6.5


def test_a_tree_started_in_a_units_own_cgroup_divides_it_without_controllers(tree, tmp_path):
    """As systemd before 254 starts the runtime's unit (no DelegateSubgroup=): the tree moves
    into supervise, its services beside it, and enables no controller — one in the unit's
    subtree_control would keep systemd from starting the tree again after a crash."""
    svdir, start = tree
    mount = _mount()
    unit = "/rp-test-%d.service" % os.getpid()
    os.mkdir(mount + unit)
    try:
        make_service(svdir, "web", run=SH + "exec sleep 1000\n")
        runsvdir = start(prefix=["sh", "-c", 'echo $$ >"$0/cgroup.procs" && exec "$@"',
                                 mount + unit])
        pid = wait_until(lambda: running_pid(svdir / "web"), what="web")
        assert cgroup_of(pid) == unit + "/web"
        assert cgroup_of(runsvdir.pid) == unit + "/supervise"
        assert open(mount + unit + "/cgroup.subtree_control").read().split() == []
        assert "limits unavailable: the init system started the tree in its unit's own " \
            "cgroup" in runsvdir.stdout.readline().decode()
        runsvdir.terminate()
        runsvdir.wait(timeout=30)
    finally:
        from runit_provision.runtime.unix.cgroup import Cgroups
        cgroups = Cgroups(mount, unit, "/")
        for pid in cgroups.procs(unit + "/supervise"):
            cgroups.move("/", pid)
        wait_until(lambda: cgroups.remove(unit), what="the unit's cgroup removed")


# -- the suite's own trees ---------------------------------------------------------------------
KILLED_TREE = '''
import os, signal, subprocess
from tests.conftest import our_tool
from tests.runtime.processes import make_service, running_pid, wait_until
from tests.runtime.test_cgroups import escaping_run, in_the_root

def test_a_tree_killed_with_a_daemon_left(tmp_path):
    svdir = tmp_path / "service"
    svdir.mkdir()
    make_service(svdir, "daemon", run=escaping_run(os.environ["DAEMON_PID"]))
    tree = subprocess.Popen(in_the_root(os.environ["CGROUP_MOUNT"])
                            + [our_tool("runsvdir"), str(svdir)], start_new_session=True)
    wait_until(lambda: running_pid(svdir / "daemon"), what="the daemon")
    wait_until(lambda: os.path.getsize(os.environ["DAEMON_PID"]) if os.path.exists(
        os.environ["DAEMON_PID"]) else 0, what="the escaped child's pid")
    os.killpg(tree.pid, signal.SIGKILL)  # as the tests' fixtures end a tree
    tree.wait()
'''


def test_a_session_leaves_no_cgroup_of_its_trees_behind(tmp_path):
    """A test that KILLs its tree leaves the tree's cgroup, a daemon that escaped its group
    still in it: the session's end ends what is left and removes it (tests/conftest.py)."""
    mount = _mount()
    (tmp_path / "test_killed.py").write_text(KILLED_TREE)
    basetemp, daemon = tmp_path / "inner", tmp_path / "daemon.pid"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    session = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n0", "-p", "no:cacheprovider",
         "-p", "tests.conftest", "--basetemp", str(basetemp), str(tmp_path / "test_killed.py")],
        cwd=root, env=dict(os.environ, DAEMON_PID=str(daemon), CGROUP_MOUNT=mount),
        capture_output=True, text=True,
        timeout=120)
    pid = int(daemon.read_text()) if daemon.exists() else 0
    try:
        assert session.returncode == 0, session.stdout + session.stderr
        assert pid and not alive([pid])
        prefix = tree_leaf_name(str(basetemp)) + "-"
        assert [name for name in os.listdir(mount + OWN_ROOT) if name.startswith(prefix)] == []
    finally:
        if pid and alive([pid]):
            os.kill(pid, signal.SIGKILL)
