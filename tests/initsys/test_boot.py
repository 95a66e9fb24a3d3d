"""The PID-1 boot: our ``runit`` as process 1 boots a host tree, every service is up from
boot, and ``runit-init 0`` brings it all down cleanly.

The host is a staging root built the way a provisioning run builds one: the original
puppet-runit module's data (one ``runit`` hash, ``users: [apprun1, apprun2]``, ``init:
runit``) and one ``runit-provision apply --root`` — owners from the root's ``/etc/passwd``, the
services and both users' trees, the runtime under ``/usr/local`` with ``/sbin/runit`` and
``/sbin/runit-init``, and our stages 1-3 (there were none) — then ``plan --root`` says
nothing is left to do. The launchers start the interpreter the init room chose (this
Python's release: the root's ``/usr/bin/python3`` when it is one, else this interpreter's own
executable, whose prefix the boot then mounts too).

It boots in ``unshare --pid --fork --mount-proc``: process 1 of the namespace mounts the
host's ``/usr/bin``, ``/usr/lib`` (and ``/usr/lib64``) and ``/dev`` into the root, a fresh
``/proc``, tmpfs on ``/run`` and ``/tmp``, a FIFO of the test on ``/dev/console`` — each
checked, or it refuses to go on — and execs ``chroot ROOT /usr/local/sbin/runit-init`` with
an empty environment, as a kernel starts init. The machine's own ``/etc``, ``/usr``, init
and console are never touched: the mounts live and die with the namespace.
"""

import os
import shutil
import signal
import subprocess
import sys

import pytest

from runit_provision.cli.main import main
from runit_provision.hiera import load
from runit_provision.initsys import launchers

from ..runtime.processes import (
    BASE_PATH, children_of, cmdline, file_size, running_pid, wait_until)
from ..runtime.test_runit import Boot, gone, needs_namespaces, ns_pids
from ..skips import missing

pytestmark = pytest.mark.slow

DATA = """\
# the original puppet-runit module's spelling: one runit hash, users as a list
runit:
  runtime: python
  init: runit
  users: [ 'apprun1', 'apprun2' ]
  services:
    ticker:
      run: |
        #!/bin/sh
        exec 2>&1
        n=0
        while :; do n=$((n+1)); echo "tick $n"; sleep 0.1; done
    sleeper:
      command: sleep 100000
      log: false
    app1:
      owner: apprun1
      command: sleep 100001
    app2:
      owner: apprun2
      command: sleep 100002
      log: false
"""
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "apprun1:x:2001:2001::/home/apprun1:/bin/sh\n"
          "apprun2:x:2002:2002::/home/apprun2:/bin/sh\n")
GROUP = "root:x:0:\napprun1:x:2001:\napprun2:x:2002:\n"
# Where each service's directory is, seen from outside (the links say /etc/sv/…, the root's).
SYSTEM = ("ticker", "sleeper", "runsvdir-apprun1", "runsvdir-apprun2")
USERS = {"apprun1": ("app1",), "apprun2": ("app2",)}
BINDS = ("/usr/bin", "/usr/lib", "/usr/lib64")

# Process 1 of the namespace until it execs init: the mounts, each one checked.
PREPARE = r'''
root=$1 console=$2
shift 2
for dir in "$@"; do
  mount --bind "$dir" "$root$dir" && [ -e "$root$dir/." ] || exit 90
done
mount --rbind /dev "$root/dev" && [ -c "$root/dev/null" ] || exit 91
mount --bind "$console" "$root/dev/console" && [ -p "$root/dev/console" ] || exit 92
mount -t proc proc "$root/proc" && [ -e "$root/proc/self/stat" ] || exit 93
mount -t tmpfs -o mode=0755 boot-run "$root/run" && [ -z "$(ls -A "$root/run")" ] || exit 94
mount -t tmpfs -o mode=1777 boot-tmp "$root/tmp" || exit 95
exec env -i /usr/sbin/chroot "$root" /usr/local/sbin/runit-init
'''


def build_host(root, tmp_path):
    """The staging root: accounts and homes (apply never creates them), then one apply."""
    for folder in ("etc", "dev", "proc", "run", "tmp", "usr/sbin", "var/lib/dpkg/info"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for top in ("bin", "lib", "lib64", "sbin"):
        (root / top).symlink_to("usr/" + top)
    for folder in BINDS:
        if os.path.isdir(folder):
            (root / folder.lstrip("/")).mkdir(parents=True, exist_ok=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for login, uid in (("apprun1", 2001), ("apprun2", 2002)):
        home = root / "home" / login
        home.mkdir(parents=True)
        os.chown(str(home), uid, uid)
    if os.path.exists("/etc/ld.so.cache"):
        shutil.copy("/etc/ld.so.cache", str(root / "etc" / "ld.so.cache"))
    # The root's package database says what its /usr/bin (the host's, mounted) holds.
    (root / "var/lib/dpkg/status").write_text("")
    (root / "var/lib/dpkg/info/runit.list").write_text("/usr/bin/sv\n")
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    argv = ["--data", str(data), "--root", str(root)]
    assert main(["apply"] + argv) == 0
    assert main(["plan"] + argv) == 0  # converged: nothing left to do


def interpreter_binds(root):
    """What the boot mounts besides BINDS: the prefix of the interpreter the launchers start
    when it is not under /usr (this Python's own, from pyenv or a build: its directory is
    made in the root as a mount point)."""
    shebang = (root / "usr/local/lib/runit-provision/bin/runit").read_text().split("\n")[0]
    interpreter = shebang[2:].split()[0]
    if interpreter.startswith("/usr/"):
        return []
    prefix = os.path.realpath(sys.base_prefix)
    assert interpreter.startswith(prefix + "/"), (interpreter, prefix)
    (root / prefix.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return [prefix]


class HostBoot(Boot):
    """A boot of the staging root (test_runit.Boot's console, members and clean-up)."""

    def __init__(self, tmp_path):  # noqa: super().__init__ would build test_runit's layout
        needs_namespaces()
        for tool in ("chroot", "env"):
            if shutil.which(tool, path=BASE_PATH) is None:
                missing("%s(1)" % tool, "apt-get install coreutils")
        self.impl = "ours"  # the installed runtime's runit is process 1
        self.dir = tmp_path
        self.root = tmp_path / "root"
        self.etc = self.root / "etc" / "runit"  # the console names it /etc/runit already
        self.console = tmp_path / "console"
        os.mkfifo(str(self.console))
        self.proc = self.init = self._console_fd = None

    def start(self):
        self._console_fd = os.open(str(self.console), os.O_RDONLY | os.O_NONBLOCK)
        binds = [d for d in BINDS if os.path.isdir(d)] + interpreter_binds(self.root)
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation",
                "private", "/bin/sh", "-c", PREPARE, "sh", str(self.root),
                str(self.console)] + binds
        with open(str(self.dir / "outside.log"), "ab") as out:
            self.proc = subprocess.Popen(argv, env={"PATH": BASE_PATH},
                                         stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.init = wait_until(self._runit_as_init, timeout=20, what="runit as process 1")

    def _runit_as_init(self):
        if self.proc.poll() is not None:
            raise AssertionError("the namespace ended (%s) before runit ran: %s\n%s" % (
                self.proc.returncode, (self.dir / "outside.log").read_text(),
                "\n".join(self.transcript())))
        for pid in children_of(self.proc.pid):
            if ns_pids(pid)[-1:] == ["1"] and any(os.path.basename(arg) == "runit"
                                                  for arg in cmdline(pid)):
                return pid
        return None

    def inside(self, *argv):
        """argv run in the booted system (its PID namespace, mounts and root)."""
        return subprocess.run(["nsenter", "--target", str(self.init), "--pid", "--mount",
                               "--root", "--wd", "--", "/usr/bin/env", "-i",
                               "PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/bin"]
                              + list(argv), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=60)

    def host_pid(self, pid):
        """The pid seen from outside of the namespace's ``pid`` (supervise/ holds those)."""
        return next(host for host in self.members() if ns_pids(host)[-1:] == [str(pid)])


@pytest.fixture
def host(tmp_path):
    one = HostBoot(tmp_path)
    yield one
    one.close()


LOGGED = ("ticker", "runsvdir-apprun1", "runsvdir-apprun2", "app1")


def service_dirs(root):
    """Every side of every service, seen from outside: services and their loggers."""
    dirs = [root / "etc" / "sv" / name for name in SYSTEM]
    for login, names in USERS.items():
        dirs += [root / "home" / login / "sv" / name for name in names]
    return dirs + [folder / "log" for folder in dirs if folder.name in LOGGED]


def test_runit_as_process_1_boots_the_host_tree_and_runit_init_0_halts_it(host, tmp_path):
    build_host(host.root, tmp_path)
    stages = host.root / "etc" / "runit"
    assert "runsvdir -P /etc/service" in (stages / "2").read_text()
    assert os.readlink(str(host.root / "sbin" / "runit")) == (
        "/usr/local/lib/runit-provision/bin/runit")
    host.start()

    # every service up from boot, the users' own trees included, each as its owner
    dirs = service_dirs(host.root)
    pids = wait_until(lambda: [running_pid(d) for d in dirs] if all(
        running_pid(d) for d in dirs) else None, timeout=30, what="every service running")
    uids = {line.split(":")[0]: int(line.split(":")[2]) for line in PASSWD.splitlines()}
    for login, names in USERS.items():
        for name in names:
            pid = host.host_pid(running_pid(host.root / "home" / login / "sv" / name))
            assert os.stat("/proc/%d" % pid).st_uid == uids[login]
    services = [pid for folder, pid in zip(dirs, pids) if folder.name != "log"]
    assert len(set(services)) == len(services)  # (hosted loggers show their tree's pid)
    # our tools inside: sv status through the installed launcher, users' services by SVDIR
    status = host.inside("sv", "status", "/etc/service/ticker", "/etc/service/sleeper",
                         "/home/apprun1/service/app1", "/home/apprun2/service/app2")
    assert status.returncode == 0, status
    assert [line.split(":")[0] for line in status.stdout.splitlines()] == ["run"] * 4, status
    # the logger writes as the ticker ticks
    current = host.root / "var" / "log" / "ticker" / "current"
    wait_until(lambda: file_size(current) > 0, what="ticker's log")

    members = host.members()
    assert host.inside("runit-init", "0").returncode == 0
    try:
        ended = host.proc.wait(60)
    except subprocess.TimeoutExpired:
        raise AssertionError("no halt within 60 s:\n%s" % "\n".join(host.transcript()))
    assert ended == -signal.SIGINT  # power off / halt of the namespace
    console = host.transcript()
    assert "- runit: leave stage: /etc/runit/2" in console, console
    assert not [line for line in console if "sigkill" in line or "warning" in line], console
    assert console[-2:] == ["- runit: sending KILL signal to all processes...",
                            "- runit: power off..."], console
    # down cleanly: every service's last status is down, written by the tree, before the halt
    for folder in dirs:
        assert (folder / "supervise" / "stat").read_text() == "down\n", folder
    assert gone(members)
    lines = current.read_text().splitlines()
    assert lines and all(" tick " in line for line in lines)


def test_the_boot_data_is_the_original_modules_spelling(tmp_path):
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    raw, _ = load(data=str(data)).runit_data()
    assert sorted(raw) == ["init", "runtime", "services", "users"]
    assert raw["users"] == ["apprun1", "apprun2"]


def test_launchers_name_the_system_interpreter(tmp_path):
    """What the boot depends on: --python is taken as given in the shebang."""
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text("")
    assert main(["install-runtime", "--root", str(root), "--init", "none",
                 "--python", "/usr/bin/python3"]) == 0
    text = (root / "usr/local/lib/runit-provision/bin/runit").read_text()
    assert text.startswith("#!/usr/bin/python3 -SI\n") and launchers.MARKER in text
