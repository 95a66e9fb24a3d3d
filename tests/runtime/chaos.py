"""A chaos soak: a tree of logged services under fire, then an account of what it survived.

Twenty services, rendered by ``runit-provision apply`` and supervised by a runsvdir that a
runsv keeps running (runit's stage 2), and four more in a user's tree (``runsvdir-nobody``,
where ``/usr/bin/python3`` can run them as the user), write numbered lines as fast as asked. A
driver, for a given time, every 50–500 ms does one of: ``kill -9`` of the tree, of the tree's
logger host, of a user's logger host, of a log pipe keeper, of the user's tree, of a service,
of a ``./finish``; an ``sv`` command; an apply of changed data (an environment value: a
restart; a log prefix: a HUP). Then it stops, lets the tree settle and checks:

- every service is up, exactly one instance of each (no orphan), no ``./finish`` left, one
  pipe keeper (ours), that of the tree: none left behind by a killed tree;
- no service ever ran twice at once: each writer holds a lock for its life, and one that
  finds it held says so (``violations``);
- no line lost: every writer instance's lines ``NAME:PID:SEQ;`` are all in the logs, from 0
  to its last (repeats are counted: a kill between a logger's write and its consume may
  write a chunk twice, by design); some writers stop in the middle of a line for 60 ms;
  those of writers killed while no supervisor ran are counted apart;
- the tally's deaths of each service equal the kills of its ``./run`` (ours);
- the tree's RSS and descriptors, sampled each second, are flat.

Beside them, two jobs (docs/jobs.md), each run a small script (``JOB``) that takes a lock
for its life (a second run at once says so: ``overlap``) and appends a line at its start and
one at its end to ``locks/NAME.runs``:

- ``tmr``, a timer every 2 s (``*:*:0/2``, ``persistent: true``) whose runs take 0.2–3 s at
  random, so that many outlast the next elapse. Each run records the elapse it was started
  for, read from ``supervise/timer`` (``elapse=``, and ``missed=``): both waiters write that
  record before they start the job. The account, over the elapses E of the schedule after
  the first run's elapse and up to the last run's: **double** — an elapse with two runs or
  more; **lost** — an E with no run that is neither *skipped* (a run was under way at E:
  started for an earlier elapse and ended no more than ``SKIP_SLACK`` s before E, the
  ``./finish`` after it; or not ended at all) nor *collapsed* (the first run started after
  E is a persistent catch-up, ``missed=1``: E passed while the tree was down, and every
  elapse missed so runs once, for the latest; or it is a run for an elapse before E that
  started after E: it was due while the last run's ``./finish`` held the side, and the
  elapses that passed until it started are counted skipped). Both must be 0.
- ``one``, a one-shot the driver runs again with ``sv once`` now and then (only when its
  status says down, and counted only when sv took the command); the account: no two runs at
  once (``overlap``), and each ``once`` a run — a run started within ``ONCE_WITHIN`` s of it
  and not matched to an earlier ``once`` (``onces_unmatched``).

The driver's faults include a ``kill -9`` of the tree aimed at just before an elapse of the
timer (0–50 ms).

The same driver runs against the C runit (``impl="c"``: runsvdir, a runsv per service,
svlogd processes, ``runtime: system``), where the same faults apply, for comparison: there a
killed runsv is the tree's analogue. Used by ``tests/runtime/test_chaos.py`` (a short run)
and ``bench/chaos.py`` (the long one, figures in docs/reliability.md).
"""

import collections
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from runit_provision.runtime.supervision.loggers.pipekeeper import (
    GRACE_SECONDS as KEEPER_GRACE_SECONDS)

from ..conftest import our_tool
from ..security.sandbox import Namespace
from .processes import (BASE_PATH, children_of, cmdline, comm, descendants, instances,
                        is_runsv_up, kill_if_under, kill_pids, pipe_keepers_of, proc_status,
                        process_group_members, processes_under, status_record, wait_until)

NOBODY = "nobody"
# The users' writers run as NOBODY: the interpreter must be one they may run (a virtualenv's
# may live under /root).
USER_PYTHON = "/usr/bin/python3"
WRITER = r'''
import fcntl, os, signal, sys, time
name, locks, rate, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "pause"
signal.signal(signal.SIGHUP, signal.SIG_IGN)
lock = os.open(os.path.join(locks, name), os.O_RDWR | os.O_CREAT, 0o600)
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    with open(os.path.join(locks, "violations"), "a") as out:
        out.write("%s %d\n" % (name, os.getpid()))
    fcntl.flock(lock, fcntl.LOCK_EX)
head = b"%s:%d:" % (name.encode(), os.getpid())
# What this instance has written, after each write: lines up to it must all be logged.
progress = os.open(os.path.join(locks, "%s.%d" % (name, os.getpid())),
                   os.O_WRONLY | os.O_CREAT, 0o600)
burst, seq, stop = max(1, rate // 100), 0, os.path.join(locks, "stop")
while not os.path.exists(stop):
    if pause and (seq // burst) % 5 == 0:
        line = head + b"%d;\n" % seq
        os.write(1, line[:len(line) // 2])
        time.sleep(0.06)   # longer than a logger waits for the rest of a line
        os.write(1, line[len(line) // 2:])
        os.pwrite(progress, b"%12d\n" % seq, 0)
        seq += 1
    os.write(1, b"".join(head + b"%d;\n" % n for n in range(seq, seq + burst)))
    seq += burst
    os.pwrite(progress, b"%12d\n" % (seq - 1), 0)
    time.sleep(0.01)
os.write(1, head + b"end;\n")
signal.pause()
'''
JOB = r'''
import fcntl, os, random, sys, time
locks, name = sys.argv[1], sys.argv[2]
lock = os.open(os.path.join(locks, name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    overlap = 0
except BlockingIOError:
    overlap = 1
words = {}
if name == "tmr":  # the elapse this run was started for: the waiter's record, written before
    with open("supervise/timer") as record:
        words = dict(w.split("=", 1) for w in record.read().split() if "=" in w)
runs = os.open(os.path.join(locks, name + ".runs"), os.O_WRONLY | os.O_APPEND | os.O_CREAT,
               0o600)
os.write(runs, b"start %d %s %s %.6f %d\n" % (os.getpid(), words.get("elapse", "-").encode(),
                                              words.get("missed", "-").encode(), time.time(),
                                              overlap))
time.sleep(random.uniform(0.2, 3.0) if name == "tmr" else random.uniform(0.2, 1.0))
os.write(runs, b"end %d %.6f\n" % (os.getpid(), time.time()))
'''
JOBS = ("tmr", "one")
TIMER_EVERY = 2       # seconds between the timer's elapses (*:*:0/2)
SKIP_SLACK = 1.0      # s after a run's end that its ./finish may still hold the service
ONCE_WITHIN = 15.0    # s from an sv once to the run it starts
LINE = re.compile(rb"([su]\d\d):(\d+):(\d+|end);")


def system_names():
    """s00–s19: own loggers (00–09), a user's (10–13), writers that pause mid-line with
    either (14–15, 16–17), and ./finish scripts (18–19)."""
    return ["s%02d" % n for n in range(20)]


def user_names():
    """u00–u03: the user's tree's own, u03 pausing mid-line — where the user may run Python."""
    return ["u%02d" % n for n in range(4)] if os.access(USER_PYTHON, os.X_OK) else []


def service_names():
    return system_names() + user_names()


def _kind(name):
    if name.startswith("u"):
        return {"user_log": False, "pause": name == "u03", "finish": False, "user": True}
    n = int(name[1:])
    return {"user_log": 10 <= n <= 13 or 16 <= n <= 17, "pause": 14 <= n <= 17,
            "finish": n >= 18, "user": False}


class Soak:
    def __init__(self, root, impl="ours", rate=1000, seed=1, tools=None):
        self.root, self.impl, self.rate = Path(root), impl, rate
        self.random = random.Random(seed)
        self.tools = Path(tools)  # a directory of runit's tools for impl (make_bin_dir)
        self.sv_dir, self.service_dir = self.root / "sv", self.root / "service"
        self.log_dir, self.locks = self.root / "log", self.root / "locks"
        self.home = self.root / "home"  # the user's: ~/sv, ~/service, ~/logs
        if user_names():
            import pwd
            self.home.mkdir(mode=0o750, parents=True)
            entry = pwd.getpwnam(NOBODY)
            os.chown(str(self.home), entry.pw_uid, entry.pw_gid)
        self.stage2 = self.root / "stage2" / "tree"
        for path in (self.sv_dir, self.service_dir, self.log_dir, self.locks, self.stage2):
            path.mkdir(parents=True, exist_ok=True)
        os.chmod(str(self.locks), 0o777)
        (self.root / "writer.py").write_text(WRITER)
        (self.root / "job.py").write_text(JOB)
        if not (self.tools / "timer-run").exists():  # the C runsv's timer waiter, ours
            # (install-runtime links it on a host; make_bin_dir's C tools lack it)
            (self.tools / "timer-run").symlink_to(our_tool("timer-run"))
        self.generation = collections.Counter()  # env GEN per service
        self.prefix = {}
        self.kills = collections.Counter()       # by category
        self.run_kills = collections.Counter()   # ./run kills per service
        self.unsupervised_kills = set()          # writers killed while no supervisor ran
        self.events = []                         # (seconds since start, what, pid): kills
        self.wall_offset = time.time() - time.monotonic()  # an event's wall time, for jobs'
        self.commands = collections.Counter()
        self.applies = collections.Counter()     # exit code -> count
        self.samples = []                        # (t, rss kB, fds) of the tree
        self.onces = []                          # when sv once of the one-shot was taken
        self.once_refused = []                   # sv once's words when it was not
        self.aimed = 0                           # tree kills aimed at an elapse
        self.apply_failures = []                 # the words of each apply that failed
        self.outer = None
        self.namespace = None  # where apply runs (apply's docstring)

    # -- the tree -------------------------------------------------------------------------
    def environ(self):
        return {"PATH": "%s:%s" % (self.tools, BASE_PATH)}

    def service_dir_of(self, name):
        return (self.home / "sv" if _kind(name)["user"] else self.sv_dir) / name

    def log_dir_of(self, name):
        return (self.home / "logs" if _kind(name)["user"] else self.log_dir) / name

    def data(self):
        services, users = {}, {}
        for name in service_names():
            kind = _kind(name)
            python = USER_PYTHON if kind["user"] else sys.executable
            service = {"command": [python, "-S", str(self.root / "writer.py"), name,
                                   str(self.locks), str(self.rate),
                                   "pause" if kind["pause"] else "plain"],
                       "env": {"GEN": str(self.generation[name])},
                       # every file kept: the account reads them all
                       "log": {"timestamps": "human", "num": 0}}
            if name in self.prefix:
                service["log"]["prefix"] = self.prefix[name]
            if kind["user_log"]:
                service["log"]["user"] = NOBODY
            if kind["finish"]:
                service["finish"] = "sleep 0.3"
            if kind["user"]:
                users.setdefault(NOBODY, {"home": str(self.home), "services": {}})
                users[NOBODY]["services"][name] = service
            else:
                services[name] = service
        for name in JOBS:
            services[name] = {"command": [sys.executable, "-S", str(self.root / "job.py"),
                                          str(self.locks), name]}
        services["tmr"].update(schedule="*:*:0/%d" % TIMER_EVERY, persistent=True)
        services["one"]["oneshot"] = True
        found = {"runit": {"runtime": "python" if self.impl == "ours" else "system",
                           "init": "none", "sv_dir": str(self.sv_dir),
                           "service_dir": str(self.service_dir), "log_dir": str(self.log_dir),
                           "sv_timeout": 10, "services": services}}
        if users:
            found["runit"]["users"] = users
        return found

    def apply(self, timeout=120):
        """``runit-provision apply`` of ``data()``, as root. nobody's services are driven by
        the sv beside this interpreter, run as nobody — one nobody may not run when the
        virtualenv lives under /root (pyenv's), and apply refuses such a user before writing
        anything of theirs: so it runs in a private mount namespace where the directories on
        the way are passable (tests/security/sandbox.py), the host's own left as they are."""
        data = self.root / "data.yaml"
        data.write_text(yaml.safe_dump(self.data()))
        tool = Path(sys.executable).parent / "runit-provision"
        run = subprocess.run
        if user_names() and os.geteuid() == 0:
            if self.namespace is None:
                self.namespace = Namespace(users={})
            run = self.namespace.run
        done = run([str(tool), "apply", "--data", str(data), "--json", "--wait", "30",
                    "--profile-d", "none"], env=dict(self.environ()), capture_output=True,
                   text=True, timeout=timeout)
        self.applies[done.returncode] += 1
        if done.returncode:
            # its words: stderr's end, and its JSON's message (where what failed is said)
            try:
                said = json.loads(done.stdout).get("msg", "")
            except ValueError:
                said = done.stdout[:600]
            self.apply_failures.append(done.stderr[-400:] + str(said)[:600])
        return done

    def start(self):
        """The tree as runit's stage 2 runs it: runsvdir under a runsv, restarted when it
        dies; then the first apply."""
        run = self.stage2 / "run"
        run.write_text("#!/bin/sh\nexec runsvdir %s\n" % self.service_dir)
        run.chmod(0o755)
        self.outer = subprocess.Popen([str(self.tools / "runsv"), str(self.stage2)],
                                      start_new_session=True, env=self.environ(),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
        wait_until(lambda: self.tree_pid(), timeout=15, what="the tree running")
        first = self.apply()
        assert first.returncode == 0, first.stdout + first.stderr
        self.wait_all_up()

    def tree_pid(self):
        record = status_record(self.stage2)
        return record.pid if record is not None and record.state.name == "RUN" else 0

    def wait_all_up(self, timeout=60):
        for name in service_names():
            wait_until(lambda: self.run_pid(name), timeout=timeout, what=name + " up")

    def run_pid(self, name, log=False):
        side = self.service_dir_of(name) / ("log" if log else "")
        record = status_record(side)
        if record is None or record.state.name != "RUN":
            return 0
        return record.pid

    def finish_pids(self):
        found = []
        for name in service_names():
            record = status_record(self.service_dir_of(name))
            if record is not None and record.state.name == "FINISH" and record.pid:
                found.append(record.pid)
        return found

    # -- the driver ------------------------------------------------------------------------
    def drive(self, seconds):
        deadline = time.monotonic() + seconds
        next_sample = 0.0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_sample:
                self.sample()
                next_sample = time.monotonic() + 1.0
            time.sleep(self.random.uniform(0.05, 0.5))
            self.act(late=time.monotonic() > deadline - seconds / 2)

    def act(self, late=False):
        """One fault, drawn by weight; in the second half, a kill of the tree and an ``sv
        once`` first while none was done yet — a draw of a few dozen on a loaded machine
        left either out about one run in three, and the soak asserts both."""
        if late and not self.kills["tree"]:
            self._kill("tree", self.tree_pid())
            return
        if late and not self.onces:
            self._once()
            return
        choice = self.random.choices(
            ["tree", "logger host", "user's logger", "pipe keeper", "user's tree", "service",
             "finish", "sv", "apply", "tree at elapse", "once"],
            weights=[1, 1, 1, 1, 1 if user_names() else 0, 2, 1, 2, 1, 1, 1])[0]
        getattr(self, "_" + choice.replace(" ", "_").replace("'", ""))()

    def _kill(self, category, pid):
        """SIGKILL ``pid`` (read from a record or /proc) if it is still one of the soak's:
        a record of a tree just killed names a pid that another test may hold now."""
        if not pid or not kill_if_under(pid, self.root):
            return False
        self.kills[category] += 1
        self.events.append((time.monotonic(), category, pid))
        return True

    def _tree(self):
        pid = self.tree_pid()
        if self.impl == "c" and pid and self.random.random() < 0.5:
            runsvs = children_of(pid)
            if runsvs:
                self._kill("runsv", self.random.choice(runsvs))
                return
        self._kill("tree", pid)

    def _tree_at_elapse(self):
        """The tree killed 0–50 ms before an elapse of the timer (every TIMER_EVERY s, on
        the second), when one comes within 0.6 s (the driver's pace kept)."""
        now = time.time()
        elapse = (int(now) // TIMER_EVERY + 1) * TIMER_EVERY
        if elapse - now > 0.6:
            return
        time.sleep(max(0.0, elapse - self.random.uniform(0, 0.05) - now))
        self.aimed += 1
        self._tree()

    def _once(self):
        """``sv once`` of the one-shot, when it is down (a run under way would take none)."""
        record = status_record(self.sv_dir / "one")
        if record is None or record.state.name != "DOWN":
            return
        sent = time.time()
        done = subprocess.run([str(self.tools / "sv"), "once", str(self.sv_dir / "one")],
                              env=self.environ(), capture_output=True, timeout=30)
        if done.returncode == 0:
            self.onces.append(sent)
        else:
            self.once_refused.append(done.stdout.decode(errors="replace")[-200:])

    def _pipe_keeper(self):
        pid = self.tree_pid()
        keepers = pipe_keepers_of(pid) if pid else []  # the C runit has none
        users = self.users_tree_pid()
        keepers += pipe_keepers_of(users) if users else []
        if keepers:
            self._kill("pipe keeper", self.random.choice(keepers))

    def users_tree_pid(self):
        record = status_record(self.sv_dir / ("runsvdir-" + NOBODY))
        return record.pid if record is not None and record.state.name == "RUN" else 0

    def _users_tree(self):
        self._kill("user's tree", self.users_tree_pid())

    def _logger_host(self):
        name = self.random.choice([n for n in system_names() if not _kind(n)["user_log"]])
        self._kill("logger host", self.run_pid(name, log=True))

    def _users_logger(self):
        name = self.random.choice([n for n in service_names()
                                   if _kind(n)["user_log"] or _kind(n)["user"]])
        self._kill("user's logger", self.run_pid(name, log=True))

    def _service(self):
        name = self.random.choice(service_names())
        record = status_record(self.service_dir_of(name))
        if record is None or record.state.name != "RUN" or record.term or record.want != "u":
            return
        if not _is_writer(record.pid, name):
            return
        supervised = is_runsv_up(self.service_dir_of(name))
        if self._kill("service", record.pid):
            self.run_kills[name] += 1
            if not supervised:
                # Nothing holds its log pipe but itself: what is in the pipe goes with it.
                self.unsupervised_kills.add(record.pid)

    def _finish(self):
        pids = self.finish_pids()
        if pids:
            self._kill("finish", self.random.choice(pids))

    def _sv(self):
        name = self.random.choice(service_names())
        command = self.random.choice(["restart", "term", "down-up", "hup log", "alarm log",
                                      "once-up"])
        self.commands[command] += 1
        sv = str(self.tools / "sv")
        target = str(self.service_dir_of(name))
        if command == "down-up":
            steps = [["-w", "10", "down", target], ["-w", "10", "up", target]]
        elif command == "once-up":
            steps = [["-w", "10", "once", target], ["-w", "10", "up", target]]
        elif command.endswith(" log"):
            steps = [[command.split()[0], target + "/log"]]
        else:
            steps = [["-w", "10", command, target]]
        for step in steps:
            subprocess.run([sv] + step, env=self.environ(), capture_output=True, timeout=30)

    def _apply(self):
        # system services only: the user's restarts by apply, as the user, are the security
        # tier's (tests/security/), where the accounts are scratch ones
        name = self.random.choice(system_names())
        if self.random.random() < 0.5:
            self.generation[name] += 1
        else:
            self.prefix[name] = "g%d: " % self.random.randrange(1000)
        self.apply()

    def sample(self):
        pid = self.tree_pid()
        if not pid:
            return
        pids = [pid]
        if self.impl == "ours" and self.users_tree_pid():
            pids.append(self.users_tree_pid())  # forked: one of ours too
        if self.impl == "c":
            # runit's supervisors: runsvdir and every runsv (one whose runsvdir was killed
            # lives on outside the next one)
            pids += [p for p in processes_under(self.sv_dir) if comm(p) == "runsv"]
        try:
            rss = sum(_rss_kb(p) for p in pids)
            fds = sum(_fds_but_pidfds(p) for p in pids)
        except OSError:
            return
        self.samples.append((time.monotonic(), rss, fds))

    # -- the account ----------------------------------------------------------------------
    def settle_and_stop_writers(self):
        """Final apply, every service up, then each writer's last line, ``end``."""
        last = self.apply()
        self.wait_all_up()
        wait_until(lambda: not self.finish_pids(), timeout=30, what="no ./finish running")
        (self.locks / "stop").touch()
        for name in service_names():
            wait_until(lambda: b":end;" in self.logged(name), timeout=60,
                       what="%s's last line logged" % name)
        return last

    def logged(self, name):
        directory = self.log_dir_of(name)
        names = sorted(n for n in os.listdir(directory) if n.startswith("@"))
        chunks = []
        for entry in names + ["current"]:
            try:
                chunks.append((directory / entry).read_bytes())
            except FileNotFoundError:
                pass
        return b"".join(chunks)

    def written(self, name):
        """{instance pid: the last line it wrote} from the writers' progress files."""
        found = {}
        for path in self.locks.glob(name + ".*"):
            try:
                found[int(path.suffix[1:])] = int(path.read_bytes() or b"-1")
            except ValueError:
                continue
        return found

    def unsupervised(self):
        """Writers running that are not the recorded process of their service (a second
        instance, an orphan), and ./finish scripts still running."""
        supervised = {self.run_pid(name) for name in service_names()}
        return sorted(set(_writers(self.root)) - supervised) + self.finish_pids()

    def stray_keepers(self, within=KEEPER_GRACE_SECONDS + 5):
        """Pipe keepers of this soak's trees that are not the current trees' and stay so for
        ``within`` seconds (a keeper of a killed tree holds its pipes for its grace period as
        a ``sleep``, then goes; a keeper being renewed overlaps its successor for a moment,
        longer on a busy machine)."""
        mine = ("runsvdir %s)" % self.service_dir, "runsvdir %s)" % (self.home / "service"))

        def strays():
            current = set(pipe_keepers_of(self.tree_pid()))
            if self.users_tree_pid():
                current |= set(pipe_keepers_of(self.users_tree_pid()))
            return sorted(pid for pid in (int(e) for e in os.listdir("/proc") if e.isdigit())
                          if cmdline(pid)[:2] == ["pipekeeper", "-s"]
                          and cmdline(pid)[-1].endswith(mine) and pid not in current)
        deadline = time.monotonic() + within
        found = strays()
        while found and time.monotonic() < deadline:
            time.sleep(0.1)
            found = [pid for pid in strays() if pid in found]  # the same ones, still there
        return found

    def _before_kill_of(self, instance, missing):
        """The kills in the 3 s before that of writer ``instance``, as ``-SECONDS what``."""
        at = next((t for t, what, pid in self.events if pid == instance and what == "service"),
                  None)
        if at is None:
            return {"missing": missing}
        return {"missing": missing, "before": ["-%.3f %s" % (at - t, what)
                                               for t, what, _pid in self.events
                                               if at - 3 <= t < at]}

    def account(self):
        """The figures (a dict) — see the module."""
        lines = losses = repeats = lost_unsupervised = 0
        lost_in, repeated_in = {}, {}
        lost_how = []  # for a loss while no supervisor ran: the kills that led up to it
        for name in service_names():
            seen = collections.defaultdict(list)
            for found in LINE.finditer(self.logged(name)):
                if found.group(1).decode() != name:
                    continue
                seq = found.group(3)
                seen[int(found.group(2))].append(-1 if seq == b"end" else int(seq))
            for instance in set(seen) | set(self.written(name)):
                numbers = [n for n in seen.get(instance, ()) if n >= 0]
                lines += len(numbers)
                unique = set(numbers)
                repeats += len(numbers) - len(unique)
                if len(numbers) > len(unique):
                    repeated_in[name] = repeated_in.get(name, 0) + len(numbers) - len(unique)
                last = max(max(unique, default=-1), self.written(name).get(instance, -1))
                missing = last + 1 - len(unique)
                if missing and instance in self.unsupervised_kills:
                    lost_unsupervised += missing
                    lost_how.append(self._before_kill_of(instance, missing))
                elif missing:
                    losses += missing
                    lost_in[name] = lost_in.get(name, 0) + missing
        violations = _read_lines(self.locks / "violations")
        unsupervised = self.unsupervised()
        counts = {name: len(instances(self.service_dir_of(name))) for name in service_names()}
        deaths = {name: _tally_deaths(self.service_dir_of(name)) for name in service_names()}
        return dict(self.jobs_account(), **{
            "impl": self.impl,
            "kills": dict(self.kills), "kills_total": sum(self.kills.values()),
            "sv_commands": sum(self.commands.values()),
            "applies": {str(k): v for k, v in self.applies.items()},
            "apply_failures": self.apply_failures[:3],
            "lines": lines, "lost": losses, "lost_in": lost_in, "repeated": repeats,
            "repeated_in": repeated_in,
            "lost_unsupervised": lost_unsupervised,
            "kills_unsupervised": len(self.unsupervised_kills),
            "lost_unsupervised_how": lost_how,
            "double_runs": len(violations), "unsupervised": unsupervised,
            "stray_keepers": self.stray_keepers(),
            "instances_not_one": {n: c for n, c in counts.items() if c != 1},
            "tally_mismatch": {n: (deaths[n], self.run_kills[n]) for n in service_names()
                               if deaths[n] is not None and deaths[n] != self.run_kills[n]},
            "tree_rss_kb": _first_last(self.samples, 1),
            "tree_fds": _first_last(self.samples, 2),
        })

    def job_runs(self, name):
        """[(start time, end time or None, elapse or None, missed, overlap)] of ``name``'s
        runs, by start."""
        starts, ends = {}, {}
        for line in _read_lines(self.locks / (name + ".runs")):
            words = line.split()
            if words[:1] == ["start"] and len(words) == 6:
                elapse = None if words[2] == "-" else round(float(words[2]))
                starts[int(words[1])] = (float(words[4]), elapse, words[3] == "1",
                                         words[5] == "1")
            elif words[:1] == ["end"] and len(words) == 3:
                ends[int(words[1])] = float(words[2])
        return sorted((start, ends.get(pid), elapse, missed, overlap)
                      for pid, (start, elapse, missed, overlap) in starts.items())

    def _near(self, moment, runs):
        """What happened within 5 s of a lost elapse: the timer's runs (start, end, elapse,
        missed) and the driver's kills, in seconds from it — where a loss is looked into."""
        return {"moment": moment,
                "runs": ["start %+.3f end %s elapse %s missed %s" % (
                    start - moment, "-" if end is None else "%+.3f" % (end - moment),
                    "-" if elapse is None else "%+d" % (elapse - moment), int(missed))
                    for start, end, elapse, missed, _ in runs if abs(start - moment) <= 5
                    or (end is not None and abs(end - moment) <= 5)],
                "kills": ["%+.3f %s" % (at + self.wall_offset - moment, what)
                          for at, what, _pid in self.events
                          if abs(at + self.wall_offset - moment) <= 5]}

    def jobs_account(self):
        """The timer's and the one-shot's figures (the module's docstring)."""
        runs = self.job_runs("tmr")
        elapses = collections.Counter(run[2] for run in runs if run[2] is not None)
        lost, skipped, collapsed = [], 0, 0
        if elapses:
            for moment in range(min(elapses) + TIMER_EVERY, max(elapses) + 1, TIMER_EVERY):
                if moment in elapses:
                    continue
                if any(run[2] is not None and run[2] < moment
                       and (run[1] is None or run[1] + SKIP_SLACK >= moment) for run in runs):
                    skipped += 1
                    continue
                after = [run for run in runs if run[0] > moment]
                # a persistent catch-up, or a run due before E that started after it (its
                # ./finish before held the side: both runtimes start it when that ends)
                if after and (after[0][3] or (after[0][2] is not None
                                              and after[0][2] < moment)):
                    collapsed += 1
                else:
                    lost.append(moment)
        one = self.job_runs("one")
        unmatched, taken = [], set()
        for sent in self.onces:
            found = next((index for index, run in enumerate(one) if index not in taken
                          and sent - 0.01 <= run[0] <= sent + ONCE_WITHIN), None)
            if found is None:
                unmatched.append(round(sent, 3))
            else:
                taken.add(found)
        return {
            "timer_runs": len(runs), "timer_double": sum(1 for n in elapses.values() if n > 1),
            "timer_lost": len(lost), "timer_lost_at": lost[:20],
            "timer_lost_near": [self._near(moment, runs) for moment in lost[:3]],
            "timer_skipped_seen": skipped, "timer_collapsed": collapsed,
            "timer_catch_ups": sum(1 for run in runs if run[3]),
            # a catch-up follows a kill of the tree (ours) or of a runsv (the C's) only
            "timer_catch_ups_unexplained": max(0, sum(1 for run in runs if run[3]) - (
                self.kills["tree"] + self.kills["runsv"])),
            "timer_overlap": sum(1 for run in runs if run[4]),
            "timer_no_elapse": sum(1 for run in runs if run[2] is None),
            "timer_record": _read_lines(self.sv_dir / "tmr" / "supervise" / "timer"),
            "oneshot_runs": len(one), "oneshot_overlap": sum(1 for run in one if run[4]),
            "onces": len(self.onces), "onces_unmatched": unmatched,
            "once_refused": self.once_refused[:5], "kills_aimed_at_an_elapse": self.aimed,
        }

    def stop(self):
        """End everything this soak started, by process group and by directory."""
        if self.outer is not None:
            pids = set(process_group_members(self.outer.pid)) | set(
                descendants(self.outer.pid))
            kill_pids(pids)
            self.outer.wait()
            self.outer = None
        kill_pids(processes_under(self.root))
        wait_until(lambda: not _writers(self.root), timeout=15, what="every writer gone")
        if self.namespace is not None:
            self.namespace.close()
            self.namespace = None


# -- facts from /proc and the files ---------------------------------------------------------
def _rss_kb(pid):
    """VmRSS in kB; OSError for a process that is gone or a zombie (a killed tree not yet
    reaped has no memory to show)."""
    values = proc_status(pid).get("VmRSS")
    if not values:
        raise ProcessLookupError(pid)
    return int(values[0])


def _is_writer(pid, name):
    argv = cmdline(pid)
    return any(arg.endswith("writer.py") for arg in argv) and name in argv


def _writers(root):
    script = str(root / "writer.py")
    return [pid for pid in (int(entry) for entry in os.listdir("/proc") if entry.isdigit())
            if script in cmdline(pid)]


def _tally_deaths(service):
    from runit_provision.protocol.tally import tally_from_bytes
    try:
        tally = tally_from_bytes((service / "supervise" / "tally").read_bytes())
    except (OSError, ValueError):
        return None
    return None if tally is None else tally.deaths


def _read_lines(path):
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


def _fds_but_pidfds(pid):
    """The descriptors ``pid`` holds, but its pidfds: a tree holds one for each process it
    watches and did not start itself (a predecessor's, taken over after a kill) — as many as
    services run, however long the soak, so not what a leak would show."""
    count = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:[pidfd]":
                count += 1
        except OSError:
            continue
    return count


def _first_last(samples, column):
    """(max over the first fifth of the samples, max over the last fifth)."""
    if len(samples) < 5:
        return None
    fifth = len(samples) // 5
    return (max(s[column] for s in samples[:fifth]), max(s[column] for s in samples[-fifth:]))


def report_json(figures):
    return json.dumps(figures, indent=2, sort_keys=True)
