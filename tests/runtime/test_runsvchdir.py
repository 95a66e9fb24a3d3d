"""runsvchdir as a process: on $RUNSVDIR (ours, and the C one from 2.3.0: Debian's 2.1.2 and
2.2.0 ignore it), and both implementations on /etc/runit/runsvdir inside a private mount
namespace (the real one is never used).
"""

import os
import shutil
import subprocess

import pytest

from ..conftest import c_runit_at_least
from .processes import BASE_PATH

# Bind-mount $1 over /etc/runit/runsvdir, prove it worked, then run the rest.
PRIVATE = ('mount --bind "$1" /etc/runit/runsvdir && [ -e /etc/runit/runsvdir/.scratch ] '
           '&& shift && exec "$@"')


def in_private_runsvdir(argv, scratch):
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0 or not os.path.isdir("/etc/runit/runsvdir"):
        pytest.skip("needs root, unshare(1) and /etc/runit/runsvdir for a private bind mount")
    (scratch / ".scratch").write_text("")
    return subprocess.run([unshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
                           PRIVATE, "sh", str(scratch)] + argv, env={"PATH": BASE_PATH},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)


@pytest.fixture
def levels(tmp_path):
    base = tmp_path / "runsvdir"
    for name in ("default", "single"):
        (base / name).mkdir(parents=True)
    os.symlink("default", str(base / "current"))
    return base


def test_both_switch_the_same_way_on_the_default_path(impl, which_tool, levels):
    proc = in_private_runsvdir([which_tool(impl, "runsvchdir"), "single"], levels)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, b"runsvchdir: single: now current.\n", b"")
    assert os.readlink(str(levels / "current")) == "single"
    assert os.readlink(str(levels / "previous")) == "default"
    assert sorted(os.listdir(str(levels))) == [".scratch", "current", "default", "previous",
                                               "single"]


def test_runsvdir_is_honoured(impl, which_tool, levels):
    """Ours, and the C runsvchdir from 2.3.0 on, switch in ``$RUNSVDIR``."""
    if impl == "c" and not c_runit_at_least("2.3.0"):
        pytest.skip("the C runsvchdir before 2.3.0 ignores $RUNSVDIR")
    proc = subprocess.run([which_tool(impl, "runsvchdir"), "single"],
                          env={"PATH": BASE_PATH, "RUNSVDIR": str(levels)},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        0, b"runsvchdir: single: now current.\n", b"")
    assert os.readlink(str(levels / "current")) == "single"


def test_absolute_name_links_absolutely(which_tool, levels):
    target = str(levels / "single")
    proc = subprocess.run([which_tool("ours", "runsvchdir"), target],
                          env={"PATH": BASE_PATH, "RUNSVDIR": str(levels)},
                          stdout=subprocess.PIPE, timeout=30)
    assert proc.returncode == 0
    assert os.readlink(str(levels / "current")) == target
