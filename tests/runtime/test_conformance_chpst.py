"""chpst rows of docs/runit-protocol.md §5 that no other tier pinned (docs/conformance.md): the
order of operations where one step shows in the next, on both implementations (``impl_bin``).

Every process is run to completion in its own session and its group killed afterwards.
"""

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from .processes import close_pipes

BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def run(argv, cwd=None, timeout=30):
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": BASE_PATH}, cwd=None if cwd is None else str(cwd),
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
def open_dir():
    """A scratch directory any user may write (pytest's tmp_path is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="chpst-order-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(str(path))


@needs_root
def test_nice_comes_before_the_user_switch(impl_bin):
    """§5 order 5 then 7: a negative nice is still allowed (root) when -u drops root later."""
    base = os.nice(0)
    code, out, err = run([impl_bin / "chpst", "-u", "nobody", "-n", "-3", "sh", "-c",
                          "id -u; nice"])
    assert (code, err) == (0, "")
    assert out.split() == ["65534", str(max(base - 3, -20))]


@needs_root
def test_lock_comes_after_the_user_switch(impl_bin, open_dir):
    """§5 order 7 then 8: the lock file is created by the new user, mode 0600."""
    lock = open_dir / "lock"
    assert run([impl_bin / "chpst", "-u", "nobody", "-l", lock, "true"]) == (0, "", "")
    info = lock.stat()
    assert (info.st_uid, oct(info.st_mode & 0o777)) == (65534, "0o600")


def test_lock_failure_is_reported_before_stderr_is_closed(impl_bin, tmp_path):
    """§5 order 8 then 9: ``-2 -L`` on a held lock still prints its message."""
    lock = tmp_path / "lock"
    holder = subprocess.Popen([str(impl_bin / "chpst"), "-L", str(lock), "sh", "-c",
                               "echo held; exec cat"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert holder.stdout.readline() == b"held\n"
        assert run([impl_bin / "chpst", "-2", "-L", lock, "true"]) == (
            111, "", "chpst: fatal: unable to lock: %s: temporary failure\n" % lock)
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
        close_pipes(holder)


def test_limits_come_after_the_lock(impl_bin, tmp_path):
    """§5 order 8 then 10: with ``-o 3`` (fds 0-2 only) a lock opened after the limit would
    fail with EMFILE; chpst opens it first. The program must be static: a dynamic one needs
    a descriptor for its loader."""
    static = "/sbin/ldconfig"
    ldd = subprocess.run(["ldd", static], capture_output=True, text=True) \
        if os.path.exists(static) and shutil.which("ldd") else None
    if ldd is None or "statically" not in ldd.stdout + ldd.stderr:
        pytest.skip("no static /sbin/ldconfig to run under a 3-descriptor limit")
    lock = tmp_path / "lock"
    code, out, err = run([impl_bin / "chpst", "-o", "3", "-l", lock, static, "--version"])
    assert (code, err) == (0, "")
    assert out.startswith("ldconfig ")
    # The same open after the limit fails: what the order avoids.
    code, _, err = run(["sh", "-c", 'ulimit -n 3; exec 3>>"$0"', lock])
    assert code != 0 and "Too many open files" in err
