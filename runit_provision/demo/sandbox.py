"""demo: the demo's sandbox — a temporary host — and its end (cli/demo.py runs the demo in it).

``Sandbox.make()`` copies the bundled example into a new temporary directory and writes the
facts only the demo knows (the sandbox — every path is relocated into it through the data —,
your login, a free port, this interpreter, where the runtime's tools are); ``start()`` runs our
``runsvdir`` on its service directory, as init would on a host, in a session of its own, and
writes its pid into the sandbox (``runsvdir.pid``) for ``demo --stop`` to find;
``wait_steady()`` waits until the tree it serves is as the data wants it.

``take_down()`` is the one end, the demo's and ``demo --stop DIR``'s: TERM to that runsvdir
takes the whole tree down — every runsv, users' trees, the loggers drained — and it exits;
whatever is left of the tree is then killed: every process of runsvdir's session (everything
the tree started, as long as none left it), and every process without a terminal working in
the sandbox (one that did leave it). A process with a terminal is someone's shell, not the
tree's; this process and its parents are never touched. Then the directory is removed.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import yaml

from ..accounts import host
from ..errors import ProvisionError
from ..runtime.unix.processes import stat_fields

PREFIX = "runit-provision-demo."
PID_FILE = "runsvdir.pid"
TERM_SECONDS = 15.0  # for runsvdir to take the tree down (each runsv waits for its service)
KILL_SECONDS = 5.0  # for what was killed to be gone


def example_dir():
    """The bundled example (``runit_provision/demo``: this room's files that are not code)."""
    return os.path.dirname(os.path.abspath(__file__))


def tools_dir():
    """Where our runtime's tools are installed: next to this interpreter (a virtualenv)."""
    here = os.path.dirname(sys.executable)
    if os.access(os.path.join(here, "runsvdir"), os.X_OK):
        return here
    found = shutil.which("runsvdir")
    if found and open(found, "rb").read(2) == b"#!":
        return os.path.dirname(found)
    raise ProvisionError("the runtime's tools (runsvdir, sv, chpst, svlogd) are not installed "
                         "next to %s" % sys.executable)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TakenDown:
    """What ``take_down`` did: ``left`` (pids of the tree killed after runsvdir's TERM — it
    did not take them down) and ``is_removed`` (the sandbox is gone)."""

    def __init__(self, left, is_removed):
        self.left, self.is_removed = left, is_removed


class Sandbox:
    """The demo's temporary host at ``directory``: the example copied into ``hiera/``, its
    facts in ``facts.yaml``, the service directory ``etc/service``; ``runsvdir``: the Popen of
    the runsvdir this process started (None: not started, or another process's)."""

    def __init__(self, directory):
        self.dir = directory
        self.hiera = os.path.join(directory, "hiera")
        self.facts = os.path.join(directory, "facts.yaml")
        self.service_dir = os.path.join(directory, "etc", "service")
        self.pid_file = os.path.join(directory, PID_FILE)
        self.bin = None
        self.runsvdir = None

    @classmethod
    def make(cls):
        """A new sandbox under TMPDIR (removed again if it cannot be made whole)."""
        box = cls(os.path.realpath(tempfile.mkdtemp(prefix=PREFIX)))
        try:
            shutil.copytree(example_dir(), box.hiera,
                            ignore=shutil.ignore_patterns("*.py", "__pycache__"))
            box.bin = tools_dir()
            with open(os.path.join(example_dir(), "facts", "demo.yaml")) as handle:
                facts = yaml.safe_load(handle)
            facts.update(sandbox=box.dir, login=host.login_name(os.geteuid()),
                         port=free_port(), python=sys.executable, bin=box.bin)
            with open(box.facts, "w") as handle:
                yaml.safe_dump(facts, handle)
            for sub in ("www", "home", "etc/service"):
                os.makedirs(os.path.join(box.dir, sub))
        except BaseException:
            box.remove()
            raise
        return box

    @classmethod
    def kept(cls, directory):
        """``(Sandbox, None)`` of a sandbox a ``demo --keep`` left, or ``(None, why not)``:
        ``directory`` is removed whole by ``take_down``, so only what the demo made is taken."""
        path = os.path.realpath(directory)
        box = cls(path)
        try:
            is_ours = os.lstat(path).st_uid == os.geteuid()
        except OSError as exc:
            return None, "%s: %s" % (directory, exc.strerror)
        if not (os.path.basename(path).startswith(PREFIX) and is_ours
                and os.path.isfile(box.pid_file) and os.path.isdir(box.hiera)):
            return None, ("%s is not a sandbox runit-provision demo --keep left (a %s* "
                          "directory of yours with its %s): nothing done"
                          % (directory, PREFIX, PID_FILE))
        return box, None

    def inputs(self):
        return ["--hiera", os.path.join(self.hiera, "hiera.yaml"), "--facts", self.facts]

    def templates(self):
        """The templates the demo renders with: chpst -u needs root, even to become yourself,
        so without root the users' tree runs as you through the example's own template."""
        if os.geteuid() != 0:
            return ["--templates", os.path.join(self.hiera, "templates")]
        return []

    def job_options(self):
        return (self.inputs() + ["--profile-d", os.path.join(self.dir, "etc", "profile.d")]
                + self.templates())

    def start(self):
        """Our runsvdir on the sandbox's service directory, as init would run it, in a
        session of its own (the terminal's Ctrl-C is the demo's to handle, not the tree's);
        its pid written down in the sandbox."""
        env = dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get("PATH", "/bin"))
        self.runsvdir = subprocess.Popen(
            [os.path.join(self.bin, "runsvdir"), self.service_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, cwd=self.dir, start_new_session=True)
        with open(self.pid_file, "w") as handle:
            handle.write("%d\n" % self.runsvdir.pid)

    def wait_steady(self, config, seconds):
        """Until every wanted service of ``config`` (the sandbox's data) runs — the web's
        check passed, the users' tree up — and logs, and every one-shot is done, or
        ``seconds`` pass: whether it got there."""
        from ..health.status import service_statuses
        from ..host.fsread import FsReader
        from ..protocol.sidestate import Condition

        deadline = time.monotonic() + seconds
        with FsReader("/") as fs:
            while time.monotonic() < deadline:
                rows = service_statuses(config, fs, int(time.time()))
                # wanted ones running and logging, one-shots (setup: once) done, so the
                # status shown next is the steady one whatever the machine's speed
                if all(row.is_running for row in rows if row.is_wanted) and \
                        not any(row.is_running for row in rows if not row.is_wanted) and \
                        all(row.log is None or row.log.state is Condition.RUN for row in rows
                            if row.is_running):
                    return True
                time.sleep(0.05)
        return False

    def runsvdir_pid(self):
        """The pid of the sandbox's runsvdir — ours, or the one its pid file names — or None
        when none was started."""
        if self.runsvdir is not None:
            return self.runsvdir.pid
        try:
            with open(self.pid_file) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def take_down(self, seconds=TERM_SECONDS):
        """The end: runsvdir's TERM, what is left of the tree killed, the sandbox removed."""
        leader = self.runsvdir_pid()
        if leader is not None and not self._is_our_runsvdir(leader):
            if _is_alive(leader):
                leader = None  # its pid is another process's now: neither it nor its session
        elif leader is not None:
            _signal(leader, signal.SIGTERM)
            if not self._wait_gone(leader, seconds):
                _signal(leader, signal.SIGKILL, os.killpg)
                self._wait_gone(leader, KILL_SECONDS)
        left = processes_of(self.dir, leader)
        for pid in left:
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_SECONDS
        while processes_of(self.dir, leader) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.remove()
        return TakenDown(left, not os.path.lexists(self.dir))

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _is_our_runsvdir(self, pid):
        """Whether ``pid`` is this sandbox's runsvdir (alive or a zombie), not a process that
        took its pid since."""
        if self.runsvdir is not None:
            return self.runsvdir.pid == pid and self.runsvdir.returncode is None
        argv = _cmdline(pid)
        return len(argv) >= 2 and os.path.basename(argv[-2]) == "runsvdir" \
            and argv[-1] == self.service_dir

    def _wait_gone(self, pid, seconds):
        """Until ``pid`` has exited (reaped when it is our child), or ``seconds`` passed."""
        if self.runsvdir is not None:
            try:
                self.runsvdir.wait(seconds)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + seconds
        while _is_alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def processes_of(directory, session=None):
    """Pids of live processes of the sandbox at ``directory``: of the session ``session``
    (runsvdir's: everything its tree started), and those without a terminal working in the
    sandbox — never this process or one of its parents."""
    prefix = directory.rstrip("/") + "/"
    spared = _parents_and_self()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in spared:
            continue
        fields = _stat_fields(entry)
        if fields is None or fields[0] in b"ZX":
            continue
        if session is not None and int(fields[3]) == session:
            found.append(int(entry))
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry) + "/"
        except OSError:
            continue
        if cwd.startswith(prefix) and int(fields[4]) == 0:  # tty_nr 0: no terminal
            found.append(int(entry))
    return found


def _stat_fields(pid):
    """/proc/PID/stat from the state on (state, ppid, pgrp, session, tty_nr, …), or None
    when ``pid`` is gone."""
    try:
        return stat_fields(pid)
    except (OSError, ValueError):
        return None


def _parents_and_self():
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        fields = _stat_fields(pid)
        pid = int(fields[1]) if fields else 0
    return pids


def _is_alive(pid):
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in b"ZX"


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "surrogateescape")
                    for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


def _signal(pid, signum, send=os.kill):
    """``send`` (os.kill, or os.killpg for a group) ``signum``; one already gone is fine."""
    try:
        send(pid, signum)
    except OSError:
        pass
