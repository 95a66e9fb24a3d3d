#!/usr/bin/env python3
"""bench: one tree of ``sleep`` services under the C runit, supervisord and our runsvdir, side by side.

The same services run under three supervisors, in one run:

* **C runit**: ``/usr/bin/runsvdir DIR``, which forks one ``/usr/bin/runsv`` per service;
* **supervisord** (Debian ``supervisor``): ``supervisord -n -c CONF`` with a config written to the
  scratch directory; control over a unix socket in that directory only, no ``inet_http_server``;
  each program is ``command=sleep 100000``, ``autostart=true``, ``autorestart=true``,
  ``startsecs=0`` (see below), output ``NONE``, ``loglevel=warn``, ``minfds=4096``;
* **ours**: ``.venv/bin/runsvdir DIR`` — the whole tree in one Python process.

Every runit service is ``run``: ``#!/bin/sh`` / ``exec sleep 100000``. A service counts as running
once a process whose ``comm`` is ``sleep`` sits where the service process belongs: a child of the
supervisor (supervisord, ours) or of the service's runsv (C runit). Every supervisor is started in a
new session, with stdout/stderr in a log file in the scratch directory.

Figures (the method of each is also printed under the table):

a. memory: sum of PSS (``/proc/PID/smaps_rollup``) of every supervision process — every process
   of the supervisor's session that is not a ``sleep``: runsvdir and each runsv; supervisord;
   our runsvdir — with 100 services running, after a settling pause; measured for one supervisor
   at a time, with nothing else of the bench running (PSS shares pages with whoever maps them).
   USS (Private_Clean + Private_Dirty) is shown next to it. Measured twice: plain services, and
   *logged* services — SPEC §6's 20 MB budget — where each service's ``log/run`` is
   ``exec svlogd -tt ./main`` (the C svlogd for the C runit, one process each; ours hosts the
   canonical form inside the tree) and supervisord captures each program's stdout into a file
   of its own (``stdout_logfile``, its default rotation).
a". memory as if alone (``alone_pss_kb``): the same processes' pages from ``/proc/PID/pagemap``,
   a page shared with a process outside the tree counted in full. PSS splits a page among all
   who map it — our interpreter's with the bench's own Python (the same binary as ours), libc
   with the whole machine — so a one-process tree's PSS is its RSS halved by whatever else
   runs; this figure is what the tree costs a host where nothing else shares its binaries.
b. start: from just before launching the supervisor to all 1000 services running, found by
   walking the supervisor's children (and, for C, each runsv's children) every ≥ 20 ms. The
   launch waits until the clock's second is past the tree's mtime: the C runsvdir sleeps 1 s
   before scanning a directory modified in the current second.
c. respawn: SIGKILL of a service process that has lived for > 1 s (a different service each
   sample), then ``/proc/P/task/P/children`` of its parent (the supervisor; the runsv for C)
   is polled every 0.5 ms: time to a new child ("forked") and to that child being ``sleep``
   ("exec'd"). Median and p90.
d. idle wakeups: growth of ``voluntary_ctxt_switches`` summed over the supervision processes
   during the idle window (``--idle``, default 30 s) with 100 services up; the three trees idle
   side by side in the same window (their counters are per process; nothing else runs).
e. link → running: a prepared service directory is ``rename``d into the scanned directory; time
   until its ``sleep`` runs (median). The C runsvdir stats its directory every 5 s (every 1 s
   for a while after a change), so the links are spaced 1.5 s + (k + 0.5)/n × 5 s after the
   previous one was seen running: their phases cover its period evenly. supervisord has no scanned directory: its equivalent is
   writing ``conf.d/NAME.conf`` and running ``supervisorctl update`` (the client's own start-up,
   ≈ 0.2–0.3 s of Python, is part of the figure).
f. status of all services (optional figure): wall time of one ``sv status DIR/*`` (C sv on the C
   tree, our sv on our tree) and of ``supervisorctl status``; median of a few runs.

Why ``startsecs=0``: with supervisord's default (1 s) a program is only RUNNING once a loop pass
after 1 s sees it; the loop ticks at 1 Hz when idle, so a kill 1.1 s after a start can still hit
STARTING and go to BACKOFF (a 1 s delay runit never applies to a run that lived > 1 s). With 0 a
program is RUNNING as soon as it is spawned, as a runit service is "run" as soon as it is forked;
runit's 1 s throttle for runs that die within a second has no supervisord equivalent either way.
supervisord 4.2.5 respawns on its next loop pass after reaping: its poll() times out after 1 s and
SIGCHLD does not cut it short (Python retries an interrupted poll), so its respawn reads ≈ 1 s
whatever startsecs and the logging settings (checked with the defaults as well).

Cleanup: the bench makes itself a child subreaper; each supervisor's whole session is SIGKILLed
(pid by pid, found in /proc) when its phase ends, on errors and on Ctrl-C/TERM; orphans are reaped.
Nothing is killed by name. A missing implementation is reported as "not installed".

Start alone (figure b, without supervisord): ``--start-rounds N`` starts 1000 services (``--start
COUNT``) N times under the C runit and ours, alternately (the order swapped each round), each
tree removed once it is stopped, and prints every round: seconds to all running and the CPU
then of the supervisor and every process below it (/proc/PID/schedstat), the supervision
processes and the services (``sleep``, their ``sh`` included) apart. ``--scratch DIR`` puts the scratch directory under DIR (default: $TMPDIR or /tmp) —
its filesystem decides much of a start: on ext4 without a journal every new inode's
allocation skips the inodes deleted in the last minutes one by one (the kernel's
``recently_deleted``), so a start right after a large tree was removed is slower, and the
C runit's and ours alike; on tmpfs that cost is absent.

Memory with a cgroup per service (figure a, logged): ``--cgroup [DIR]`` measures the C runit,
ours, and ours with each service's ``cgroup`` file (``CGROUP_FILE``), its runsvdir started in
a fresh child of DIR — a delegated cgroup v2 with the memory and pids controllers given to its
children (in the VM tier, ``$RUNIT_PROVISION_VM_CGROUP``: ``tests/vm_tier.py -- bench/tree.py
--cgroup``) — ``--rounds N`` times (3), alternated.

Usage: ``.venv/bin/python bench/tree.py [--quick] [--idle SECONDS] [--json FILE] [--scratch DIR]
[--start-rounds N [--start COUNT]] [--cgroup [DIR] [--rounds N]]``
"""

import array
import collections
import contextlib
import json
import os
import signal
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"

from runit_provision.runtime.unix.cgroup import remove_cgroup_tree  # noqa: E402
C_RUNSVDIR = "/usr/bin/runsvdir"
C_RUNSV = "/usr/bin/runsv"
C_SV = "/usr/bin/sv"
C_SVLOGD = "/usr/bin/svlogd"
SUPERVISORD = "/usr/bin/supervisord"
SUPERVISORCTL = "/usr/bin/supervisorctl"
RUN_SCRIPT = "#!/bin/sh\nexec sleep 100000\n"
LOG_RUN = "#!/bin/sh\nexec {svlogd} -tt ./main\n"  # the canonical form: our tree hosts it
SLEEP = "sleep"
CGROUP_FILE = "cgroup 1 stop=group pids.max=64\n"  # render's file for tasks_max: 64

FULL = {"services": 100, "start": 1000, "respawn": 20, "link": 5, "status_runs": 3,
        "idle": 30.0, "settle": 2.0}
QUICK = {"services": 20, "start": 100, "respawn": 5, "link": 2, "status_runs": 1,
         "idle": 5.0, "settle": 1.0}
RUNNING_TIMEOUT = 60.0
LINK_TIMEOUT = 30.0
LINK_QUIET = 1.5  # > runsvdir's 1 s re-check after a change: it is back on its 5 s period
LINK_PERIOD = 5.0
RESPAWN_FIGURES = ("respawn_fork_p50", "respawn_fork_p90", "respawn_exec_p50", "respawn_exec_p90")
RESPAWN_POLL = 0.0005
START_POLL = 0.02

NOT_INSTALLED = "not installed"


# -- /proc ----------------------------------------------------------------------------------------
def read_or_none(path):
    """A file's bytes, None when it cannot be read (a process gone in between): /proc's."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def children(pid):
    data = read_or_none("/proc/%d/task/%d/children" % (pid, pid))
    return [int(word) for word in data.split()] if data else []


def comm(pid):
    data = read_or_none("/proc/%d/comm" % pid)
    return data.decode(errors="replace").strip() if data else None


def stat_fields(pid):
    """(state, ppid, sid) from /proc/PID/stat, or None once the process is gone."""
    data = read_or_none("/proc/%d/stat" % pid)
    if not data:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1]), int(fields[3])


def all_pids():
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def session_members(sid):
    """Every process of session ``sid``: pid -> (state, ppid)."""
    members = {}
    for pid in all_pids():
        fields = stat_fields(pid)
        if fields and fields[2] == sid:
            members[pid] = fields[:2]
    return members


def supervision_pids(sid):
    """The supervisor's own processes: its session minus the services (and zombies)."""
    return sorted(pid for pid, (state, _ppid) in session_members(sid).items()
                  if state != "Z" and comm(pid) != SLEEP)


def memory_kb(pid):
    """PSS, USS and RSS in kB from smaps_rollup."""
    values = {}
    for line in (read_or_none("/proc/%d/smaps_rollup" % pid) or b"").decode().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            values[parts[0].rstrip(":")] = int(parts[1])
    return {"pss": values.get("Pss", 0), "rss": values.get("Rss", 0),
            "uss": values.get("Private_Clean", 0) + values.get("Private_Dirty", 0)}


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PFN_MASK = (1 << 55) - 1
PRESENT, SWAPPED = 1 << 63, 1 << 62


def resident_frames(pid):
    """The page frames a process maps (``/proc/PID/pagemap``, root: the frame numbers), a
    swapped page as a frame of its own; empty once the process is gone."""
    frames = []
    maps = read_or_none("/proc/%d/maps" % pid)
    try:
        fd = os.open("/proc/%d/pagemap" % pid, os.O_RDONLY)
    except OSError:
        return frames
    try:
        for line in (maps or b"").splitlines():
            start, end = (int(part, 16) // PAGE_SIZE for part in line.split()[0].split(b"-"))
            entries = array.array("Q")
            try:
                entries.frombytes(os.pread(fd, (end - start) * 8, start * 8))
            except OSError:  # [vsyscall], above what pagemap covers
                continue
            for number, entry in enumerate(entries):
                if entry & PRESENT:
                    frames.append(entry & PFN_MASK)
                elif entry & SWAPPED:
                    frames.append(("swap", pid, start + number))
    finally:
        os.close(fd)
    return frames


def alone_pss_kb(pids):
    """PSS (kB) of a group of processes as if nothing else ran on the machine: a page shared
    with a process outside the group counts in full, one shared within it is split as PSS
    splits it. A tree's figure must not depend on what else maps its interpreter or its libc:
    the bench itself (the same Python as ours), another tree run beside it, a test suite."""
    mapped = {pid: resident_frames(pid) for pid in pids}
    sharers = collections.Counter(frame for frames in mapped.values() for frame in frames)
    pages = sum(1 / sharers[frame] for frames in mapped.values() for frame in frames)
    return pages * PAGE_SIZE / 1024


def voluntary_switches(pid):
    for line in (read_or_none("/proc/%d/status" % pid) or b"").decode().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return None


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def become_subreaper():
    """Orphans of the supervisors we kill are re-parented to us, so we can reap them."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER


def reap_orphans():
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# -- statistics and formatting --------------------------------------------------------------------
def p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def fmt_seconds(value):
    if value >= 1:
        return "%.2f s" % value
    if value >= 0.01:
        return "%.1f ms" % (value * 1000)
    return "%.2f ms" % (value * 1000)


def fmt_mb(kb):
    return None if kb is None else "%.2f MB" % (kb / 1024.0)


# -- the supervisors ------------------------------------------------------------------------------
class Failed(Exception):
    """A figure could not be measured for one implementation (the text goes in its cell)."""


class Supervisor:
    """One implementation: writes a tree of ``count`` services and runs it in a new session."""

    key = label = ""
    depth = 1  # where the service processes are: 1 = children of the supervisor, 2 = grandchildren

    def __init__(self, scratch):
        self.scratch = scratch
        self.proc = None
        self.log = None
        self.services = []

    def missing(self):
        """None when installed, else what is missing."""
        for path in self.binaries():
            if not os.access(path, os.X_OK):
                return "%s: %s" % (NOT_INSTALLED, path)
        return None

    def binaries(self):
        raise NotImplementedError

    # tree and process
    def prepare(self, name, count, logged=False):
        raise NotImplementedError

    def argv(self):
        raise NotImplementedError

    def launch(self, name):
        self.log = self.scratch / ("%s-%s.log" % (self.key, name))
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=str(self.scratch))
        LAUNCHED.append(self)

    def log_tail(self, lines=3):
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except (OSError, AttributeError):
            return ""
        return " | ".join(text[-lines:])

    def stop(self):
        """SIGKILL every process of the supervisor's session; reap what comes back to us."""
        if self.proc is None:
            return
        sid = self.proc.pid
        deadline = time.monotonic() + 15
        try:
            self.proc.kill()
        except OSError:
            pass
        while True:
            members = session_members(sid)
            live = [pid for pid, (state, ppid) in members.items()
                    if state != "Z" or ppid in (os.getpid(), sid) or ppid in members]
            for pid, (state, _ppid) in members.items():
                if state != "Z":
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            try:
                self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
            reap_orphans()
            if not live and self.proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                print("warning: %s: processes left in session %d: %s"
                      % (self.label, sid, sorted(live)), file=sys.stderr)
                break
            time.sleep(0.02)
        if self in LAUNCHED:
            LAUNCHED.remove(self)
        self.proc = None

    # what the bench looks at
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def service_pairs(self):
        """(parent, pid) for every running service process."""
        top = self.proc.pid
        parents = [top] if self.depth == 1 else children(top)
        return [(parent, pid) for parent in parents for pid in children(parent)
                if comm(pid) == SLEEP]

    def status_argv(self):
        return None

    def link(self, index):
        """Bring one new service in; returns the time its link/update started."""
        raise NotImplementedError


class Runit(Supervisor):
    """runit-style tree: one directory per service, scanned by a runsvdir."""

    svlogd = None  # the svlogd a logged service's log/run names

    def prepare(self, name, count, logged=False):
        self.tree = self.scratch / ("%s-%s" % (self.key, name))
        self.staging = self.scratch / ("%s-%s.staging" % (self.key, name))
        self.tree.mkdir()
        self.staging.mkdir()
        self.services = [self.write_service(self.tree, "s%04d" % i,
                                            self.svlogd if logged else None)
                         for i in range(count)]

    @staticmethod
    def write_service(parent, name, svlogd=None):
        service = parent / name
        service.mkdir()
        (service / "run").write_text(RUN_SCRIPT)
        (service / "run").chmod(0o755)
        if svlogd is not None:
            (service / "log" / "main").mkdir(parents=True)
            (service / "log" / "run").write_text(LOG_RUN.format(svlogd=svlogd))
            (service / "log" / "run").chmod(0o755)
        return service

    def status_argv(self):
        return [self.sv] + ["status"] + [str(path) for path in self.services]

    def link(self, index):
        name = "link%d" % index
        prepared = self.write_service(self.staging, name)
        started = time.perf_counter()
        os.rename(str(prepared), str(self.tree / name))
        return started


class CRunit(Runit):
    key, label, depth = "c", "C runit", 2
    sv = C_SV
    svlogd = C_SVLOGD

    def binaries(self):
        return (C_RUNSVDIR, C_RUNSV, C_SV)

    def argv(self):
        return [C_RUNSVDIR, str(self.tree)]


class Ours(Runit):
    key, label, depth = "ours", "ours", 1
    sv = str(VENV_BIN / "sv")
    svlogd = str(VENV_BIN / "svlogd")

    def binaries(self):
        return (str(VENV_BIN / "runsvdir"), self.sv)

    def argv(self):
        return [str(VENV_BIN / "runsvdir"), str(self.tree)]


class OursInCgroups(Ours):
    """Ours with a cgroup per service: each service directory has the ``cgroup`` file render
    writes for ``resources`` (``CGROUP_FILE``), and the runsvdir starts in a fresh child of a
    delegated cgroup v2 (``--cgroup``), which it divides into its own leaf and the services'."""
    key, label = "ours-cgroup", "ours, a cgroup each"

    def __init__(self, scratch, parent):
        super().__init__(scratch)
        self.parent, self.cgroup = Path(parent), None

    def prepare(self, name, count, logged=False):
        super().prepare(name, count, logged)
        for service in self.services:
            (service / "cgroup").write_text(CGROUP_FILE)

    def argv(self):
        self.cgroup = Path(tempfile.mkdtemp(prefix="bench-tree-", dir=str(self.parent)))
        self.cgroup.chmod(0o755)
        return ["sh", "-c", 'echo $$ >"$0/cgroup.procs" && exec "$@"',
                str(self.cgroup)] + super().argv()

    def stop(self):
        super().stop()
        if self.cgroup is not None:
            remove_cgroup(self.cgroup)
            self.cgroup = None


def remove_cgroup(cgroup, seconds=30):
    """Every process left in ``cgroup`` and below killed (cgroup.kill), then the cgroups
    removed, the deepest first."""
    (cgroup / "cgroup.kill").write_text("1")
    deadline = time.monotonic() + seconds
    while "populated 1" in (cgroup / "cgroup.events").read_text().splitlines():
        if time.monotonic() > deadline:
            raise Failed("%s still holds processes %d s after cgroup.kill" % (cgroup, seconds))
        time.sleep(0.05)
    if not remove_cgroup_tree(str(cgroup)):  # the runtime's walk: as deep as a user made it
        raise Failed("%s: not every cgroup below it could be removed" % cgroup)


SUPERVISORD_CONF = """\
[unix_http_server]
file={dir}/supervisor.sock
chmod=0700

[supervisord]
nodaemon=true
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={dir}
loglevel=warn
minfds=4096

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{dir}/supervisor.sock

[include]
files = {dir}/conf.d/*.conf
"""

PROGRAM = """
[program:{name}]
command=sleep 100000
autostart=true
autorestart=true
startsecs=0
stdout_logfile={log}
stderr_logfile=NONE
"""


class Supervisord(Supervisor):
    key, label, depth = "supervisord", "supervisord", 1

    def binaries(self):
        return (SUPERVISORD, SUPERVISORCTL)

    def prepare(self, name, count, logged=False):
        self.dir = self.scratch / ("%s-%s" % (self.key, name))
        (self.dir / "conf.d").mkdir(parents=True)
        self.conf = self.dir / "supervisord.conf"
        names = ["s%04d" % i for i in range(count)]
        # logged: supervisord's own capture into a rotated file per program (its defaults:
        # 50 MB, 10 backups), its equivalent of a svlogd per service
        self.conf.write_text(SUPERVISORD_CONF.format(dir=self.dir) + "".join(
            PROGRAM.format(name=n, log=(self.dir / (n + ".log")) if logged else "NONE")
            for n in names))
        self.services = names

    def argv(self):
        return [SUPERVISORD, "-n", "-c", str(self.conf)]

    def status_argv(self):
        return [SUPERVISORCTL, "-c", str(self.conf), "status"]

    def link(self, index):
        name = "link%d" % index
        (self.dir / "conf.d" / (name + ".conf")).write_text(PROGRAM.format(name=name,
                                                                           log="NONE"))
        started = time.perf_counter()
        result = subprocess.run([SUPERVISORCTL, "-c", str(self.conf), "update"],
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0 or name not in result.stdout:
            raise Failed("supervisorctl update: rc=%d %s" % (result.returncode,
                                                             result.stdout.strip()))
        return started


LAUNCHED = []  # supervisors whose session is still to be ended


# -- measurements ---------------------------------------------------------------------------------
class Census:
    """Counts running services cheaply: a pid found as ``sleep`` is not looked at again."""

    def __init__(self, sup):
        self.sup = sup
        self.found = set()
        self.done_parents = set()

    def count(self):
        top = self.sup.proc.pid
        if self.sup.depth == 1:
            for pid in children(top):
                if pid not in self.found and comm(pid) == SLEEP:
                    self.found.add(pid)
        else:
            for parent in children(top):
                if parent in self.done_parents:
                    continue
                for pid in children(parent):
                    if comm(pid) == SLEEP:
                        self.found.add(pid)
                        self.done_parents.add(parent)
        return len(self.found)


def wait_running(sup, count, started, poll=START_POLL, timeout=RUNNING_TIMEOUT):
    """Seconds from ``started`` (perf_counter) until ``count`` services run."""
    census = Census(sup)
    deadline = started + timeout
    while True:
        before = time.perf_counter()
        seen = census.count()
        now = time.perf_counter()
        if seen >= count:
            return now - started
        if not sup.alive():
            raise Failed("supervisor exited (rc %s) with %d/%d running; log: %s"
                         % (sup.proc.returncode, seen, count, sup.log_tail()))
        if now > deadline:
            raise Failed("%d/%d running after %.0f s; log: %s"
                         % (seen, count, timeout, sup.log_tail()))
        time.sleep(max(poll, 2 * (now - before)))  # keep the poller off the supervisor's CPU


def past_its_second(tree):
    """Wait until the clock's second is past the tree's mtime: the C runsvdir, finding its
    directory modified in the current second, sleeps 1 s before its scan (a change may still
    be under way) — a sleep the bench's just-written tree would add to the C runit's start,
    and that a host's boot does not see."""
    mtime = int(os.stat(str(tree)).st_mtime)
    while int(time.time()) <= mtime:
        time.sleep(0.01)


def start_tree(sup, name, count, logged=False):
    """Launch a tree of ``count`` services; seconds until all run. Stopped again on failure."""
    sup.prepare(name, count, logged)
    if isinstance(sup, Runit):
        past_its_second(sup.tree)
    started = time.perf_counter()
    sup.launch(name)
    try:
        return wait_running(sup, count, started)
    except BaseException:
        sup.stop()
        raise


def measure_memory(sup):
    pids = supervision_pids(sup.proc.pid)
    total = {"pss": 0, "uss": 0, "rss": 0}
    for pid in pids:
        for key, value in memory_kb(pid).items():
            total[key] += value
    total["alone"] = alone_pss_kb(pids)
    total["processes"] = len(pids)
    total["fds"] = sum(open_fds(pid) for pid in pids)
    return total


def wait_for_child(parent, before, deadline, poll=RESPAWN_POLL):
    """First child of ``parent`` not in ``before``: (pid, perf_counter when seen)."""
    while True:
        fresh = [pid for pid in children(parent) if pid not in before]
        now = time.perf_counter()
        if fresh:
            return fresh[0], now
        if now > deadline:
            raise Failed("no new child of %d" % parent)
        time.sleep(poll)


def wait_for_sleep(pid, deadline, poll=RESPAWN_POLL):
    while True:
        name = comm(pid)
        now = time.perf_counter()
        if name == SLEEP:
            return now
        if name is None or now > deadline:
            raise Failed("child %d never became sleep (comm %r)" % (pid, name))
        time.sleep(poll)


def measure_respawn(sup, samples):
    pairs = sorted(sup.service_pairs())
    if len(pairs) < samples:
        raise Failed("only %d services running" % len(pairs))
    forked, execed = [], []
    for parent, victim in pairs[:samples]:  # a different service each time: all lived > 1 s
        before = set(children(parent))
        started = time.perf_counter()
        os.kill(victim, signal.SIGKILL)
        deadline = started + 5
        new, seen = wait_for_child(parent, before, deadline)
        forked.append(seen - started)
        execed.append(wait_for_sleep(new, deadline) - started)
        time.sleep(0.05)
    return forked, execed


def find_new_service(sup, before, deadline, poll=0.001):
    """Perf_counter when a new ``sleep`` shows up under the supervisor (depth 1 or 2)."""
    top = sup.proc.pid
    while True:
        for pid in children(top):
            if pid in before:
                continue
            candidates = [pid] if sup.depth == 1 else children(pid)
            if any(comm(child) == SLEEP for child in candidates):
                return time.perf_counter()
        if time.perf_counter() > deadline:
            raise Failed("linked service not running after %.0f s; log: %s"
                         % (LINK_TIMEOUT, sup.log_tail()))
        time.sleep(poll)


def link_gaps(samples):
    """Pauses before each link: a quiet spell, then phases spread evenly over the C runsvdir's
    5 s check period (back-to-back links would ride its 1 s re-check cadence after a change)."""
    return [LINK_QUIET + LINK_PERIOD * (k + 0.5) / samples for k in range(samples)]


def measure_link(sup, samples):
    latencies = []
    for index, gap in enumerate(link_gaps(samples)):
        time.sleep(gap)
        before = set(children(sup.proc.pid))
        started = sup.link(index)
        latencies.append(find_new_service(sup, before, started + LINK_TIMEOUT) - started)
    return latencies


def measure_status(sup, runs):
    argv = sup.status_argv()
    times = []
    for _ in range(runs + 1):  # the first run warms the page cache (and writes bytecode)
        started = time.perf_counter()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        times.append(time.perf_counter() - started)
        running = sum(1 for line in result.stdout.splitlines()
                      if line.startswith("run: ") or " RUNNING " in line)
        if running < len(sup.services):
            raise Failed("status saw %d/%d running (rc %d): %s"
                         % (running, len(sup.services), result.returncode,
                            (result.stderr or result.stdout).strip()[:200]))
    return statistics.median(times[1:])


def compatibility(sup):
    """The C sv reading our tree's supervise/ files: how many services it sees running."""
    result = subprocess.run([C_SV, "status"] + [str(path) for path in sup.services],
                            capture_output=True, text=True, timeout=60)
    running = sum(1 for line in result.stdout.splitlines() if line.startswith("run: "))
    return "C sv status on our tree: %d/%d services \"run:\" (rc %d)" % (
        running, len(sup.services), result.returncode)


def measure_idle(sups, window):
    """Per supervisor: voluntary context switches of its processes over ``window`` seconds
    (or a failure text when one of them went away meanwhile)."""
    before = {sup.key: {pid: voluntary_switches(pid) for pid in supervision_pids(sup.proc.pid)}
              for sup in sups}
    time.sleep(window)
    growth = {}
    for sup in sups:
        counts = [(count, voluntary_switches(pid)) for pid, count in before[sup.key].items()]
        if any(old is None or new is None for old, new in counts):
            growth[sup.key] = "failed: a supervision process went away during the idle window"
        else:
            growth[sup.key] = sum(new - old for old, new in counts)
    return growth


# -- phases ---------------------------------------------------------------------------------------
class Results:
    def __init__(self):
        self.values = {}  # (figure, key) -> value or Failed text
        self.notes = []

    def set(self, figure, key, value):
        self.values[(figure, key)] = value

    def get(self, figure, key):
        return self.values.get((figure, key))

    def attempt(self, figures, key, function):
        """Run ``function``; on Failed (or any error) put its text in every figure's cell."""
        try:
            return function()
        except Failed as exc:
            text = "failed: %s" % exc
        except Exception as exc:  # one implementation's trouble must not sink the others
            text = "error: %s: %s" % (type(exc).__name__, exc)
        self.notes.append("%s (%s): %s" % (key, ", ".join(figures), text))
        short = text.split(";")[0].replace("|", "/")
        for figure in figures:
            self.set(figure, key, short if len(short) <= 80 else short[:77] + "...")
        return None


def phase_memory(sups, cfg, results, logged=False):
    """100 services (each with a logger when ``logged``), one supervisor at a time: memory
    after settling. Loggers count as supervision processes (svlogd under the C runit)."""
    pss, uss = ("pss_logged", "uss_logged") if logged else ("pss", "uss")
    what = "logged services" if logged else "services"
    for sup in sups:
        def run():
            try:
                start_tree(sup, "memory-logged" if logged else "memory", cfg["services"],
                           logged)
                time.sleep(cfg["settle"])
                memory = measure_memory(sup)
            finally:
                sup.stop()
            results.set(pss, sup.key, memory["pss"])
            results.set(uss, sup.key, memory["uss"])
            results.set(pss + "_alone", sup.key, memory["alone"])
            results.notes.append("%s, %d %s: %d supervision process(es), PSS %s (alone %s), "
                                 "USS %s, RSS %s, %d open fds"
                                 % (sup.label, cfg["services"], what, memory["processes"],
                                    fmt_mb(memory["pss"]), fmt_mb(memory["alone"]),
                                    fmt_mb(memory["uss"]), fmt_mb(memory["rss"]),
                                    memory["fds"]))
        results.attempt((pss, uss, pss + "_alone"), sup.key, run)


def phase_idle_and_latency(sups, cfg, results):
    """All trees up together: idle window first, then status, respawn and link one at a time."""
    running = []
    try:
        for sup in sups:
            if results.attempt(("idle", "status", "link") + RESPAWN_FIGURES, sup.key,
                               lambda: start_tree(sup, "tree", cfg["services"])) is not None:
                running.append(sup)
        if running:
            time.sleep(cfg["settle"])
            for key, growth in measure_idle(running, cfg["idle"]).items():
                results.set("idle", key, growth)
        for sup in running:
            status = results.attempt(("status",), sup.key,
                                     lambda: measure_status(sup, cfg["status_runs"]))
            if status is not None:
                results.set("status", sup.key, status)
            if isinstance(sup, Ours) and os.access(C_SV, os.X_OK):
                results.notes.append(compatibility(sup))
            samples = results.attempt(RESPAWN_FIGURES, sup.key,
                                      lambda: measure_respawn(sup, cfg["respawn"]))
            if samples is not None:
                forked, execed = samples
                results.set("respawn_fork_p50", sup.key, statistics.median(forked))
                results.set("respawn_fork_p90", sup.key, p90(forked))
                results.set("respawn_exec_p50", sup.key, statistics.median(execed))
                results.set("respawn_exec_p90", sup.key, p90(execed))
            latencies = results.attempt(("link",), sup.key,
                                        lambda: measure_link(sup, cfg["link"]))
            if latencies is not None:
                results.set("link", sup.key, statistics.median(latencies))
                results.notes.append("%s link → running samples: %s" % (
                    sup.label, ", ".join(fmt_seconds(value) for value in latencies)))
            if not sup.alive():
                results.notes.append("%s: the supervisor exited during the latency phase "
                                     "(rc %s); log: %s" % (sup.label, sup.proc.returncode,
                                                           sup.log_tail()))
    finally:
        for sup in running:
            sup.stop()


def phase_start(sups, cfg, results):
    """1000 services, one supervisor at a time: start time, memory and status at scale."""
    for sup in sups:
        def run():
            try:
                elapsed = start_tree(sup, "start", cfg["start"])
                results.set("start", sup.key, elapsed)
                time.sleep(1.0)
                memory = measure_memory(sup)
                results.set("pss_start", sup.key, memory["pss"])
                results.notes.append("%s, %d services: %d supervision process(es), PSS %s, "
                                     "%d open fds" % (sup.label, cfg["start"],
                                                      memory["processes"],
                                                      fmt_mb(memory["pss"]), memory["fds"]))
                status = results.attempt(("status_start",), sup.key,
                                         lambda: measure_status(sup, cfg["status_runs"]))
                if status is not None:
                    results.set("status_start", sup.key, status)
            finally:
                sup.stop()
        results.attempt(("start", "pss_start", "status_start"), sup.key, run)


# -- report ---------------------------------------------------------------------------------------
def rows(cfg):
    n, big, idle = cfg["services"], cfg["start"], cfg["idle"]
    ms10 = ("≤ 10 ms p90", lambda v: v <= 0.010)
    return [
        ("pss_logged", "a. memory, sum of PSS, %d services each with a svlogd" % n, fmt_mb,
         "≤ 20 MB", lambda v: v <= 20 * 1024),
        ("uss_logged", "a'. memory, sum of USS (private), %d logged services" % n, fmt_mb,
         "—", None),
        ("pss_logged_alone", "a\". the same, as if alone: PSS shared only within the tree",
         fmt_mb, "—", None),
        ("pss", "a. memory, sum of PSS, %d plain services" % n, fmt_mb, "—", None),
        ("pss_alone", "a\". the same, as if alone", fmt_mb, "—", None),
        ("uss", "a'. memory, sum of USS (private), %d plain services" % n, fmt_mb, "—", None),
        ("start", "b. start %d services → all running" % big, fmt_seconds, "≤ 3 s (1000)",
         lambda v: v <= 3.0),
        ("respawn_fork_p50", "c. respawn after SIGKILL, new child forked, p50", fmt_seconds,
         "—", None),
        ("respawn_fork_p90", "c. respawn after SIGKILL, new child forked, p90", fmt_seconds)
        + ms10,
        ("respawn_exec_p50", "c. respawn after SIGKILL, sleep exec'd, p50", fmt_seconds, "—",
         None),
        ("respawn_exec_p90", "c. respawn after SIGKILL, sleep exec'd, p90", fmt_seconds) + ms10,
        ("idle", "d. idle wakeups, %d services, %g s" % (n, idle), lambda v: "%d" % v, "0",
         lambda v: v == 0),
        ("link", "e. link → running, median of %d" % cfg["link"], fmt_seconds, "≤ 1 s",
         lambda v: v <= 1.0),
        ("status", "f. status of all %d services, median" % n, fmt_seconds, "—", None),
        ("status_start", "f. status of all %d services, median" % big, fmt_seconds, "—", None),
        ("pss_start", "memory, sum of PSS, %d services" % big, fmt_mb, "—", None),
    ]


def ratio(ours, other):
    if not isinstance(ours, (int, float)) or not isinstance(other, (int, float)) or other == 0:
        return "—"
    value = ours / other
    return "%.2f×" % value if value >= 0.1 or value == 0 else "%.2g×" % value


def table(results, cfg, keys):
    lines = ["| figure | C runit | supervisord | ours | ours/C | ours/supervisord | "
             "SPEC budget | met? |", "|---|---|---|---|---|---|---|---|"]
    for figure, title, fmt, budget, check in rows(cfg):
        cells = []
        for key in keys:
            value = results.get(figure, key)
            if isinstance(value, (int, float)):
                text = fmt(value)
                if figure == "link" and key == "supervisord":
                    text += " (supervisorctl update)"
                if figure.startswith("status") and key != "supervisord":
                    text += " (%s sv)" % ("C" if key == "c" else "our")
                if figure.startswith("status") and key == "supervisord":
                    text += " (supervisorctl status)"
                cells.append(text)
            else:
                cells.append(value or "—")
        ours = results.get(figure, "ours")
        met = "—"
        if check is not None:
            met = ("yes" if check(ours) else "NO") if isinstance(ours, (int, float)) else "NO"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            title, cells[0], cells[1], cells[2], ratio(ours, results.get(figure, "c")),
            ratio(ours, results.get(figure, "supervisord")), budget, met))
    return "\n".join(lines)


def versions():
    def dpkg(package):
        try:
            out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                                 capture_output=True, text=True, timeout=10)
            return out.stdout.strip() or "?"
        except (OSError, subprocess.SubprocessError):
            return "?"
    python = VENV_BIN / "python"
    ours_python = subprocess.run([str(python), "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True).stdout.strip() \
        if python.exists() else "?"
    return "C runit %s (Debian), supervisor %s (Debian), ours on CPython %s; %d CPUs" % (
        dpkg("runit"), dpkg("supervisor"), ours_python, os.cpu_count() or 0)


METHOD = """\
Method (details in the docstring of bench/tree.py):
- a: sum of PSS / USS from /proc/PID/smaps_rollup of every non-sleep process of the supervisor's
  session ({services} services, {settle:g} s after all were running), one supervisor at a time;
  a": the same processes' pages from /proc/PID/pagemap, shared only among themselves.
- b: from just before launching the supervisor until a `sleep` child (C: grandchild, under its
  runsv) exists for every service; /proc polled every ≥ 20 ms; launched once the clock's second
  is past the tree's mtime (the C runsvdir sleeps 1 s on a directory changed this second).
- c: SIGKILL of a service that lived > 1 s, then the parent's /proc/P/task/P/children polled every
  0.5 ms; {respawn} samples, a different service each.
- d: growth of voluntary_ctxt_switches of the supervision processes over {idle:g} s, the three trees
  idling side by side.
- e: rename(2) of a prepared service directory into the scanned directory (supervisord: new
  conf.d/*.conf + `supervisorctl update`, timed from the call) until its `sleep` runs; links
  spaced 1.5 s + (k + 0.5)/{link} × 5 s apart, so their phases cover C runsvdir's 5 s period.
- f: one `sv status DIR...` / `supervisorctl status` over all services, after a warm-up run.
- supervisord: startsecs=0 (RUNNING at spawn, so a kill after 1 s never lands in STARTING and
  BACKOFF), autorestart=true, output NONE (logged: a file), loglevel=warn, unix socket only,
  nodaemon.
- logged: log/run `exec svlogd -tt ./main` per service (C: /usr/bin/svlogd, a process each;
  ours: hosted in the tree); supervisord: stdout_logfile per program."""


def parse_args(argv):
    cfg = dict(FULL, quick=False, start_rounds=0, scratch=None, cgroup=None, rounds=3)
    out = None
    given = {}
    while argv:
        flag = argv.pop(0)
        if flag == "--quick":
            cfg.update(QUICK, quick=True)
        elif flag == "--idle" and argv:
            given["idle"] = float(argv.pop(0))
        elif flag == "--json" and argv:
            out = argv.pop(0)
        elif flag == "--start" and argv:
            given["start"] = int(argv.pop(0))
        elif flag == "--rounds" and argv:
            cfg["rounds"] = int(argv.pop(0))
        elif flag == "--start-rounds" and argv:
            cfg["start_rounds"] = int(argv.pop(0))
        elif flag == "--scratch" and argv:
            cfg["scratch"] = argv.pop(0)
        elif flag == "--cgroup":
            cfg["cgroup"] = argv.pop(0) if argv and not argv[0].startswith("--") else \
                os.environ.get("RUNIT_PROVISION_VM_CGROUP") or None
            if cfg["cgroup"] is None:
                raise SystemExit("--cgroup: name a delegated cgroup v2 directory (in the VM "
                                 "tier: $RUNIT_PROVISION_VM_CGROUP, taken when none is named)")
        else:
            raise SystemExit(" ".join(__doc__.strip().split("Usage: ")[-1].split()))
    cfg.update(given)
    return cfg, out


def tree_cpu_seconds(top):
    """CPU seconds of ``top`` and every process below it, (supervision, services): the
    services are the ``sleep``s (/proc/PID/schedstat, in ns: a short-lived runsv's few
    hundred µs count)."""
    total, todo = [0, 0], [top]
    while todo:
        pid = todo.pop()
        todo.extend(children(pid))
        data = read_or_none("/proc/%d/schedstat" % pid)
        if data:
            total[comm(pid) == SLEEP] += int(data.split()[0])
    return total[0] / 1e9, total[1] / 1e9


def filesystem_of(path):
    """The type of the filesystem ``path`` is on (/proc/self/mounts: the longest prefix)."""
    best, kind = "", "?"
    for line in (read_or_none("/proc/self/mounts") or b"").decode().splitlines():
        fields = line.split()
        if len(fields) > 2 and (path + "/").startswith(fields[1].rstrip("/") + "/") \
                and len(fields[1]) >= len(best):
            best, kind = fields[1], fields[2]
    return kind


def start_rounds(sups, cfg, scratch):
    """Figure b alone, ``cfg["start_rounds"]`` times, the implementations alternated."""
    seen = {sup.key: [] for sup in sups}
    print("# start of %d services, %d rounds, scratch %s (%s); load %s"
          % (cfg["start"], cfg["start_rounds"], scratch, filesystem_of(str(scratch)),
             " ".join((read_or_none("/proc/loadavg") or b"").decode().split()[:3])))
    for number in range(cfg["start_rounds"]):
        for sup in (sups if number % 2 == 0 else sups[::-1]):
            elapsed = start_tree(sup, "start%d" % number, cfg["start"])
            cpu = tree_cpu_seconds(sup.proc.pid)
            sup.stop()
            shutil.rmtree(str(sup.tree), ignore_errors=True)
            shutil.rmtree(str(sup.staging), ignore_errors=True)
            seen[sup.key].append(elapsed)
            print("round %d %-8s %.3f s; CPU: supervision %.2f s, services %.2f s"
                  % (number + 1, sup.key, elapsed, cpu[0], cpu[1]))
    for sup in sups:
        print("%-8s median %.3f s (%.3f-%.3f)" % (sup.key, statistics.median(seen[sup.key]),
                                                  min(seen[sup.key]), max(seen[sup.key])))
    print("load after: %s" % " ".join((read_or_none("/proc/loadavg") or b"").decode().split()[:3]))


def cgroup_memory(cfg, scratch):
    """Figure a with logged services, ``cfg["rounds"]`` times each, alternated: the C runit,
    ours and ours with a cgroup per service (``OursInCgroups``), after a start of one service
    of each of ours; one line each, then the medians."""
    sups = [sup for sup in (CRunit(scratch), Ours(scratch),
                            OursInCgroups(scratch, cfg["cgroup"])) if not sup.missing()]
    print("# memory of %d logged services with and without a cgroup each, %d rounds; %s"
          % (cfg["services"], cfg["rounds"], versions()))
    # one service of each of ours first, not counted: where the checkout has no bytecode yet
    # (the VM tier's copy), the first start compiles it
    for sup in [sup for sup in sups if isinstance(sup, Ours)]:
        try:
            start_tree(sup, "warm-up", 1, logged=True)
        finally:
            sup.stop()
    seen = {sup.key: [] for sup in sups}
    for number in range(cfg["rounds"]):
        for sup in (sups if number % 2 == 0 else sups[::-1]):
            try:
                start_tree(sup, "cgroup%d" % number, cfg["services"], logged=True)
                time.sleep(cfg["settle"])
                memory = measure_memory(sup)
            finally:
                sup.stop()
            seen[sup.key].append(memory)
            print("round %d %-12s %d processes, PSS %s, USS %s" % (
                number + 1, sup.key, memory["processes"], fmt_mb(memory["pss"]),
                fmt_mb(memory["uss"])))
    for sup in sups:
        print("%-12s PSS %s, USS %s (medians)" % (sup.key, *(
            fmt_mb(statistics.median(memory[key] for memory in seen[sup.key]))
            for key in ("pss", "uss"))))
    return 0


@contextlib.contextmanager
def cleaned_up(scratch):
    """Every supervisor still running stopped, orphans reaped, the scratch removed."""
    try:
        yield
    finally:
        for sup in list(LAUNCHED):
            sup.stop()
        reap_orphans()
        shutil.rmtree(str(scratch), ignore_errors=True)


def main(argv=None):
    cfg, out = parse_args(sys.argv[1:] if argv is None else list(argv))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    if not become_subreaper():
        print("warning: not a child subreaper; orphans go to init", file=sys.stderr)
    scratch = Path(tempfile.mkdtemp(prefix="bench-tree.", dir=cfg["scratch"]))
    if cfg["cgroup"]:
        with cleaned_up(scratch):
            return cgroup_memory(cfg, scratch)
    if cfg["start_rounds"]:
        present = [sup for sup in (CRunit(scratch), Ours(scratch)) if not sup.missing()]
        with cleaned_up(scratch):
            start_rounds(present, cfg, scratch)
        return 0
    results = Results()
    every = [CRunit(scratch), Supervisord(scratch), Ours(scratch)]
    keys = [sup.key for sup in every]
    present = []
    for sup in every:
        reason = sup.missing()
        if reason:
            for figure, *_ in rows(cfg):
                results.set(figure, sup.key, NOT_INSTALLED)
            results.notes.append("%s: %s" % (sup.label, reason))
        else:
            present.append(sup)
    started = time.monotonic()
    with cleaned_up(scratch):
        phase_memory(present, cfg, results, logged=True)
        phase_memory(present, cfg, results)
        phase_idle_and_latency(present, cfg, results)
        phase_start(present, cfg, results)
    print("# tree bench%s: %s" % (" (--quick: reduced counts, budgets not comparable)"
                                  if cfg["quick"] else "", versions()))
    print()
    print(table(results, cfg, keys))
    print()
    print(METHOD.format(**cfg))
    print("\nNotes:")
    for note in results.notes:
        print("- " + note)
    print("- wall time of the bench: %.0f s" % (time.monotonic() - started))
    if out:
        Path(out).write_text(json.dumps(
            {"config": cfg, "results": [{"figure": figure, "impl": key, "value": value}
                                        for (figure, key), value in results.values.items()]},
            indent=2) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; every process the bench started has been ended", file=sys.stderr)
        sys.exit(130)
