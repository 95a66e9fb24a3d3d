"""The VM is what the tier promises: cgroup v2 alone at /sys/fs/cgroup, the cpu, io, memory
and pids controllers, the test unit's cgroup delegated to it — children made, controllers
enabled, a memory limit that the OOM killer enforces and memory.events tells."""

import subprocess
import sys
from pathlib import Path

from tests import vm_tier
from tests.vm.conftest import in_cgroup

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = set(vm_tier.CONTROLLERS)


def mounts():
    """(mount point, filesystem type) of each line of /proc/self/mountinfo."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, after = line.partition(" - ")
        found.append((fields.split()[4], after.split()[0]))
    return found


def events(path):
    return dict(line.split() for line in path.read_text().splitlines())


def test_the_one_cgroup_hierarchy_is_v2_at_sys_fs_cgroup():
    types = [kind for point, kind in mounts() if kind in ("cgroup", "cgroup2")]
    assert types == ["cgroup2"], mounts()
    assert ("/sys/fs/cgroup", "cgroup2") in mounts()


def test_the_controllers_are_available():
    assert CONTROLLERS <= set((CGROUP_ROOT / "cgroup.controllers").read_text().split())


def test_the_tests_run_in_the_test_units_delegated_cgroup(cgroup):
    own = Path(Path("/proc/self/cgroup").read_text().split(":", 2)[2].strip())
    assert own.parent.name == vm_tier.UNIT and own.name == "runner", own
    assert CONTROLLERS <= set((cgroup / "cgroup.controllers").read_text().split())
    child = cgroup / "child"
    child.mkdir()
    (cgroup / "cgroup.subtree_control").write_text(" ".join("+" + name for name in CONTROLLERS))
    assert set((cgroup / "cgroup.subtree_control").read_text().split()) == CONTROLLERS
    for limit in ("memory.max", "pids.max", "cpu.max", "io.weight"):
        assert (child / limit).exists(), limit
    (child / "pids.max").write_text("7")
    assert (child / "pids.max").read_text() == "7\n"


def test_a_memory_limit_oom_kills_an_allocation_past_it_and_says_so(cgroup):
    (cgroup / "cgroup.subtree_control").write_text("+memory")
    bounded = cgroup / "bounded"
    bounded.mkdir()
    (bounded / "memory.max").write_text("32M")
    (bounded / "memory.swap.max").write_text("0")
    allocate = ("b = bytearray(100 * 2**20); b[::4096] = b'x' * (len(b) // 4096); "
                "print('allocated')")
    done = subprocess.run(in_cgroup(bounded, [sys.executable, "-c", allocate]),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9 and "allocated" not in done.stdout, done
    assert events(bounded / "memory.events")["oom_kill"] == "1"


def test_a_tasks_limit_stops_a_fork_loop(cgroup):
    (cgroup / "cgroup.subtree_control").write_text("+pids")
    bounded = cgroup / "bounded"
    bounded.mkdir()
    (bounded / "pids.max").write_text("5")
    loop = ("import os, time\nkids = []\nwhile len(kids) < 50:\n"
            "    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        os.closerange(0, 3)\n        time.sleep(60)\n"
            "        os._exit(0)\n"
            "    kids.append(pid)\nprint(len(kids))\n")
    done = subprocess.run(in_cgroup(bounded, [sys.executable, "-c", loop]),
                          capture_output=True, text=True, timeout=120)
    # the parent and four children: five tasks (the children, asleep with their output
    # closed, are the fixture's to kill)
    assert done.stdout.split() == ["4"], done
    assert int(events(bounded / "pids.events")["max"]) >= 1
