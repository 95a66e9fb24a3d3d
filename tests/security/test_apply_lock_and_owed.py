"""Issue 30, rows N3 and N6: no account but root's can hold an apply off, and no user can make
an apply lose a restart by hiding their service's state.

N3: the apply lock was a flock on ``sv_dir``'s parent, a directory anyone can open — so
``flock -x /etc sleep infinity``, by ``nobody``, stopped every apply. ``apprun1`` here holds a
flock on every path it can open (the sandbox's directories and files, every directory above,
its own home) and keeps trying to open the lock file itself, while root applies, plans and
stages a ``--root`` tree: each runs at once, and the lock file is never opened. Where a user may
create files (a sticky, world-writable directory above ``sv_dir``), a lock file they plant is
refused at once, by name.

N6: a restart of a service whose ``supervise/status`` its owner made a FIFO (or whose ``ok`` a
regular file) was dropped as "not running (state unknown)", exit 0. Now it is owed: ``apprun1``
is refused, the restart stays written down, ``plan`` and ``status`` show it, and the first apply
after they put the file back does it.

Real users in the security namespace (``sandbox.py``), the real ``runit-provision``, our runtime
and the C runit; every wait has a deadline, every process started is ended by its group.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from ..conftest import OUR_BIN
from ..runtime.processes import close_pipes, running_pid, wait_until

pytestmark = pytest.mark.slow

LOCK_NAME = ".runit-provision.lock"

# apprun1's hold: a flock (exclusive, else shared) on every directory and regular file it can
# open under and above the roots it is given, then — until TERM — attempts to open (or make)
# each lock file, counted by outcome; one it opens it flocks and keeps.
HOLDER = r"""
import errno, fcntl, os, resource, signal, stat, sys, time
out, roots, locks = sys.argv[1], sys.argv[2].split(":"), sys.argv[3].split(":")
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held, kept, counts = [], [], {}

def hold(path):
    try:
        info = os.lstat(path)
    except OSError:
        return
    if not (stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode)):
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return
    for operation in (fcntl.LOCK_EX, fcntl.LOCK_SH):
        try:
            fcntl.flock(fd, operation | fcntl.LOCK_NB)
        except OSError:
            continue
        held.append(path)
        kept.append(fd)
        return
    os.close(fd)

for root in roots:
    above = os.path.dirname(root)
    while True:
        hold(above)
        if above == "/":
            break
        above = os.path.dirname(above)
    hold(root)
    for directory, dirs, files in os.walk(root):
        hold(directory)
        for name in files:
            hold(os.path.join(directory, name))

def report(signum, frame):
    # whole or not at all: the test reads the counts as soon as their file is there
    with open(out + ".counts.new", "w") as handle:
        handle.write(" ".join("%s=%d" % item for item in sorted(counts.items())) + "\n")
    os.rename(out + ".counts.new", out + ".counts")
    os._exit(0)

signal.signal(signal.SIGTERM, report)
with open(out, "w") as handle:
    handle.write("\n".join(held) + "\nready\n")
while True:
    for lock in locks:
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CREAT, 0o644)
        except OSError as exc:
            word = errno.errorcode.get(exc.errno, str(exc.errno))
            counts[word] = counts.get(word, 0) + 1
            continue
        counts["opened"] = counts.get("opened", 0) + 1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            counts["locked"] = counts.get("locked", 0) + 1
            kept.append(fd)
        except OSError:
            os.close(fd)
    time.sleep(0.001)
"""


class Holder:
    """apprun1 running HOLDER over ``roots``, trying ``locks``."""

    def __init__(self, sandbox, roots, locks):
        self.sandbox = sandbox
        self.out = sandbox.home("apprun1") / "holder.out"
        argv = [sys.executable, "-I", "-c", HOLDER, self.out, ":".join(map(str, roots)),
                ":".join(map(str, locks))]
        self.proc = subprocess.Popen(sandbox.ns.argv(argv, user="apprun1"),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, start_new_session=True)

    def held(self):
        """The paths apprun1 holds a flock on, once it holds them all."""
        def ready():
            assert self.proc.poll() is None, self.proc.stderr.read()
            text = self.out.read_text() if self.out.exists() else ""
            return text.endswith("ready\n") and text
        return set(wait_until(ready, timeout=60, what="apprun1's flocks").splitlines()[:-1])

    def stop(self):
        """TERM it; {outcome: count} of its attempts at the lock files."""
        counts = self.out.with_name("holder.out.counts")
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                wait_until(counts.exists, timeout=10, what="apprun1's counts")
        finally:
            self.end()
        return dict(item.split("=") for item in counts.read_text().split())

    def end(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        close_pipes(self.proc)


def run_tool(sandbox, *args, user=None):
    return sandbox.ns.run([OUR_BIN / "runit-provision"] + [str(a) for a in args], user=user,
                          env=sandbox.environ(), timeout=120)


def staging_root(sandbox):
    """A --root DIR under the sandbox, with data for it: one service, nothing started."""
    root = sandbox.path("staging")
    (root / "etc").mkdir(parents=True)
    data = sandbox.path("staged.yaml")
    data.write_text(yaml.safe_dump({"runit": {"init": "none", "services": {
        "staged": {"command": "/usr/bin/staged"}}}}))
    return root, data


# -- N3: no lock an unprivileged account can take --------------------------------------------
@pytest.mark.parametrize("impl", ["ours"])  # the apply lock: no runtime's part
def test_n3_apprun1_holding_every_path_it_can_open_holds_no_apply_off(sandbox):
    sandbox.up()
    root, staged = staging_root(sandbox)
    locks = [sandbox.path("etc") / LOCK_NAME, root / "etc" / LOCK_NAME]
    holder = Holder(sandbox, [sandbox.base], locks)
    try:
        held = holder.held()
        # what was the lock (sv_dir's parent, the staging root's etc/) and all on the way
        for path in (sandbox.path("etc"), sandbox.sv_dir, root / "etc", root,
                     sandbox.base, sandbox.base.parent, "/",
                     sandbox.home("apprun1") / "sv" / "web1" / "run"):
            assert str(path) in held, path
        sandbox.services["rootsvc"]["env"] = {"GREETING": "two"}
        before = running_pid(sandbox.sv_dir / "rootsvc")
        started = time.monotonic()
        report = sandbox.apply(args=["--lock-timeout", "3"])
        assert [item["service"] for item in report["restarts"]] == ["rootsvc"]
        assert running_pid(sandbox.sv_dir / "rootsvc") not in (0, before)
        plan = run_tool(sandbox, "plan", "--data", sandbox.base / "data.yaml",
                        "--lock-timeout", "3")
        assert plan.returncode == 0, plan.stdout + plan.stderr
        stage = run_tool(sandbox, "apply", "--data", staged, "--root", root,
                         "--lock-timeout", "3")
        assert stage.returncode == 0, stage.stdout + stage.stderr
        assert (root / "etc" / "sv" / "staged" / "run").exists()
        assert time.monotonic() - started < 60
    finally:
        counts = holder.stop()
    # apprun1 tried the lock files all along: refused each time one was there, never in
    assert "opened" not in counts and int(counts.get("EACCES", 0)) > 0, counts
    assert not any(lock.exists() for lock in locks)  # each let go and removed


@pytest.mark.parametrize("impl", ["ours"])  # the apply lock: no runtime's part
def test_n3_a_plan_by_apprun1_reads_without_roots_lock_and_holds_nothing_off(sandbox):
    from runit_provision.apply.fsroot import FsRoot
    from runit_provision.apply.lock import release_lock, take_lock

    sandbox.up()
    with FsRoot("/") as fs:
        held = take_lock(fs, str(sandbox.sv_dir), 0)  # root's apply, as far as flock can tell
        try:
            plan = run_tool(sandbox, "plan", "--data", sandbox.base / "data.yaml",
                            "--lock-timeout", "30", user="apprun1")
        finally:
            release_lock(held)
    # not refused by the lock nor waiting for it: what apprun1 may not read is its own answer
    assert "lock" not in plan.stderr, plan.stderr
    assert plan.returncode in (0, 1, 2), plan.stderr


@pytest.mark.parametrize("impl", ["ours"])  # the apply lock: no runtime's part
def test_n3_a_lock_file_apprun1_plants_is_refused_at_once(sandbox):
    sandbox.up()
    etc = sandbox.path("etc")
    etc.chmod(0o1777)  # as /tmp: anyone may make a file here, no one remove another's
    lock = etc / LOCK_NAME
    holder = None
    try:
        sandbox.as_user("apprun1", ": > %s && chmod 644 %s" % (lock, lock))
        holder = Holder(sandbox, [lock], [])  # and holds it
        assert str(lock) in holder.held()
        started = time.monotonic()
        report = sandbox.apply(check=False, args=["--lock-timeout", "30"])
        assert time.monotonic() - started < 20  # refused, not waited for
        assert report["exit"] == 1 and report["msg"] == (
            "%s is not runit-provision's lock (owned by uid 61001, neither root nor the "
            "applier): planted? Remove it; apply makes its own" % lock)
    finally:
        if holder is not None:
            holder.end()
        etc.chmod(0o755)
    lock.unlink()  # the admin does as the message says
    assert sandbox.apply()["exit"] == 0


# -- N6: an owed restart survives an unreadable state -----------------------------------------
HIDE = {  # what apprun1 does to web1's supervise/, and how it puts it back
    "status a FIFO": ("mv status status.real && mkfifo status", "mv -f status.real status",
                      "unable to read supervise/status: bad format"),
    "ok a file": ("mv ok ok.real && : > ok", "mv -f ok.real ok",
                  "unable to open supervise/ok: not a FIFO"),
}


@pytest.mark.parametrize("hidden", sorted(HIDE))
def test_n6_a_restart_apprun1_hides_the_state_of_is_owed_never_lost(sandbox, hidden):
    hide, restore, why = HIDE[hidden]
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    pid = running_pid(web1)
    supervise = "cd sv/web1/supervise && "
    sandbox.as_user("apprun1", supervise + hide)  # running_pid must not read it from here on
    sandbox.user_services["apprun1"]["web1"]["env"] = {"GREETING": "two"}
    sandbox.services["rootsvc"]["env"] = {"GREETING": "two"}
    report = sandbox.apply(check=False)
    assert report["exit"] == 1 and report["refusals"] == {"apprun1": (
        "apprun1/web1: restart not done, owed to the next apply: whether %s runs cannot be "
        "told (%s)" % (web1, why))}
    assert [item["service"] for item in report["restarts"]] == ["rootsvc"]
    assert (web1 / "env" / "GREETING").read_text() == "two\n"  # its files went on
    assert os.path.exists("/proc/%d" % pid)  # not restarted blind
    owed = sandbox.sv_dir / ".pending-restarts"
    assert owed.read_text() == "restart\t%s\tapprun1/web1\tenv changed\n" % web1
    data = sandbox.base / "data.yaml"
    plan = run_tool(sandbox, "plan", "--data", data)
    assert plan.returncode == 2 and (
        "↻ apprun1/web1: restart (env changed (owed: an earlier apply stopped before it); "
        "state unknown: %s)" % why) in plan.stdout, plan.stdout + plan.stderr
    status = json.loads(run_tool(sandbox, "status", "--data", data, "--json").stdout)
    row = next(row for row in status["services"] if row["service"] == "apprun1/web1")
    assert row["main"]["state"] == "unknown" and row["owed"] == [
        {"action": "restart", "target": str(web1), "reason": "env changed"}]
    sandbox.as_user("apprun1", supervise + restore)
    report = sandbox.apply()
    assert [(item["service"], item["command"]) for item in report["restarts"]] == [
        ("apprun1/web1", "restart")]
    wait_until(lambda: running_pid(web1) not in (0, pid), what="web1 restarted")
    assert not owed.exists()
