"""chpst as real processes, ours and the C one side by side (the ``impl`` fixture).

What the golden transcripts (``transcripts/chpst-*.sh``) cannot do well lives here: locks
waited on by a second process (observed in /proc/locks, with a deadline), chroot into a
throw-away root, supplementary groups under a private /etc/group (mount namespace), the exact
environment handed to the program, and the process state an interpreter could leak into it.
Every process started here is waited for or killed by pid / process group.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import c_runit_at_least, make_bin_dir, our_tool, require_c_runit
from ..skips import missing
from .processes import blocked_on_flock, close_pipes

BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
DEADLINE = 10.0


def run(argv, env=None, cwd=None, new_session=True, timeout=30):
    """Run to completion: (exit code, stdout, stderr) as text; the group is killed after."""
    proc = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": BASE_PATH} if env is None else env,
                            cwd=None if cwd is None else str(cwd),
                            start_new_session=new_session)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        stop(proc, new_session)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def stop(proc, group=True):
    """Kill what is left of a process we started (its group if it leads one) and reap it."""
    if group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    elif proc.poll() is None:
        proc.kill()
    proc.wait()
    close_pipes(proc)


def wait_until(predicate, what, seconds=DEADLINE):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("not within %.0fs: %s" % (seconds, what))


# --- locks ---------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("tool, waits, fails", [
    ("chpst", ["-l"], ["-L"]),
    ("setlock", ["-n"], []),        # setlock: fails at once by default, -n waits
    ("setlock", ["-n"], ["-N"]),
])
def test_lock_held_by_another_process(impl_bin, tmp_path, tool, waits, fails):
    lock = tmp_path / "lock"
    chpst = impl_bin / "chpst"
    holder = subprocess.Popen([str(chpst), "-L", str(lock), "sh", "-c", "echo held; exec cat"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              start_new_session=True)
    try:
        assert holder.stdout.readline() == b"held\n"
        assert run([impl_bin / tool] + fails + [lock, "echo", "not run"]) == (
            111, "", "chpst: fatal: unable to lock: %s: temporary failure\n" % lock)
        if tool == "setlock":
            assert run([impl_bin / tool, "-x"] + fails + [lock, "echo", "not run"]) == (
                0, "", "")

        waiter = subprocess.Popen([str(impl_bin / tool)] + waits + [str(lock), "echo", "got it"],
                                  stdout=subprocess.PIPE, start_new_session=True)
        try:
            wait_until(lambda: blocked_on_flock(waiter.pid), "the waiter blocks in flock()")
            assert waiter.poll() is None
            holder.stdin.close()          # cat ends, the lock goes with its fd
            out, _ = waiter.communicate(timeout=DEADLINE)
            assert (waiter.returncode, out) == (0, b"got it\n")
        finally:
            stop(waiter)
    finally:
        stop(holder)


@pytest.mark.slow
def test_interrupted_lock_wait_dies_quietly(impl_bin, tmp_path):
    lock = tmp_path / "lock"
    holder = subprocess.Popen([str(impl_bin / "chpst"), "-L", str(lock), "sh", "-c",
                               "echo held; exec cat"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert holder.stdout.readline() == b"held\n"
        waiter = subprocess.Popen([str(impl_bin / "chpst"), "-l", str(lock), "true"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True)
        try:
            wait_until(lambda: blocked_on_flock(waiter.pid), "the waiter blocks in flock()")
            waiter.send_signal(signal.SIGINT)
            out, err = waiter.communicate(timeout=DEADLINE)
            assert (waiter.returncode, out, err) == (-signal.SIGINT, b"", b"")
        finally:
            stop(waiter)
    finally:
        stop(holder)


def test_lock_fd_is_inherited(impl_bin, tmp_path):
    lock = tmp_path / "lock"
    code, out, err = run([impl_bin / "chpst", "-l", lock, "sh", "-c",
                          "readlink /proc/self/fd/3; cat /proc/self/fdinfo/3"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == str(lock)
    flags = int([l for l in lines if l.startswith("flags:")][0].split()[1], 8)
    assert flags & os.O_APPEND and flags & os.O_NONBLOCK and flags & os.O_WRONLY
    assert not flags & 0o2000000       # O_CLOEXEC: the program holds the lock
    assert oct(lock.stat().st_mode & 0o777) == "0o600"


# --- users and groups ----------------------------------------------------------------------

def namespaces_available():
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("mount"):
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not namespaces_available(), reason="needs root and unshare(1)")
def test_no_initgroups_under_a_private_etc_group(impl_bin, tmp_path):
    """nobody is made a member of daemon and bin in a bind-mounted /etc/group (private mount
    namespace: the real /etc is untouched). initgroups() would pick those up; runit does not."""
    lines = []
    with open("/etc/group") as handle:
        for line in handle:
            name, password, gid, members = line.rstrip("\n").split(":", 3)
            if name in ("daemon", "bin"):
                members = ",".join(filter(None, members.split(",") + ["nobody"]))
            lines.append(":".join((name, password, gid, members)))
    group = tmp_path / "group"
    group.write_text("\n".join(lines) + "\n")
    group.chmod(0o644)
    script = ('mount --bind "$1" /etc/group || exit 99; shift; '
              'id -G nobody; "$@" -u nobody id -G; "$@" -u nobody:nogroup id -G; '
              '"$@" -u nobody:daemon:bin id -G; "${0%/*}/setuidgid" nobody id -G')
    code, out, err = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
                          impl_bin / "chpst", group, impl_bin / "chpst"])
    assert (code, err) == (0, ""), err
    assert out.splitlines() == ["65534 1 2", "65534", "65534", "1 2", "65534"]


def test_user_switch_drops_every_other_group(impl_bin):
    code, out, err = run([impl_bin / "chpst", "-u", ":2:3", "sh", "-c",
                          "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["2", "3", "3"]
    assert lines[3].split()[1:] == ["2", "2", "2", "2"]
    assert lines[4].split()[1:] == ["3", "3", "3", "3"]
    assert lines[5].split()[1:] == ["3"]


# --- chroot and -C -------------------------------------------------------------------------

def make_root(root):
    """A minimal root holding /bin/sh and the shared objects ldd names for it."""
    if not shutil.which("ldd"):
        missing("ldd, to build a chroot", "apt-get install libc-bin")
    listing = subprocess.run(["ldd", "/bin/sh"], capture_output=True, text=True, timeout=30)
    if listing.returncode != 0:
        pytest.skip("/bin/sh is static or ldd failed")
    files = ["/bin/sh"]
    for line in listing.stdout.splitlines():
        for word in line.split():
            if word.startswith("/"):
                files.append(word)
    for name in files:
        target = root / name.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(name, target)          # follows symlinks: the real file
    (root / "etc").mkdir()
    (root / "sub").mkdir()
    return root


@pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
def test_chroot(impl_bin, tmp_path, impl):
    root = make_root(tmp_path / "root")
    env = {"PATH": "/bin"}
    chpst = impl_bin / "chpst"
    assert run([chpst, "-/", root, "sh", "-c", "pwd; echo inside"], env=env) == (
        0, "/\ninside\n", "")
    # the envdir is read before the chroot, relative to the starting directory
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "X").write_text("from outside\n")
    assert run([chpst, "-e", "env", "-/", root, "sh", "-c", 'echo "$X"'], env=env,
               cwd=tmp_path) == (0, "from outside\n", "")
    # users are looked up inside the new root, after the chroot
    missing = "chpst: fatal: unable to get password/group file entry: file does not exist\n"
    assert run([chpst, "-/", root, "-U", "nobody", "true"], env=env) == (111, "", missing)
    (root / "etc" / "passwd").write_text("nobody:x:65534:65534::/:/bin/sh\n")
    assert run([chpst, "-/", root, "-U", "nobody", "sh", "-c", 'echo "$UID:$GID"'],
               env=env) == (0, "65534:65534\n", "")
    assert run([chpst, "-/", root, "-u", "nobody:nogroup", "true"], env=env) == (
        111, "", missing)
    assert run([chpst, "-/", root, "true"], env={"PATH": "/usr/bin"}) == (
        111, "", "chpst: fatal: unable to run: true: file does not exist\n")
    # -C (runit 2.2.0+: Debian 13's) applies inside the new root; Debian 12's 2.1.2 does not
    # know it
    code, out, err = run([chpst, "-/", root, "-C", "/sub", "sh", "-c", "pwd"], env=env)
    if impl == "c" and not c_runit_at_least("2.2.0"):
        assert (code, err.splitlines()[0]) == (100, "chpst: illegal option -- C")
    else:
        assert (code, out, err) == (0, "/sub\n", "")
        assert run([chpst, "-/", root, "-C", "/none", "true"], env=env) == (
            111, "", "chpst: fatal: unable to change directory: /none: file does not exist\n")
        assert run([chpst, "-C", root / "sub", "pwd"]) == (0, "%s\n" % (root / "sub"), "")


# --- the program's environment and process state -------------------------------------------

def envdir_fixture(directory):
    directory.mkdir()
    for index in range(8):
        (directory / ("F%d" % index)).write_bytes(b"value %d \t\nignored" % index)
    (directory / "EMPTY").write_bytes(b"")
    (directory / "NUL").write_bytes(b"a\0b")
    (directory / "HOME").write_bytes(b"/from/envdir\n")
    (directory / "K=V").write_bytes(b"x")
    (directory / ".hidden").write_bytes(b"x")
    (directory / "sub").mkdir()
    return directory


@pytest.mark.interop
def test_environment_is_byte_identical_to_c(tmp_path):
    """Same envdir, same starting environment: the same bytes from ``env -0``, in order.

    Covers runit's replace-by-swapping order,
    -U after the envdir, and that the interpreter adds nothing (PEP 538's LC_CTYPE).
    """
    require_c_runit()
    envdir_fixture(tmp_path / "env")
    start = {"PATH": BASE_PATH, "EMPTY": "set", "HOME": "/root", "A": "1", "F3": "old",
             "UID": "7"}
    results = {}
    for impl in ("c", "ours"):
        bin_dir = make_bin_dir(tmp_path / ("bin-" + impl), impl)
        results[impl] = [
            run([bin_dir / "chpst", "-e", "env", "-U", "daemon:bin", "env", "-0"],
                env=start, cwd=tmp_path),
            run([bin_dir / "chpst", "-v", "-e", "env", "env", "-0"], env=start, cwd=tmp_path),
            run([bin_dir / "envuidgid", "nobody", "env", "-0"], env={}, cwd=tmp_path),
            run([bin_dir / "envdir", "env", "env", "-0"], env=start, cwd=tmp_path),
        ]
    assert results["ours"] == results["c"]
    assert results["c"][1][2] == "chpst: warning: unable to read env/sub: is a directory\n"
    assert results["c"][3][:2] == (111, "")


def test_dangling_envdir_symlink_unsets(tmp_path):
    """Ours only (a fix, docs/chpst.md): the C chpst hands the name a neighbour's value."""
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "SECRET").write_bytes(b"hunter2\n")
    os.symlink("/nonexistent", str(env_dir / "OTHER"))
    code, out, _ = run([our_tool("chpst"), "-e", env_dir, "env"],
                       env={"PATH": BASE_PATH, "OTHER": "inherited"})
    assert code == 0
    assert "SECRET=hunter2\n" in out and "OTHER=" not in out


def test_no_path_variable(impl_bin):
    # without PATH the search is /bin:/usr/bin, and no PATH appears in the program's env
    assert run([impl_bin / "chpst", "env"], env={}) == (0, "", "")
    assert run([impl_bin / "chpst", "env"], env={"LANG": "C"}) == (0, "LANG=C\n", "")


def test_exec_keeps_the_pid_and_argv(impl_bin):
    proc = subprocess.Popen([str(impl_bin / "chpst"), "-b", "fancy", "sh", "-c",
                             'echo $$; tr "\\0" " " </proc/self/cmdline; echo'],
                            stdout=subprocess.PIPE, env={"PATH": BASE_PATH},
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=DEADLINE)
    finally:
        stop(proc)
    pid, cmdline = out.decode().splitlines()
    assert int(pid) == proc.pid
    assert cmdline.startswith("fancy -c ")   # sh's own argv (the redirection is sh's)
    code, out, _ = run([impl_bin / "chpst", "-b", "fancy", "cat", "/proc/self/cmdline"])
    assert (code, out) == (0, "fancy\0/proc/self/cmdline\0")


def signal_mask(field, text):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    raise AssertionError(field)


def test_no_ignored_or_blocked_signals_leak(impl_bin):
    # the interpreter ignores SIGPIPE and SIGXFSZ; the program must not inherit that
    _, baseline, _ = run(["cat", "/proc/self/status"])
    code, out, err = run([impl_bin / "chpst", "cat", "/proc/self/status"])
    assert code == 0, err
    for field in ("SigIgn", "SigBlk"):
        assert signal_mask(field, out) == signal_mask(field, baseline), field


def test_ignored_signals_of_the_caller_stay_ignored(impl_bin):
    # SIGHUP ignored by the caller (nohup style) is passed on, as exec does for C
    _, baseline, _ = run(["cat", "/proc/self/status"])
    code, out, err = run(["sh", "-c", 'trap "" HUP; exec "$0" cat /proc/self/status',
                          impl_bin / "chpst"])
    assert code == 0, err
    assert signal_mask("SigIgn", out) == signal_mask("SigIgn", baseline) | 1 << (
        signal.SIGHUP - 1)


def test_sigpipe_kills_the_program_as_it_should(impl_bin):
    # with SIGPIPE ignored, yes would report "Broken pipe" on stderr instead of dying
    assert run(["sh", "-c", '"$0" yes | head -n 1', impl_bin / "chpst"]) == (0, "y\n", "")


def test_session_leader_setsid_is_ignored(impl_bin):
    # start_new_session: chpst is already a session leader, setsid() fails, runit goes on
    assert run([impl_bin / "chpst", "-P", "echo", "ok"], new_session=True) == (0, "ok\n", "")
    assert run([impl_bin / "pgrphack", "echo", "ok"], new_session=True) == (0, "ok\n", "")


def test_nice_and_limits_together(impl_bin):
    base = os.nice(0)
    code, out, err = run([impl_bin / "chpst", "-n", "2", "-o", "50", "sh", "-c",
                          "cut -d' ' -f19 /proc/self/stat; ulimit -n"])
    assert code == 0, err
    assert out.split() == [str(min(base + 2, 19)), "50"]


def test_closed_stdio_and_a_failure_message(impl_bin, tmp_path):
    # -2 closes stderr before the exec fails: the message is lost, the exit code is not
    assert run([impl_bin / "chpst", "-2", tmp_path / "nonexistent"]) == (111, "", "")
    code, out, err = run([impl_bin / "chpst", "-1", tmp_path / "nonexistent"])
    assert (code, out) == (111, "")
    assert err == "chpst: fatal: unable to run: %s: file does not exist\n" % (
        tmp_path / "nonexistent")


# --- start-up ------------------------------------------------------------------------------

def modules_after(statement):
    code = "import sys; %s; print(' '.join(sorted(sys.modules)))" % statement
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, timeout=30).stdout.split())


def test_startup_imports_nothing_heavy():
    added = modules_after("import runit_provision.runtime.chpst") - modules_after("pass")
    heavy = {"argparse", "subprocess", "dataclasses", "typing", "inspect", "re", "locale",
             "threading"}
    assert not added & heavy, sorted(added & heavy)
