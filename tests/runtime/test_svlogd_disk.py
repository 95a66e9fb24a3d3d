"""svlogd on a full disk and a read-only directory: a small tmpfs in a private mount namespace.

The logger runs inside ``unshare --mount --propagation private``; the test looks at its
files through ``/proc/PID/root``, which resolves paths in the logger's mount namespace.
Both implementations: runit's behaviour here is the contract (docs/runit-protocol.md §4, "Write
errors").
"""

import os
import shutil
from pathlib import Path

import pytest

from ..conftest import IN_CI
from .processes import wait_until
from .test_svlogd import RunningLogger, old_files, read

pytestmark = pytest.mark.slow

SETUP = """
set -e
mount -t tmpfs -o size="$SIZE" tmpfs "$1"
mkdir "$1/log"
printf "$CONFIG" >"$1/log/config"
head -c "$FILLER" /dev/zero >"$1/filler"
if [ -n "$READONLY" ]; then mount --bind -o ro "$1/log" "$1/log"; fi
exec "$2" -l 100 -b 101 "$1/log"
"""


@pytest.fixture
def namespaced_logger(processes, tmp_path, which_tool):
    """start(impl, size, config, filler=0, readonly=False) -> (logger, mount point, the
    mount point as seen from here).  The tmpfs lives only as long as the logger does."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private mount namespace")
    started = []

    def start(impl, size, config, filler=0, readonly=False):
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SIZE": size, "CONFIG": config,
               "FILLER": str(filler), "READONLY": "yes" if readonly else ""}
        logger = RunningLogger(processes, "unshare", [
            "--mount", "--propagation", "private", "sh", "-c", SETUP, "sh", str(mnt),
            which_tool(impl, "svlogd")], tmp_path, env=env)
        started.append(logger)
        inside = Path("/proc/%d/root" % logger.pid) / str(mnt)[1:]
        wait_until(lambda: (inside / "log" / "lock").exists() or logger.group.poll() is not None,
                   what="the logger's tmpfs")
        if logger.group.poll() not in (None, 111):
            # unshare or mount refused (a container without CAP_SYS_ADMIN, a kernel without
            # user namespaces) — not svlogd's own fatal 111, which a test may expect: nothing
            # reads the pipe, and a test writing 33 kB into it would block for good
            why = "no private mount namespace here: %s" % logger.stderr().strip()
            if IN_CI:
                pytest.fail("CI=true but " + why)
            pytest.skip(why)
        return logger, mnt, inside

    yield start
    for logger in started:
        logger.close()


def numbered(start, stop):
    return b"".join(b"line %06d %s\n" % (i, b"." * 40) for i in range(start, stop))


def test_a_full_disk_pauses_then_resumes_without_loss(impl, namespaced_logger):
    logger, mnt, inside = namespaced_logger(impl, "64k", "s1000000\\n", filler=48 * 1024)
    data = numbered(0, 600)   # 33 kB: more than the 16 kB left
    logger.write(data)
    logger.wait_stderr("svlogd: pausing: unable to write to current: %s/log: out of disk space"
                       % mnt)
    assert len(read(inside / "log" / "current")) < len(data)
    (inside / "filler").unlink()
    wait_until(lambda: read(inside / "log" / "current") == data, timeout=10)
    logger.close_input()
    assert logger.wait() == 0


def test_a_full_disk_deletes_the_oldest_while_more_than_n_min_remain(impl, namespaced_logger):
    logger, mnt, inside = namespaced_logger(impl, "64k", "s4000\\nn20\\nN2\\n",
                                            filler=24 * 1024)
    data = numbered(0, 2000)   # 110 kB through a 40 kB space
    logger.write(data)
    log = inside / "log"
    wait_until(lambda: logger.pending() == 0 and read(log / "current").endswith(data[-56:]),
               timeout=20)
    assert "svlogd: warning: out of disk space, delete: %s/log/@" % mnt in logger.stderr()
    kept = b"".join(read(p) for p in old_files(log)) + read(log / "current")
    assert data.endswith(kept)          # the newest lines, whole and in order
    assert len(old_files(log)) >= 2
    logger.close_input()
    assert logger.wait() == 0


def test_a_read_only_directory_is_reported(impl, namespaced_logger):
    logger, mnt, _ = namespaced_logger(impl, "64k", "", readonly=True)
    assert logger.wait() == 111
    assert logger.stderr() == (
        "svlogd: warning: unable to lock directory: %s/log: read-only file system\n"
        "svlogd: fatal: no functional log directories.\n" % mnt)
