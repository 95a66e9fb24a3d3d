"""A user cannot hold root's tree up through the cgroup root hands it (docs/resources.md).

Root's tree (our runsvdir, started in the test's delegated cgroup) runs ``runsvdir-nobody``:
the service's cgroup is handed to nobody with ``cgroup.max.depth`` and
``cgroup.max.descendants`` written first and kept root's, so what nobody makes there stays
small. A chain made before those bounds (a tree of an older runtime), or below a root service,
thousands deep, still goes when TERM ends the tree — in seconds, every service down — and an
unlinked ``runsvdir-nobody`` lets its lock go to the one linked again.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from runit_provision.protocol.cgroupfs import keyed_counts
from runit_provision.runtime.unix.cgroup import DELEGATED_BOUNDS, DELEGATED_FILES
from tests import cgroupchain
from tests.conftest import OUR_BIN, our_tool
from tests.runtime.processes import (BASE_PATH, SH, alive, cmdline, is_runsv_up,
                                     make_service, processes_under, running_pid, wait_until)
from tests.runtime.supervision.users.test_user_tree import OUTER, UserTree, uid_of
from tests.vm.conftest import in_cgroup

STOPPED_WITHIN = 30  # seconds, under TCG: the tree's own KILL path would take longer and say so


@pytest.fixture
def trees(cgroup, scratch):
    """Root's tree in ``cgroup`` with ``runsvdir-nobody`` (nobody's tree, services ``web`` and
    ``noisy``) and a root service ``plain``, running: ``(UserTree, its output file)``."""
    found = UserTree()
    try:
        found.build()
        make_service(found.svdir, "plain", run=SH + "exec sleep 1000\n")
        output = scratch / "tree.out"
        with open(str(output), "wb") as sink:
            found.proc = subprocess.Popen(
                in_cgroup(cgroup, [our_tool("runsvdir"), str(found.svdir)]),
                env={"PATH": "%s:%s" % (OUR_BIN, BASE_PATH)}, stdin=subprocess.DEVNULL,
                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_users_tree(found)
        for service in ("web", "noisy"):
            wait_until(lambda: running_pid(found.user_tree / service), timeout=120, what=service)
        wait_until(lambda: running_pid(found.svdir / "plain"), timeout=60, what="plain")
        yield found, output
    finally:
        found.close()


def wait_for_users_tree(found):
    """Until nobody's tree runs as nobody (UserTree.tree_pid, with TCG's time)."""
    def running():
        pid = running_pid(found.outer)
        return pid if cmdline(pid) == ["runsvdir", str(found.user_tree)] and uid_of(
            pid) == str(found.user.pw_uid) else 0
    return wait_until(running, timeout=120, what="nobody's tree running as nobody")


def as_nobody(*argv):
    done = subprocess.run([our_tool("chpst"), "-u", "nobody"] + list(argv),
                          capture_output=True, text=True, timeout=600)
    return done.stdout.strip() or done.stderr.strip()


def chain_as_nobody(top, depth):
    return as_nobody("/usr/bin/python3", cgroupchain.__file__, str(top), str(depth))


def lift_bounds(handed):
    """As a tree of an older runtime left a user's cgroup: no bound on it."""
    for file, _ in DELEGATED_BOUNDS:
        (handed / file).write_text("max")


def terminated_within(found):
    began = time.monotonic()
    found.proc.send_signal(signal.SIGTERM)
    try:
        found.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise AssertionError("root's tree still runs 120 s after TERM") from None
    took = time.monotonic() - began
    print("TERM to the tree's exit: %.1f s" % took)  # shown with -rP, for bench/RESULTS.md
    return took


def test_the_users_cgroup_is_bounded_by_root_and_the_bounds_stay_roots(trees, cgroup):
    found, output = trees
    handed, nobody = cgroup / OUTER, found.user.pw_uid
    for file, value in DELEGATED_BOUNDS:
        assert (handed / file).read_text() == value + "\n"
        assert os.stat(str(handed / file)).st_uid == 0, file
    for name in ("",) + DELEGATED_FILES:
        assert os.stat(str(handed / name)).st_uid == nobody, name
    assert "Permission denied" in as_nobody("sh", "-c", "echo max >%s" % (
        handed / "cgroup.max.depth"))
    depth = dict(DELEGATED_BOUNDS)["cgroup.max.depth"]
    assert chain_as_nobody(handed, cgroupchain.DEEP) == "made %s refused EAGAIN" % depth
    # as wide as the rest of the bound (the user's tree has its own cgroups there too)
    wide = as_nobody("/usr/bin/python3", "-c", (
        "import errno, os\nmade = 0\ntry:\n    while True:\n"
        "        os.mkdir('%s/w%%d' %% made)\n        made += 1\nexcept OSError as exc:\n"
        "    print(errno.errorcode[exc.errno])\n") % handed)
    assert wide == "EAGAIN", wide
    assert keyed_counts((handed / "cgroup.stat").read_text())["nr_descendants"] == int(
        dict(DELEGATED_BOUNDS)["cgroup.max.descendants"])
    assert terminated_within(found) < STOPPED_WITHIN, output.read_text()


def test_a_users_chain_thousands_deep_does_not_hold_roots_tree_up(trees, cgroup):
    """The issue's case, and the same chain below a root service: TERM ends root's tree in
    seconds, every service of both trees down, every cgroup of theirs gone."""
    found, output = trees
    handed = cgroup / OUTER
    lift_bounds(handed)
    assert chain_as_nobody(handed, cgroupchain.DEEP) == "made %d" % cgroupchain.DEEP
    cgroupchain.make_chain(cgroup / "plain", cgroupchain.DEEP)
    took = terminated_within(found)
    said = output.read_text()
    assert took < STOPPED_WITHIN, (took, said)
    assert found.proc.returncode == 0, said
    for side in (found.svdir / "plain", found.outer, found.user_tree / "web",
                 found.user_tree / "noisy"):
        assert (side / "supervise" / "stat").read_text() == "down\n", side
    assert not handed.exists() and not (cgroup / "plain").exists()
    assert not processes_under(found.base), said
    assert "not down after the kill" not in said and "RecursionError" not in said, said


def test_unlinked_with_a_chain_in_place_it_ends_and_its_lock_goes_to_the_next(trees, cgroup):
    found, output = trees
    handed = cgroup / OUTER
    lift_bounds(handed)
    assert chain_as_nobody(handed, cgroupchain.DEEP) == "made %d" % cgroupchain.DEEP
    parked = found.base / "parked"
    os.rename(str(found.outer), str(parked))  # unlinked: root's tree tells its runsv to exit
    wait_until(lambda: not is_runsv_up(parked), timeout=STOPPED_WITHIN,
               what="runsvdir-nobody's runsv gone")
    assert (parked / "supervise" / "stat").read_text() == "down\n"
    assert not handed.exists()
    os.rename(str(parked), str(found.outer))  # linked again: a new runsv takes the lock
    wait_for_users_tree(found)
    assert (handed / "cgroup.max.depth").read_text() != "max\n"  # bounded again at its start
    assert "unable to lock" not in output.read_text(), output.read_text()


def test_runsv_cgroup_hands_a_users_cgroup_bounded_under_the_c_runsv(cgroup, scratch):
    """``runsv-cgroup enter PID USER``, as ``runsvdir-LOGIN/run`` begins under the C runsv."""
    service = make_service(scratch / "service", OUTER, run=SH + "exec sleep 1000\n")
    sleeper = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    try:
        entered = subprocess.run(
            in_cgroup(cgroup, [our_tool("runsv-cgroup"), "enter", str(sleeper.pid), "nobody"]),
            cwd=str(service), capture_output=True, text=True, timeout=120)
        assert entered.returncode == 0, entered
        handed = cgroup / OUTER
        assert (handed / "cgroup.procs").read_text().split() == [str(sleeper.pid)]
        for file, value in DELEGATED_BOUNDS:
            assert (handed / file).read_text() == value + "\n"
            assert os.stat(str(handed / file)).st_uid == 0, file
        assert os.stat(str(handed / "cgroup.procs")).st_uid != 0
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not alive([sleeper.pid])
