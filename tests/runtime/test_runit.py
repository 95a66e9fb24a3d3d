"""runit as process 1 of a PID namespace: real boots, ours and (where installed) Debian's.

Every boot runs inside ``unshare --pid --fork --kill-child --mount-proc``: runit is the
namespace's init, never the machine's. Before runit starts, the namespace's shell mounts a
fresh tmpfs on ``/run``, bind-mounts a FIFO of the test on ``/dev/console`` (runit's console)
and, for Debian's runit, which hard-codes its paths, the scratch directory on ``/etc/runit``.
It checks that each mount took effect and refuses to go on otherwise; the real ``/etc/runit``,
``/run`` and console are never touched. Ours takes ``$RUNIT_DIR``, ``$RUNIT_STOPIT`` and
``$RUNIT_REBOOT``, except in the run that checks its default paths.

The end of a boot is seen from outside: reboot(2) in a child PID namespace makes the kernel kill
that namespace's init with SIGHUP (reboot) or SIGINT (power off or halt), and unshare dies of
the same signal. Stage 2 is our runsvdir over a few services. runit-init (ours) runs inside the
namespace through nsenter.
"""

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from ..conftest import (
    C_RUNIT, c_runit_at_least, c_runit_version, our_tool, require_c_runit)
from .processes import (
    BASE_PATH, SH, blocked_on_flock, children_of, cmdline, make_service, running_pid, wait_until,
    write_script)
from ..skips import missing, needs_root

pytestmark = pytest.mark.slow

# runit.c's $Id, on the console as it boots: ours prints 2.1.2's, the C runit its own release's
# (Debian 13's 2.2.0 and 14's 2.3.1 have their own: Boot.transcript holds it to that one).
RUNIT_IDS = {"2.1.2": "25da3b86f7bed4038b8a039d2f8e8c9bbcf0822b",
             "2.2.0": "c6c9cea989d36a913fe8ed121272c01625813eb4",
             "2.3.1": "c66c1e3b98d1b630bd51b1d56aaed5c2994e8c9d"}
BOOTING = "- runit: $Id: %s $: booting." % RUNIT_IDS["2.1.2"]
RUN = SH + "exec sleep 1000\n"

# Process 1 of the namespace until it execs runit: the mounts, each one checked.
PREPARE = r'''
console=$1 etc=$2
shift 2
mount -t tmpfs -o mode=0755 runit-test /run && [ -z "$(ls -A /run)" ] || exit 97
mount --bind "$console" /dev/console && [ -p /dev/console ] || exit 98
if [ -n "$etc" ]; then
  mount --bind "$etc" /etc/runit && [ -e /etc/runit/.scratch ] || exit 99
fi
exec "$@"
'''


def needs_namespaces():
    needs_root("runit boots: PID and mount namespaces, bind mounts")
    for tool in ("unshare", "nsenter", "mount"):
        if shutil.which(tool, path=BASE_PATH) is None:
            missing("%s(1)" % tool, "apt-get install util-linux mount")


def proc_start(pid):
    """Field 22 of /proc/PID/stat, zombies included; None once the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def ns_pids(pid):
    """NSpid of /proc/PID/status: the pid in each namespace, outermost first."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return line.split()[1:]
    except OSError:
        pass
    return []


class Boot:
    """One runit boot in its own PID and mount namespace, and what it leaves on the console."""

    def __init__(self, tmp_path, impl, default_paths=False):
        needs_namespaces()
        self.impl = impl
        self.default_paths = default_paths or impl == "c"
        self.runit = C_RUNIT["runit"] if impl == "c" else our_tool("runit")
        self.dir = tmp_path
        self.etc = tmp_path / "etc"
        self.etc.mkdir(parents=True)
        (self.etc / ".scratch").touch()
        (self.etc / "nosync").touch()  # no sync(2) of the whole machine, unless a test wants it
        self.svdir = tmp_path / "service"
        self.svdir.mkdir()
        self.console = tmp_path / "console"
        os.mkfifo(str(self.console))
        self.env = {"PATH": BASE_PATH}
        if self.default_paths:
            self.stopit, self.reboot = "/run/runit.stopit", "/run/runit.reboot"
            if c_runit_at_least("2.2.0"):
                # Debian 13's runit reads upstream's /etc/runit/stopit and reboot, which its
                # package links to Debian 12's /run/runit.stopit and reboot: so do we, in the
                # /etc/runit the boot is given
                (self.etc / "stopit").symlink_to(self.stopit)
                (self.etc / "reboot").symlink_to(self.reboot)
        else:
            (tmp_path / "flags").mkdir()
            self.stopit = str(tmp_path / "flags" / "stopit")
            self.reboot = str(tmp_path / "flags" / "reboot")
            self.env.update(RUNIT_DIR=str(self.etc), RUNIT_STOPIT=self.stopit,
                            RUNIT_REBOOT=self.reboot)
        self.proc = None
        self.init = None
        self._console_fd = None

    def stage(self, name, body):
        write_script(self.etc / name, body)

    def stage_2_runsvdir(self, before=""):
        self.stage("2", before + "exec %s -P %s\n" % (our_tool("runsvdir"), self.svdir))

    def start(self, ends_by_itself=False):
        # Our end of the console FIFO, opened first so that runit's open_write() finds a reader.
        self._console_fd = os.open(str(self.console), os.O_RDONLY | os.O_NONBLOCK)
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--propagation",
                "private", "/bin/sh", "-c", PREPARE, "sh", str(self.console),
                str(self.etc) if self.default_paths else "", self.runit]
        with open(str(self.dir / "outside.log"), "ab") as out:
            self.proc = subprocess.Popen(argv, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        if not ends_by_itself:  # (one that does may be over before we could look)
            self.init = wait_until(self._runit_as_init, what="runit as the namespace's init")
        return self

    def _runit_as_init(self):
        if self.proc.poll() is not None:
            raise AssertionError("the namespace ended before runit ran (%s): %s" % (
                self.proc.returncode, (self.dir / "outside.log").read_text()))
        for pid in children_of(self.proc.pid):
            if ns_pids(pid)[-1:] == ["1"] and self.runit in cmdline(pid):
                return pid
        return None

    def members(self):
        """{host pid: start time} of every process in the namespace now."""
        ns = os.readlink("/proc/%d/ns/pid" % self.init)
        found = {}
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.readlink("/proc/%s/ns/pid" % entry) == ns:
                    found[int(entry)] = proc_start(int(entry))
            except OSError:
                continue
        return found

    def inside(self, *argv):
        """Run argv in the namespace (PID and mount); its exit code."""
        assert ns_pids(self.init)[-1:] == ["1"], "pid %d is not the namespace's init" % self.init
        return subprocess.run(["nsenter", "--target", str(self.init), "--pid", "--mount", "--"]
                              + list(argv), env=self.env, stdin=subprocess.DEVNULL,
                              timeout=30).returncode

    def runit_init(self, arg):
        assert self.inside(our_tool("runit-init"), arg) == 0

    def services_running(self, *names, timeout=10.0):
        return wait_until(lambda: all(running_pid(self.svdir / n) for n in names),
                          timeout=timeout, what="services %s running" % (names,))

    def end(self, timeout=20):
        """How unshare ended: ``-signal`` when the namespace's init was killed by it."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the boot did not end within %ss; console:\n%s"
                                 % (timeout, self.transcript()))

    def transcript(self):
        chunks = []
        while True:
            try:
                chunk = os.read(self._console_fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        text = b"".join(chunks).decode("utf-8", "replace")
        lines = text.replace(str(self.etc), "/etc/runit").splitlines()
        # the C runit's booting line carries its release's $Id (RUNIT_IDS): that one, shown
        # as the line every expectation here names
        own = BOOTING.replace(RUNIT_IDS["2.1.2"], RUNIT_IDS.get(c_runit_version(), "?"))
        if self.impl == "c" and lines[:1] == [own]:
            lines[0] = BOOTING
        return lines

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # --kill-child takes the namespace along
            self.proc.wait(10)
        if self._console_fd is not None:
            os.close(self._console_fd)


@pytest.fixture
def boot(tmp_path):
    boots = []

    def make(impl, default_paths=False):
        if impl == "c":
            require_c_runit()
            if not os.access(C_RUNIT["runit"], os.X_OK):
                missing(C_RUNIT["runit"], "apt-get install runit")
        boots.append(Boot(tmp_path / ("boot%d" % len(boots)), impl, default_paths))
        return boots[-1]
    yield make
    for one in boots:
        one.close()


def standard_stages(boot):
    boot.stage("1", 'echo "stage 1"\n')
    boot.stage_2_runsvdir()
    boot.stage("3", 'echo "stage 3"\n')
    for name in ("a", "b", "c"):
        make_service(boot.svdir, name, run=RUN)


def members_once_sleeping(boot, count):
    """The namespace's members once ``count`` of them are ``sleep 1000``, else None.

    runsv records a service's pid when it forks; the run script execs sleep a moment later.
    """
    members = boot.members()
    return members if sum(cmdline(pid) == ["sleep", "1000"] for pid in members) == count else None


def gone(members):
    """True once none of ``members`` ({pid: start time}) exists any more, not even a zombie."""
    return all(proc_start(pid) != started for pid, started in members.items())


HALT = [
    BOOTING,
    "- runit: enter stage: /etc/runit/1",
    "stage 1",
    "- runit: leave stage: /etc/runit/1",
    "- runit: enter stage: /etc/runit/2",
    "- runit: leave stage: /etc/runit/2",
    "- runit: enter stage: /etc/runit/3",
    "stage 3",
    "- runit: leave stage: /etc/runit/3",
    "- runit: sending KILL signal to all processes...",
    "- runit: power off...",
]
STAGE_3 = HALT[6:]


@pytest.mark.parametrize("flavour", ["ours", "ours on Debian's paths", "c"])
def test_boot_runsvdir_then_runit_init_0_halts_and_nothing_survives(boot, flavour):
    one = boot("c" if flavour == "c" else "ours", default_paths=flavour != "ours")
    standard_stages(one)
    one.start()
    one.services_running("a", "b", "c")
    members = wait_until(lambda: members_once_sleeping(one, 3), what="three sleeps running")
    one.runit_init("0")
    assert one.end() == -signal.SIGINT  # power off/halt
    assert one.transcript() == HALT
    assert gone(members), "left over: %s" % [p for p in members if proc_start(p) == members[p]]
    if not one.default_paths:
        assert os.stat(one.stopit).st_mode & 0o777 == 0  # runit chmods stopit 0


@pytest.mark.parametrize("impl", ["ours", "c"])
def test_runit_init_6_reboots_and_syncs_without_nosync(boot, impl):
    # sync(2) leaves no trace a boot can show; that ours calls it (and skips it with nosync)
    # is pinned in test_runit_fake_host.py::test_power_down_syncs_before_each_step_unless_nosync
    one = boot(impl)
    standard_stages(one)
    (one.etc / "nosync").unlink()
    one.start()
    one.services_running("a")
    one.runit_init("6")
    assert one.end() == -signal.SIGHUP  # reboot
    assert one.transcript() == HALT[:-1] + ["- runit: system reboot."]


SKIPPING = ["- runit: leave stage: /etc/runit/1", "- runit: warning: skipping stage 2..."]
# How stage 1 ends -> what follows its output, per implementation.
STAGE_1_ENDINGS = {
    "exit 100": {"ours": ["- runit: warning: child failed: /etc/runit/1"] + SKIPPING,
                 "c": ["- runit: warning: child failed: /etc/runit/1"] + SKIPPING},
    "kill -KILL $$": {
        "ours": ["- runit: warning: child crashed: /etc/runit/1"] + SKIPPING,  # 2.3.0
        "c": ["- runit: leave stage: /etc/runit/1",  # Debian's 2.1.2 takes it for exit 0
              "- runit: enter stage: /etc/runit/2",
              "stage 2",
              "- runit: leave stage: /etc/runit/2"]},
}


@pytest.mark.parametrize("impl", ["ours", "c"])
@pytest.mark.parametrize("ending", sorted(STAGE_1_ENDINGS))
def test_stage_1_exit_100_or_crash_skips_stage_2(boot, impl, ending):
    one = boot(impl)
    one.stage("1", 'echo "stage 1"\n%s\n' % ending)
    one.stage("2", 'echo "stage 2"\n')
    one.stage("3", 'echo "stage 3"\n')
    one.start(ends_by_itself=True)
    assert one.end() == -signal.SIGINT
    # the C runit 2.3.0 and later skip stage 2 after a crashed stage 1, as ours does
    expected = STAGE_1_ENDINGS[ending]["ours" if c_runit_at_least("2.3.0") else impl]
    assert one.transcript() == HALT[:3] + expected + STAGE_3


@pytest.mark.parametrize("impl", ["ours", "c"])
def test_int_runs_ctrlaltdel_which_asks_for_the_halt(boot, impl):
    one = boot(impl)
    standard_stages(one)
    one.stage("ctrlaltdel", 'echo ctrlaltdel\n: > "%s"\nchmod 100 "%s"\n'
              % (one.stopit, one.stopit))
    one.start()
    one.services_running("a", "b", "c")
    os.kill(one.init, signal.SIGINT)  # a handler is installed: it reaches init from outside
    assert one.end() == -signal.SIGINT
    assert one.transcript() == HALT[:5] + [
        "- runit: ctrl-alt-del request...",
        "- runit: enter stage: /etc/runit/ctrlaltdel",
        "ctrlaltdel",
        "- runit: leave stage: /etc/runit/ctrlaltdel",
    ] + HALT[5:]


@pytest.mark.parametrize("impl", ["ours", "c"])
def test_orphans_handed_to_init_are_reaped(boot, impl):
    one = boot(impl)
    standard_stages(one)
    lock = one.dir / "lock"
    lock.touch()
    # Five double-forked children of stage 2: once their parent subshell is gone they belong
    # to process 1 (runsvdir, a subreaper, is not there yet). They wait for the test's flock.
    one.stage_2_runsvdir(before='for i in 1 2 3 4 5; do (flock "%s" true &); done\n' % lock)
    held = os.open(str(lock), os.O_RDWR)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        one.start()

        def waiting_orphans():
            pids = [pid for pid in children_of(one.init)
                    if cmdline(pid)[:1] == ["flock"] and blocked_on_flock(pid)]
            return pids if len(pids) == 5 else None
        orphans = {pid: proc_start(pid) for pid in wait_until(
            waiting_orphans, what="five orphans of init waiting for the lock")}
    finally:
        os.close(held)  # they take the lock in turn, exit, and become init's zombies
    wait_until(lambda: gone(orphans), what="init reaped the orphans")
    one.services_running("a")
    one.runit_init("0")
    assert one.end() == -signal.SIGINT


@pytest.mark.parametrize("impl", ["ours", "c"])
def test_a_stage_2_that_ignores_term_is_killed_after_5_seconds(boot, impl):
    one = boot(impl)
    one.stage("1", 'echo "stage 1"\n')
    one.stage("2", "trap '' TERM\nexec sleep 1000\n")  # the ignored TERM survives the exec
    one.stage("3", 'echo "stage 3"\n')
    one.start()
    wait_until(lambda: [p for p in children_of(one.init) if cmdline(p) == ["sleep", "1000"]],
               what="stage 2 sleeping")
    asked = time.monotonic()
    one.runit_init("0")
    assert one.end() == -signal.SIGINT
    assert time.monotonic() - asked >= 4.5
    assert one.transcript() == HALT[:5] + [
        "- runit: warning: stage 2 not terminated, sending sigkill...",
    ] + HALT[5:]


def test_stage_2_exit_111_kills_its_group_and_is_restarted_after_5_seconds(boot):
    one = boot("ours")
    standard_stages(one)
    marker = one.dir / "restarted"
    # The first stage 2 leaves a process in its group (once it is sleeping) and exits 111.
    one.stage_2_runsvdir(before=(
        'if [ ! -e "%s" ]; then\n'
        '  : > "%s"\n'
        '  sleep 1001 &\n'
        '  until grep -q "^Name:.*sleep" /proc/$!/status; do :; done\n'
        '  exit 111\n'
        'fi\n') % (marker, marker))
    one.start()
    one.services_running("a", "b", "c", timeout=20.0)  # after the 5 s restart delay
    assert not [p for p in one.members() if cmdline(p) == ["sleep", "1001"]]
    one.runit_init("0")
    assert one.end() == -signal.SIGINT
    assert one.transcript() == HALT[:5] + [
        "- runit: warning: child failed: /etc/runit/2",
        "- runit: warning: killing all processes in stage 2...",
        "- runit: warning: restarting.",
        "- runit: enter stage: /etc/runit/2",
    ] + HALT[5:]


def as_process_2(*argv):
    """Output of argv run as process 2 of a fresh PID namespace, and ``rc=`` its exit code."""
    needs_namespaces()
    proc = subprocess.run(["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
                           "/bin/sh", "-c", '"$@"; echo "rc=$?"', "sh"] + list(argv),
                          env={"PATH": BASE_PATH}, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=30,
                          start_new_session=True)
    return proc.stdout.decode()


@pytest.mark.parametrize("impl", ["ours", "c"])
def test_not_process_1(impl, which_tool):
    # Even the refusal runs in a PID namespace: runit is process 2 there, never the machine's.
    assert as_process_2(which_tool(impl, "runit")) == (
        "- runit: fatal: must be run as process no 1.\nrc=111\n")


def test_kill_all_and_reboot_refuse_outside_process_1():
    # If the guard were broken, kill(-1) and reboot(2) would only hit this throw-away namespace.
    code = ("from runit_provision.runtime import runit\n"
            "for attempt in (runit.System(None, runit.Spawner()).kill_all,\n"
            "                lambda: runit.power_down(runit.power_down_steps(False), '/')):\n"
            "    try:\n"
            "        attempt()\n"
            "    except RuntimeError as exc:\n"
            "        print(exc)\n")
    assert as_process_2(sys.executable, "-c", code) == (
        "runit: refusing to kill(-1) or reboot: not process 1\n" * 2 + "rc=0\n")
