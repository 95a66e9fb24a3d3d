"""A stopping tree ends the orphans it adopted, found as its children in /proc: by the numbers of
its own PID namespace, even when /proc is an outer one's (``unshare --pid`` without
``--mount-proc``: the C runit's tests and Debian 13's tier run trees so). Read as /proc numbers
them, the children of process 1 of the new namespace were those of the machine's init, and a
tree signalled whoever held those numbers in its own namespace (the transcript runsvdir-term
ended "with orphans left behind" in the Debian 13 tier)."""

import os
import shutil
import subprocess
import sys

import pytest

from ....conftest import IN_CI

CHILD = """
import os, sys, time
from runit_provision.runtime.supervision.tree.servicetree import children_of_self
pids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    pids.append(pid)
try:
    print(os.getpid(), sorted(pids) == sorted(children_of_self()), sorted(children_of_self()))
finally:
    for pid in pids:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
"""


def unshare_or_skip():
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI=true but no unshare(1) or not root")
        pytest.skip("needs root and unshare(1)")
    return unshare


@pytest.mark.slow
@pytest.mark.parametrize("own_proc", [False, True], ids=["outer-proc", "own-proc"])
def test_children_are_numbered_as_in_the_trees_namespace(own_proc):
    argv = [unshare_or_skip(), "--pid", "--fork", "--kill-child"] + \
        (["--mount", "--mount-proc"] if own_proc else []) + [sys.executable, "-c", CHILD]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    pid, same, found = done.stdout.split(" ", 2)
    assert (pid, same) == ("1", "True"), done.stdout
    assert found.strip() == "[2, 3]"
