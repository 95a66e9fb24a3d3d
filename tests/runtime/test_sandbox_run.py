"""sandbox-run for real (docs/sandbox.md): each setting seen from inside a real process —
/proc/self/status, a write that fails, a directory that is empty or unreadable, a port bound
or refused — with the same check outside, where the setting is not, so each test fails
without its setting. Every mount happens in the program's own mount namespace: each test
reads this process's /proc/self/mountinfo before and after, and finds none of them.

As root (this machine's tests run so); ``nobody`` is the unprivileged user, and a test that
runs sandbox-run itself as ``nobody`` uses the system's Python, which ``nobody`` may run.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import runit_provision
from runit_provision.protocol.process.sandbox import Sandbox, word_from_path
from runit_provision.runtime.sandboxrun import mounts_for

from ..conftest import IN_CI, our_tool
from ..skips import missing
from .processes import SH, make_service, running_pid, wait_until

NOBODY = 65534
REPO = str(Path(runit_provision.__file__).parent.parent)
SYSTEM_PYTHON = "/usr/bin/python3"
BIND_80 = ("perl -MSocket -e 'socket(S, PF_INET, SOCK_STREAM, 0) or die \"socket: $!\\n\";"
           " bind(S, sockaddr_in(80, INADDR_LOOPBACK)) or die \"bind: $!\\n\"; print \"bound\\n\"'")


def mount_points():
    return {line.split(" ")[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}


@pytest.fixture(autouse=True)
def as_root_and_nothing_leaks(tmp_path):
    """No mount a sandbox makes is seen here: none at a path the settings mount on, or below
    the test's directory (other tests of the machine may mount elsewhere meanwhile)."""
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI=true but not root: sandbox-run's tests make mounts")
        pytest.skip("needs root")
    before = mount_points()
    yield
    leaked = {point for point in mount_points() - before
              if point.startswith(str(tmp_path)) or point in mounts_seen_by_a_sandbox()}
    assert leaked == set()


def mounts_seen_by_a_sandbox():
    """Every path a setting of sandbox-run mounts on."""
    every = Sandbox(private_tmp=True, protect_system="full", protect_home="true",
                    private_devices=True, private_network=True, protect_kernel=True)
    return {mount.path for mount in mounts_for(every)} | {"/"}


def sandboxed(tmp_path, line, script, user=None, prefix=()):
    """Run ``sh -c script`` under sandbox-run with the spec ``line`` (started by ``prefix``)."""
    spec = tmp_path / "sandbox"
    spec.write_text(line if line.endswith("\n") else line + "\n")
    argv = list(prefix) + [our_tool("sandbox-run"), str(spec)] + (["-u", user] if user else [])
    return subprocess.run(argv + ["/bin/sh", "-c", script], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


def ok(done):
    assert done.returncode == 0, done.stderr
    return done.stdout


def status_of(text):
    """``/proc/PID/status`` text -> its fields: the capability sets as numbers."""
    fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
    return {key: int(value, 16) if key.startswith("Cap") else value.strip()
            for key, value in fields.items()}


OWN_STATUS = status_of(Path("/proc/self/status").read_text())
NET_BIND_SERVICE = 1 << 10


# -- no new privileges, the bounding set, ambient capabilities ---------------------------------
def test_no_new_privileges_and_the_bounding_set_of_root(tmp_path):
    inside = status_of(ok(sandboxed(tmp_path, "sandbox 1 no_new_privileges "
                                    "capabilities=net_bind_service", "cat /proc/self/status")))
    assert inside["NoNewPrivs"] == "1"
    assert inside["CapBnd"] == inside["CapEff"] == inside["CapPrm"] == NET_BIND_SERVICE
    assert inside["CapAmb"] == 0
    without = status_of(ok(sandboxed(tmp_path, "sandbox 1", "cat /proc/self/status")))
    assert without["NoNewPrivs"] == "0" and without["CapBnd"] == OWN_STATUS["CapBnd"]


def test_an_empty_bounding_set(tmp_path):
    inside = status_of(ok(sandboxed(tmp_path, "sandbox 1 capabilities=",
                                    "cat /proc/self/status")))
    assert inside["CapBnd"] == inside["CapEff"] == inside["CapPrm"] == 0


def test_a_user_keeps_its_capabilities_as_ambient(tmp_path):
    inside = status_of(ok(sandboxed(tmp_path, "sandbox 1 no_new_privileges "
                                    "capabilities=net_bind_service", "cat /proc/self/status",
                                    user="nobody")))
    assert inside["Uid"].split() == [str(NOBODY)] * 4
    assert inside["Gid"].split() == [str(NOBODY)] * 4 and inside["Groups"] == str(NOBODY)
    assert inside["CapAmb"] == inside["CapEff"] == inside["CapBnd"] == NET_BIND_SERVICE
    assert inside["NoNewPrivs"] == "1"
    without = status_of(ok(sandboxed(tmp_path, "sandbox 1", "cat /proc/self/status",
                                     user="nobody")))
    assert without["CapAmb"] == without["CapEff"] == without["CapPrm"] == 0


def test_port_80_as_nobody_with_net_bind_service_only(tmp_path):
    """In a network of its own (the host's port 80 may be taken), where ports below 1024
    need the capability as anywhere."""
    bound = sandboxed(tmp_path, "sandbox 1 capabilities=net_bind_service private_network",
                      BIND_80, user="nobody")
    assert ok(bound) == "bound\n"
    refused = sandboxed(tmp_path, "sandbox 1 private_network", BIND_80, user="nobody")
    assert refused.returncode != 0 and refused.stderr == "bind: Permission denied\n"


# -- the file system ----------------------------------------------------------------------------
WRITABLE = '[ -w "$1" ] && echo writable || echo read-only'


def writable(tmp_path, line, path, user=None, prefix=()):
    return ok(sandboxed(tmp_path, line, WRITABLE.replace("$1", path), user, prefix)).strip()


@pytest.mark.parametrize("level, read_only, writable_still", [
    ("true", ["/usr"], ["/etc", "/var"]),
    ("full", ["/usr", "/etc"], ["/var"]),
    ("strict", ["/usr", "/etc", "/var", "/"], ["/dev/null", "/proc/self/attr"]),
])
def test_protect_system(tmp_path, level, read_only, writable_still):
    for path in read_only:
        assert writable(tmp_path, "sandbox 1 protect_system=" + level, path) == "read-only"
        assert writable(tmp_path, "sandbox 1", path) == "writable"
    for path in writable_still:
        if os.path.exists(path):
            assert writable(tmp_path, "sandbox 1 protect_system=" + level, path) == "writable"


def test_a_write_fails_under_strict_unless_the_path_is_read_write(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    script = "echo x > %s/file && echo written" % data
    refused = sandboxed(tmp_path, "sandbox 1 protect_system=strict", script)
    assert refused.returncode != 0 and "Read-only file system" in refused.stderr
    assert not (data / "file").exists()
    line = "sandbox 1 protect_system=strict read_write_paths=%s" % data
    assert ok(sandboxed(tmp_path, line, script)) == "written\n"
    assert (data / "file").read_text() == "x\n"


# A private mount namespace whose /home holds one home (a tmpfs over the machine's, which may
# be empty and is never touched): what protect_home hides is there to hide on any machine.
A_HOME = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
          'mount -t tmpfs -o mode=0755 scratch-home /home && mkdir /home/someone && exec "$@"',
          "sh"]


def test_protect_home(tmp_path):
    home = ["someone"]
    listing = "ls -A /home"

    def run(line, user=None):
        return sandboxed(tmp_path, line, listing, user=user, prefix=A_HOME)
    assert ok(run("sandbox 1 protect_home=true")) == ""
    unreadable = run("sandbox 1 protect_home=true", user="nobody")
    assert unreadable.returncode != 0 and "Permission denied" in unreadable.stderr
    assert ok(run("sandbox 1", user="nobody")).split() == home
    assert ok(run("sandbox 1 protect_home=read-only")).split() == home
    assert writable(tmp_path, "sandbox 1 protect_home=read-only", "/home",
                    prefix=A_HOME) == "read-only"
    assert ok(run("sandbox 1 protect_home=tmpfs")) == ""
    assert writable(tmp_path, "sandbox 1 protect_home=tmpfs", "/home",
                    prefix=A_HOME) == "read-only"


def test_private_tmp(tmp_path):
    name = "sandbox-run-test-%d" % os.getpid()
    seen = ok(sandboxed(tmp_path, "sandbox 1 private_tmp",
                        "ls -A /tmp /var/tmp; echo inside > /tmp/%s; cat /tmp/%s" % (name, name)))
    assert seen.splitlines() == ["/tmp:", "", "/var/tmp:", "inside"]
    assert not os.path.exists("/tmp/" + name)
    assert tmp_path.parts[1] == "tmp" and os.listdir("/tmp")  # what the program did not see


def test_read_only_and_inaccessible_paths(tmp_path):
    (tmp_path / "ro").mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "key").write_text("hidden\n")
    (tmp_path / "token").write_text("hidden\n")
    line = "sandbox 1 read_only_paths=%s/ro inaccessible_paths=%s/secret,%s/token" % (
        (tmp_path,) * 3)
    script = ("%s; ls -A %s/secret; cat %s/token; stat -c %%a %s/secret %s/token" % (
        WRITABLE.replace("$1", str(tmp_path / "ro")), *(tmp_path,) * 4))
    assert ok(sandboxed(tmp_path, line, script)).split() == ["read-only", "0", "0"]
    refused = sandboxed(tmp_path, line, "cat %s/token" % tmp_path, user="nobody")
    assert refused.returncode != 0
    assert ok(sandboxed(tmp_path, "sandbox 1", script)).split() == [
        "writable", "key", "hidden", "755", "644"]


def test_a_path_of_any_bytes_with_the_interpreter_hidden(tmp_path):
    """A mount point of blanks, commas and UTF-8 is read back from mountinfo after
    protect_home has hidden /root, where this machine's interpreter keeps its codecs."""
    odd = tmp_path / "dé x,y"
    odd.mkdir()
    line = "sandbox 1 protect_home=true read_only_paths=%s" % word_from_path(str(odd))
    assert writable(tmp_path, line, str(odd)) == "read-only"
    assert writable(tmp_path, "sandbox 1", str(odd)) == "writable"


def test_private_devices(tmp_path):
    script = "ls -A /dev; echo x > /dev/null && head -c 4 /dev/zero | wc -c; cat /proc/self/status"
    out = ok(sandboxed(tmp_path, "sandbox 1 private_devices", script))
    names = out.split("\n4\n")[0].split()
    assert set(names) <= {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm",
                          "mqueue", "fd", "stdin", "stdout", "stderr", "ptmx"}
    assert {"null", "zero", "urandom", "fd", "pts"} <= set(names)
    assert set(os.listdir("/dev")) - set(names)  # the host has more: a disk, kmsg, …
    bounding = status_of(out.split("\n4\n")[1])["CapBnd"]
    assert not bounding & (1 << 27 | 1 << 17)  # mknod, sys_rawio
    assert writable(tmp_path, "sandbox 1 private_devices", "/dev") == "read-only"


def test_private_network_has_lo_alone_and_up(tmp_path):
    # read from /sys (its flags, IFF_UP 0x1 and IFF_LOOPBACK 0x8): no `ip` needed on the host
    out = ok(sandboxed(tmp_path, "sandbox 1 private_network",
                       "ls /sys/class/net; cat /sys/class/net/lo/flags"))
    names, flags = out.split()
    assert names == "lo" and int(flags, 16) & 0x9 == 0x9
    host = ok(sandboxed(tmp_path, "sandbox 1", "ls /sys/class/net")).split()
    assert set(host) - {"lo"}, "the host has no other interface: nothing to hide"


def test_protect_kernel(tmp_path):
    line = "sandbox 1 protect_kernel"
    for path in ("/proc/sys/kernel/hostname", "/sys/kernel", "/proc/sysrq-trigger"):
        if os.path.exists(path):
            assert writable(tmp_path, line, path) == "read-only"
            assert writable(tmp_path, "sandbox 1", path) == "writable"
    status = status_of(ok(sandboxed(tmp_path, line, "cat /proc/self/status")))
    assert not status["CapBnd"] & (1 << 16)  # sys_module
    symbols = "wc -c < /proc/kallsyms"  # kernel addresses: an empty file bound over them
    assert ok(sandboxed(tmp_path, line, symbols)) == "0\n"
    assert ok(sandboxed(tmp_path, "sandbox 1", symbols)) != "0\n"


# -- under a runsv: the C one and ours run the same ./run -------------------------------------
@pytest.mark.slow
def test_a_service_sandboxed_under_either_runsv(tmp_path, runsv, processes):
    """The daemon's own /proc/PID/status, seen from outside while it runs under runsv."""
    service = make_service(tmp_path / "service", "web", run=SH + (
        "exec %s ./sandbox -u nobody sleep 1000\n" % our_tool("sandbox-run")))
    (service / "sandbox").write_text("sandbox 1 no_new_privileges capabilities=net_bind_service "
                                     "private_tmp protect_system=strict\n")
    processes.start([runsv, str(service)])
    pid = wait_until(lambda: running_pid(service), timeout=30, what="web running")
    wait_until(lambda: Path("/proc/%d/cmdline" % pid).read_text().startswith("sleep"), timeout=30,
               what="sandbox-run exec'ing the daemon")
    status = status_of(Path("/proc/%d/status" % pid).read_text())
    assert status["NoNewPrivs"] == "1" and status["Uid"].split()[0] == str(NOBODY)
    assert status["CapBnd"] == status["CapAmb"] == status["CapEff"] == NET_BIND_SERVICE
    assert os.readlink("/proc/%d/ns/mnt" % pid) != os.readlink("/proc/self/ns/mnt")


# -- failures: a message naming the step, exit 111, nothing run --------------------------------
@pytest.mark.parametrize("line, message", [
    ("sandbox 1 capabilities=net_bind_service,cap_flying",
     "unable to read sandbox file: SPEC: unknown capability: cap_flying"),
    ("garbage", "unable to read sandbox file: SPEC: not a sandbox file (sandbox 1 SETTING…)"),
    ("sandbox 1 protect_system=yes",
     "unable to read sandbox file: SPEC: protect_system=yes: not one of true, full, strict"),
    ("sandbox 1 read_write_paths=/nonexistent/sandbox-run",
     "unable to find read-write path: /nonexistent/sandbox-run: file does not exist"),
])
def test_a_failure_runs_nothing(tmp_path, line, message):
    marker = tmp_path / "ran"
    done = sandboxed(tmp_path, line, "touch %s" % marker)
    assert (done.returncode, done.stderr) == (
        111, "sandbox-run: fatal: %s\n" % message.replace("SPEC", str(tmp_path / "sandbox")))
    assert not marker.exists()


def test_an_optional_path_that_does_not_exist_is_skipped(tmp_path):
    assert ok(sandboxed(tmp_path, "sandbox 1 read_write_paths=-/nonexistent/x",
                        "echo ran")) == "ran\n"


def test_what_cannot_be_read_or_run(tmp_path):
    tool = our_tool("sandbox-run")
    missing = subprocess.run([tool, str(tmp_path / "none"), "true"], capture_output=True,
                             text=True, timeout=60)
    assert (missing.returncode, missing.stderr) == (
        111, "sandbox-run: fatal: unable to read sandbox file: %s: file does not exist\n"
        % (tmp_path / "none"))
    done = sandboxed(tmp_path, "sandbox 1", "true", user="nosuchuser-sandbox")
    assert (done.returncode, done.stderr) == (
        111, "sandbox-run: fatal: unknown user/group: nosuchuser-sandbox\n")
    (tmp_path / "sandbox").write_text("sandbox 1 no_new_privileges\n")
    done = subprocess.run([tool, str(tmp_path / "sandbox"), "/nonexistent/prog"],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (
        111, "sandbox-run: fatal: unable to run: /nonexistent/prog: file does not exist\n")
    usage = subprocess.run([tool, "spec"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 100 and usage.stderr.startswith("usage: sandbox-run spec ")


# -- without privilege: a user namespace, or a clear refusal ------------------------------------
@pytest.fixture
def shared_dir():
    """A directory ``nobody`` may read, for the spec of a sandbox-run run as ``nobody``."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        missing("a Python nobody may run (%s)" % SYSTEM_PYTHON, "apt-get install python3")
    path = tempfile.mkdtemp(prefix="sandbox-run-")
    os.chmod(path, 0o755)
    yield Path(path)
    shutil.rmtree(path)


def as_nobody(shared_dir, line, script, wrap=()):
    spec = shared_dir / "sandbox"
    spec.write_text(line + "\n")
    spec.chmod(0o644)
    argv = [*wrap, "setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups",
            "env", "PYTHONPATH=" + REPO, SYSTEM_PYTHON, "-m", "runit_provision.runtime.sandboxrun",
            str(spec), "/bin/sh", "-c", script]
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=60)


def test_a_user_gets_the_sandbox_through_a_user_namespace(shared_dir):
    name = "sandbox-run-nobody-%d" % os.getpid()
    script = ("id -u; ls -A /tmp; echo x > /tmp/%s; %s; grep -E '^(CapBnd|NoNewPrivs)' "
              "/proc/self/status" % (name, WRITABLE.replace("$1", "/usr")))
    done = as_nobody(shared_dir, "sandbox 1 no_new_privileges capabilities= private_tmp "
                     "protect_system=strict", script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(NOBODY), "read-only", "CapBnd:", "0" * 16,
                                   "NoNewPrivs:", "1"]
    assert not os.path.exists("/tmp/" + name)


def test_a_users_capabilities_are_its_namespaces(shared_dir):
    """Without privilege, net_bind_service is the user namespace's: port 80 of its own
    network, ambient across exec; without the capability, refused there too."""
    bound = as_nobody(shared_dir, "sandbox 1 capabilities=net_bind_service private_network",
                      BIND_80)
    assert (bound.returncode, bound.stdout) == (0, "bound\n"), bound.stderr
    refused = as_nobody(shared_dir, "sandbox 1 capabilities= private_network", BIND_80)
    assert refused.returncode != 0 and refused.stderr == "bind: Permission denied\n"


def test_a_user_where_the_host_refuses_user_namespaces(shared_dir):
    """A user namespace allows no further one (user.max_user_namespaces 0, in that namespace
    only): sandbox-run refuses, naming what the kernel said, and runs nothing."""
    marker = shared_dir / "ran"
    os.chmod(shared_dir, 0o777)
    spec = shared_dir / "sandbox"
    spec.write_text("sandbox 1 private_tmp\n")
    spec.chmod(0o644)
    # The shell unshare starts runs before its ids are mapped, without capabilities in its
    # namespace: the one it execs once they are has them all there.
    inner = ("echo 0 > /proc/sys/user/max_user_namespaces && exec setpriv "
             "--reuid=%d --regid=%d --clear-groups env PYTHONPATH=%s %s -m "
             "runit_provision.runtime.sandboxrun %s /bin/sh -c 'touch %s'" % (
                 NOBODY, NOBODY, REPO, SYSTEM_PYTHON, spec, marker))
    outer = 'read go; exec /bin/sh -c "$1"'
    child = subprocess.Popen(["unshare", "--user", "/bin/sh", "-c", outer, "sh", inner],
                             text=True, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        own = os.readlink("/proc/self/ns/user")
        wait_until(lambda: os.readlink("/proc/%d/ns/user" % child.pid) != own, timeout=30,
                   what="unshare's own user namespace")
        for name in ("uid_map", "gid_map"):  # root maps the namespace's ids to the host's
            Path("/proc/%d/%s" % (child.pid, name)).write_text("0 0 65536\n")
        _, err = child.communicate("go\n", timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert (child.returncode, err) == (
        111, "sandbox-run: fatal: unable to make a user namespace (not root): "
        "out of disk space (user.max_user_namespaces)\n")
    assert not marker.exists()
