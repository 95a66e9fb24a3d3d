"""Root's stop of a user's tree ends every process of the user's, wherever in the cgroup root
handed them the user put it (docs/resources.md, "What a stop ends").

Root's tree (ours, or the C runit's with the scripts ``runtime: system`` renders:
``runsv-cgroup enter $$ nobody`` in ``runsvdir-nobody/run``, ``runsv-cgroup end`` in its
finish) runs nobody's tree. A service of nobody's makes a cgroup of its own below the one it
was handed and moves a child there that leaves the session and ignores TERM. While it runs,
the views count it among ``runsvdir-nobody``'s processes; root's ``sv -w 20 down`` returns
only once it is gone — killed after the grace — under both runtimes.
"""

import subprocess
import time

import pytest

from runit_provision.host.cgroupread import CgroupReader
from runit_provision.host.fsread import FsReader
from tests.conftest import C_RUNIT, OUR_BIN, make_bin_dir, our_tool
from tests.runtime.processes import (BASE_PATH, SH, alive, make_service, running_pid,
                                     wait_until, write_file)
from tests.runtime.supervision.users.test_user_tree import OUTER, UserTree
from tests.vm.conftest import in_cgroup, populated

GRACE = 7.0  # the runtime's TERM to KILL (servicecgroup.GRACE_SECONDS)


def hiding_run(handed, pidfile):
    """nobody's service: a child in ``handed/hid`` (made by nobody), out of the session,
    TERM ignored, its pid said."""
    return SH + ("mkdir -p %s/hid\nsetsid sh -c 'trap \"\" TERM; echo $$ >%s/hid/cgroup.procs; "
                 "echo $$ >%s; exec sleep 1000' </dev/null >/dev/null 2>&1 &\n"
                 "exec sleep 1001\n" % (handed, handed, pidfile))


@pytest.fixture(params=["ours", "c"])
def users_tree(request, cgroup):
    """Root's tree of ``request.param`` in ``cgroup`` running nobody's, whose service
    ``hider`` has hidden its child: ``(UserTree, sv, the child's pid)``."""
    found = UserTree()
    try:
        if request.param == "ours":
            found.build()
            path, runsvdir, sv = OUR_BIN, our_tool("runsvdir"), our_tool("sv")
        else:
            bin_dir = make_bin_dir(found.base / "bin", "c")  # nobody's tree finds it too
            (bin_dir / "runsv-cgroup").symlink_to(OUR_BIN / "runsv-cgroup")
            run = found.canonical_run().replace(
                "exec 2>&1\n", "exec 2>&1\nrunsv-cgroup enter $$ nobody || exit 1\n", 1)
            found.build(run=run)
            write_file(found.outer / "finish", "#!/bin/sh\nexec runsv-cgroup end\n", 0o755)
            path, runsvdir, sv = bin_dir, C_RUNIT["runsvdir"], C_RUNIT["sv"]
        pidfile = found.home / "hidden"
        make_service(found.user_tree, "hider", run=hiding_run(cgroup / OUTER, pidfile))
        subprocess.run(["chown", "-R", "nobody", str(found.user_tree / "hider")], check=True)
        found.proc = subprocess.Popen(
            in_cgroup(cgroup, [runsvdir, str(found.svdir)]),
            env={"PATH": "%s:%s" % (path, BASE_PATH)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        hidden = wait_until(lambda: pidfile.exists() and pidfile.read_text().strip()
                            and int(pidfile.read_text()), timeout=180, what="the hidden child")
        yield found, sv, hidden
    finally:
        found.close()


def test_roots_stop_of_a_users_tree_waits_until_what_hid_below_is_killed(users_tree, cgroup):
    found, sv, hidden = users_tree
    handed = cgroup / OUTER
    wait_until(lambda: running_pid(found.outer), timeout=60, what="runsvdir-nobody running")
    assert open("/proc/%d/cgroup" % hidden).read().rstrip().endswith(
        "/%s/hid" % OUTER)  # below the top root handed nobody: not in its cgroup.procs
    assert str(hidden) not in (handed / "cgroup.procs").read_text().split()
    with CgroupReader() as reader, FsReader("/") as fs:
        usage = reader.usage(fs, str(found.outer))
    assert hidden in usage.procs and usage.outliving(running_pid(found.outer)) == 0
    began = time.monotonic()
    done = subprocess.run([sv, "-w", "20", "down", str(found.outer)],
                          capture_output=True, text=True, timeout=120)
    took = time.monotonic() - began
    assert done.returncode == 0, done
    assert not alive([hidden]), "sv said down after %.1f s with nobody's child running" % took
    assert took >= GRACE - 0.5  # TERM ignored: KILLed after the grace, and sv waited for it
    assert not handed.exists() or not populated(handed)
