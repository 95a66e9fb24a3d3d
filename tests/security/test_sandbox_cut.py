"""The security tier's namespace ends what it holds when its creator is cut short: a pytest
or a bench killed by a signal or a timeout runs no fixture's teardown, and left root's tree,
the users' processes and the namespace's holder running for hours (seen at stop 42). The
holder waits on a pipe only its creator holds; at EOF it kills every process of its mount
namespace and removes its scratch files — and the host's directories bound into it are left
whole."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ..conftest import ROOT
from ..runtime.processes import stat_fields, wait_until

pytestmark = pytest.mark.slow

# A creator: a namespace, a process of root's and one of apprun1's inside; their pids, the
# holder's and the scratch directory on stdout; then it waits to be killed.
CREATOR = textwrap.dedent("""\
    import subprocess, sys, time
    from tests.security.sandbox import Namespace
    ns = Namespace()
    roots = ns.start(["sleep", "1000"], {"PATH": "/usr/bin:/bin"}, "/dev/null")
    users = subprocess.Popen(ns.argv(["sleep", "1000"], user="apprun1"),
                             start_new_session=True)
    print(ns.holder.pid, roots.pid, users.pid, ns.scratch, flush=True)
    time.sleep(1000)
""")


def _mount_namespace(pid):
    try:
        return os.readlink("/proc/%d/ns/mnt" % pid)
    except OSError:
        return None


def test_a_creator_killed_leaves_no_process_and_no_scratch_behind(namespace):
    # ``namespace``: the tier's own, for what it needs (root and the tools) — the creator makes
    # another, the one cut short
    creator = subprocess.Popen([sys.executable, "-c", CREATOR], cwd=str(ROOT),
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        fields = creator.stdout.readline().split()
        assert len(fields) == 4, fields
        holder, roots, users = (int(field) for field in fields[:3])
        scratch = Path(fields[3])
        inside = _mount_namespace(holder)
        wait_until(lambda: _mount_namespace(users) == inside, timeout=30,
                   what="apprun1's process inside the namespace")
        assert _mount_namespace(roots) == inside and inside != _mount_namespace(os.getpid())
        os.killpg(creator.pid, signal.SIGKILL)  # the creator and its group; not the holder's
        creator.wait()
        # gone, or a zombie (stat_fields: None) its killed parent has not reaped
        wait_until(lambda: all(stat_fields(pid) is None for pid in (holder, roots, users)),
                   timeout=30, what="the namespace's processes ended")
        wait_until(lambda: not scratch.exists(), timeout=30, what="the scratch files removed")
        # what was bound into the namespace is the host's own, untouched
        assert (ROOT / "tests" / "security" / "sandbox.py").is_file()
        assert Path(sys.executable).exists()
    finally:
        try:
            os.killpg(creator.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        creator.wait()
        creator.stdout.close()
