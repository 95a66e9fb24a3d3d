"""Shared helpers for runsv's real-process tiers: service trees, supervised runs, waits.

Everything here starts real processes in their own session and ends them by process group;
every wait is a condition polled against a deadline, never a bare sleep.
"""

import contextlib
import errno
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from runit_provision.protocol.status import status_from_bytes

from .transcript import normalise  # noqa: F401  (re-exported for the interop tier)

SH = "#!/bin/sh\n"
RUN_SLEEP = SH + "echo run: start\nexec sleep 1000\n"
C_SV = "/usr/bin/sv"
C_RUNSV = "/usr/bin/runsv"
C_RUNSVDIR = "/usr/bin/runsvdir"
BASE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def wait_until(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Poll ``predicate`` until it returns something true; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s not met within %.1fs" % (what, timeout))
        time.sleep(interval)


def write_file(path, text, mode=0o644):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def write_script(path, body, mode=0o755):
    """An executable ``/bin/sh`` script; ``body`` without the shebang."""
    return write_file(path, SH + body, mode)


def make_service(parent, name, run=RUN_SLEEP, finish=None, log_run=None, down=False,
                 log_down=False, hooks=None, check=None):
    """A service directory; ``run``/``finish``/``log_run`` are whole scripts (with shebang).

    ``hooks`` maps a control letter to the body of ``control/<letter>``.
    """
    service = Path(parent) / name
    service.mkdir(parents=True)
    write_file(service / "run", run, 0o755)
    if finish is not None:
        write_file(service / "finish", finish, 0o755)
    if check is not None:
        write_file(service / "check", check, 0o755)
    if down:
        (service / "down").touch()
    for letter, body in (hooks or {}).items():
        write_script(service / "control" / letter, body)
    if log_run is not None:
        write_file(service / "log" / "run", log_run, 0o755)
        if log_down:
            (service / "log" / "down").touch()
    return service


# -- what runsv shows on disk -------------------------------------------------------------
def read_bytes(path):
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def whole_lines(path):
    """``path``'s text once it ends a line, else None: a shell's ``echo … >FILE`` makes the
    file before it writes the line, so "it exists" is not "it is written"."""
    found = read_bytes(path)
    return found.decode() if found and found.endswith(b"\n") else None


def file_size(path):
    """``path``'s size, 0 while it is not there — a logger renames ``current`` at each
    rotation, so it may go between a look and a stat."""
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0


def decode_side(side_dir):
    """A side's ``supervise/`` as comparable fields: no stamps, pids reduced to present/absent."""
    supervise = Path(side_dir) / "supervise"
    raw = read_bytes(supervise / "status")
    if raw is None:
        return {"status": None}
    status = status_from_bytes(raw)
    pid_file = read_bytes(supervise / "pid")
    stat = read_bytes(supervise / "stat")
    return {
        "state": status.state.name.lower(),
        "want": status.want,
        "paused": int(status.paused),
        "term": int(status.term),
        "pid": "yes" if status.pid else "no",
        "stat": None if stat is None else stat.decode(),
        "pidfile": None if pid_file is None else re.sub(rb"\d+", b"N", pid_file).decode(),
    }


def describe_side(name, fields):
    if fields.get("status") is None and "state" not in fields:
        return "%s: no status" % name
    return ("%s: %s want=%s paused=%d term=%d pid=%s stat=%r pidfile=%r"
            % (name, fields["state"], fields["want"], fields["paused"], fields["term"],
               fields["pid"], fields["stat"], fields["pidfile"]))


def status_record(side_dir):
    raw = read_bytes(Path(side_dir) / "supervise" / "status")
    return None if raw is None or len(raw) != 20 else status_from_bytes(raw)


def is_runsv_up(side_dir):
    """The liveness probe sv uses: a reader holds ``supervise/ok``."""
    try:
        fd = os.open(str(Path(side_dir) / "supervise" / "ok"), os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            return False
        raise
    os.close(fd)
    return True


def send_control(side_dir, data):
    fd = os.open(str(Path(side_dir) / "supervise" / "control"), os.O_WRONLY | os.O_NONBLOCK)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


# -- processes --------------------------------------------------------------------------------
class Group:
    """One process started in its own session; ``kill()`` ends its whole process group."""

    def __init__(self, argv, cwd=None, env=None, output=None, stdin=subprocess.DEVNULL):
        self.output_path = output
        out = open(output, "ab") if output is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, env=env, stdin=stdin,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            if output is not None:
                out.close()
        self.pid = self.proc.pid

    def output(self):
        if self.output_path is None:
            return ""
        return Path(self.output_path).read_bytes().decode("utf-8", "replace")

    def poll(self):
        return self.proc.poll()

    def wait(self, timeout=10.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("pid %d did not exit within %.1fs" % (self.pid, timeout))

    def kill(self):
        """KILL the group, and every process of its session: a job runs in a group of its
        own (engine/jobgroup.py), inside the session."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        kill_pids(session_members(self.pid))
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


class Processes:
    """Every group a test started; the fixture kills them all (each by its own pgid)."""

    def __init__(self):
        self.groups = []

    def start(self, argv, **kwargs):
        group = Group(argv, **kwargs)
        self.groups.append(group)
        return group

    def kill_all(self):
        for group in reversed(self.groups):
            group.kill()


def _proc_stat_fields():
    """(pid, fields after the command name) of every process in /proc/PID/stat."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                yield int(entry), handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue


def process_group_members(pgid):
    """Pids in process group ``pgid`` (from /proc), for leak checks."""
    return [pid for pid, fields in _proc_stat_fields() if int(fields[2]) == pgid]


def session_members(sid):
    """Pids in session ``sid`` (from /proc)."""
    return [pid for pid, fields in _proc_stat_fields() if int(fields[3]) == sid]


def alive(pids):
    """Those of ``pids`` that run (neither gone nor a zombie)."""
    return [pid for pid in pids if stat_fields(pid) is not None]


# A job's child that ignores TERM (``%`` the file its pid is added to), and the job going on
# only once it does: a TERM sent to the group sooner would end the subshell before its trap.
STUBBORN_CHILD = ("(trap '' TERM; : >trapped; exec sleep 40) &\necho $! >>%s\n"
                  "until [ -e trapped ]; do sleep 0.05; done\nrm trapped\n")


def most_groups_at_once(session, name, until, timeout):
    """Sample the process groups of the live ``name`` processes in ``session`` every 50 ms
    until ``until()`` holds (at most ``timeout`` seconds): the most seen at one time (a
    job's runs each have a group of their own: 1 when no two overlapped)."""
    most = 0
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        groups = set()
        for pid in session_members(session):
            fields = stat_fields(pid)
            if fields is not None and comm(pid) == name:
                groups.add(int(fields[2]))
        most = max(most, len(groups))
        time.sleep(0.05)
    assert until(), "not within %ss" % timeout
    return most


def children_of(pid):
    """Pids whose parent is ``pid``."""
    return [child for child, fields in _proc_stat_fields() if int(fields[1]) == pid]


def stat_fields(pid):
    """/proc/PID/stat from field 3 (the state) on; None if gone or a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in "ZX" else fields


def start_time(pid):
    fields = stat_fields(pid)
    return None if fields is None else fields[19]  # field 22


def descendants(pid):
    """Every pid below ``pid`` in the process tree, as one reading of /proc shows it (one
    scan, not one per process found: a tree of 1000 services took 20 s the other way)."""
    by_parent = {}
    for child, fields in _proc_stat_fields():
        by_parent.setdefault(int(fields[1]), []).append(child)
    found, todo = [], [pid]
    while todo:
        kids = by_parent.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found


def processes_under(path):
    """Live pids whose cwd is ``path`` or below it."""
    prefix = str(path) + "/"
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry) + "/"
        except OSError:
            continue
        if cwd.startswith(prefix) and start_time(int(entry)) is not None:
            pids.add(int(entry))
    return pids


def instances(service):
    """Top processes running in the service's directory (a child of one is part of it): one
    instance of ./run means one pid here."""
    inside = {}
    for pid in processes_under(service):
        fields = stat_fields(pid)
        try:
            if fields is not None and os.readlink("/proc/%d/cwd" % pid) == str(service):
                inside[pid] = int(fields[1])
        except OSError:
            continue
    return {pid for pid, parent in inside.items() if parent not in inside}


def running_pid(side_dir):
    """The pid of a side that runs under a live runsv, else 0."""
    record = status_record(side_dir)
    if is_runsv_up(side_dir) and record is not None and record.state.name == "RUN":
        return record.pid
    return 0


def voluntary_switches(pid):
    """How often ``pid`` has gone to sleep: growth while idle means timed wakeups."""
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    raise AssertionError("no voluntary_ctxt_switches for %d" % pid)


def close_pipes(proc):
    """Close the pipes a ``subprocess.Popen`` of a test holds, once it has been reaped."""
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def kill_if_under(pid, path, signum=signal.SIGKILL):
    """``signum`` to ``pid`` only while it is a process working under ``path`` (its cwd); True
    when sent. A pid read from a status record may be of a process long gone, its number
    since given to another test's process (pid_max is 32768 here): held by a pidfd from the
    check to the signal, so the process checked is the one signalled."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    try:
        if not (os.readlink("/proc/%d/cwd" % pid) + "/").startswith(str(path) + "/"):
            return False
        signal.pidfd_send_signal(handle, signum)
        return True
    except (ProcessLookupError, FileNotFoundError):  # gone (a zombie has no cwd)
        return False
    finally:
        os.close(handle)


def kill_pids(pids, wait=False):
    """SIGKILL each pid; one that is already gone is fine. ``wait``: until each has exited
    (a zombie has closed its descriptors: a runsv killed so no longer holds supervise/ok)."""
    pids = list(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if wait:
        wait_until(lambda: all(stat_fields(pid) is None for pid in pids),
                   what="pids %s gone" % pids)


def end_processes_under(path, timeout=60.0):
    """SIGKILL every process working under ``path`` until none is left, each round killing
    what appeared since (a supervisor killed between two readings may have started one), with
    a deadline that holds on a loaded machine: a killed process in uninterruptible sleep (a
    write to a busy disk) takes its time to go."""
    def gone():
        found = processes_under(path)
        kill_pids(found)
        return not found
    wait_until(gone, timeout=timeout, interval=0.05,
               what="every process under %s gone" % path)


def end_tree(proc, root, timeout=20):
    """End a supervision tree started in a session of its own (``proc``): TERM, then KILL to
    what is left of its process group, then to every process still working under ``root``
    (services of a C runsvdir, which leaves its runsvs running on TERM)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    kill_pids(process_group_members(proc.pid))
    proc.wait()
    kill_pids(processes_under(root))


def blocked_on_flock(pid):
    """Whether ``pid`` waits for a flock() (a ``->`` line of /proc/locks)."""
    with open("/proc/locks") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 5 and fields[1] == "->" and fields[2] == "FLOCK" \
                    and fields[5] == str(pid):
                return True
    return False


def waits_on_inotify(pid):
    """Whether process ``pid`` watches something with inotify (one of its descriptors is an
    inotify instance with a watch): a command now waiting for a change, such as apply's wait
    for a runsv to serve its sides (apply/activate.wait_supervised)."""
    try:
        names = os.listdir("/proc/%d/fdinfo" % pid)
    except OSError:
        return False
    for name in names:
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, name)) as handle:
                if "inotify wd:" in handle.read():
                    return True
        except OSError:
            continue
    return False


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def logger_host_of(tree_pid):
    """The pid of the stand-in a runsvdir tree's own hosted loggers show in log/supervise/pid
    (its child shown as ``svlogd -s (loggers of …)``), or 0."""
    hosts = [pid for pid in children_of(tree_pid) if cmdline(pid)[:2] == ["svlogd", "-s"]]
    assert len(hosts) <= 1, hosts
    return hosts[0] if hosts else 0


def pipe_keepers_of(tree_pid):
    """The pids of a runsvdir tree's log pipe keepers (pipekeeper.py, its children shown as
    ``pipekeeper -s (log pipes of …)``): one while the tree holds a log pipe, none before."""
    return [pid for pid in children_of(tree_pid) if cmdline(pid)[:2] == ["pipekeeper", "-s"]]


def identity_hosts_of(tree_pid):
    """The pids of a tree's identity hosts — the processes running the loggers of another
    identity (its children shown as ``svlogd (loggers of … as USER)``)."""
    return sorted(pid for pid in children_of(tree_pid)
                  if cmdline(pid)[:1] == ["svlogd"] and cmdline(pid)[1:2] != ["-s"])


def proc_status(pid):
    """``/proc/PID/status`` as {field: [values]}."""
    with open("/proc/%d/status" % pid) as handle:
        return {line.split(":")[0]: line.split()[1:] for line in handle if ":" in line}


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        return []


@contextlib.contextmanager
def waiting(argv, timeout=30.0, **popen):
    """``argv`` — a waiting ``sv -w …`` — started with its output piped: the block looks at it
    while it waits and lets it go on; after the block ``proc.output`` is all it said (it is
    killed if the block failed, or it outlived ``timeout``)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    try:
        yield proc
        proc.output, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def run_sv(args, svdir, sv=C_SV, timeout=30.0):
    """``sv ARGS`` with SVDIR and cwd = ``svdir``; (combined output, exit code)."""
    env = {"PATH": BASE_PATH, "SVDIR": str(svdir)}
    proc = subprocess.run([sv] + list(args), cwd=str(svdir), env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return proc.stdout.decode("utf-8", "replace"), proc.returncode


