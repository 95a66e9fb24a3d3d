"""runtime/supervision/engine: one supervised service directory — its two sides, log pipe and FIFOs
— on a loop.

This is runsv's body without its ``main()``: ``runsv DIR`` hosts one Supervisor on an EventLoop;
the runsvdir tree hosts many on one loop. The Supervisor is the host the Side state machines
act through: it owns the directory fds, the pipe between ``./run`` and ``log/run``, the control
FIFOs and the status files.

The pipe is a FIFO, ``log/supervise/pipe`` (ours; runit's tools ignore it), and ``./run`` gets
it read-write as its stdout, as this supervisor holds it: so it outlives any one process — a
killed supervisor or logger costs neither a SIGPIPE to the service nor a line in the pipe, and
a new supervisor or logger opens it again by name.

The Supervisor keeps the directory's life — open, start, settle, close — and hands whole
concerns to what it holds: what a killed predecessor left, taken over at open (takeover.py);
every process it starts (processstarts.py); how its runs go, as its files say (runpolicy.py);
what ``./run`` declares of its readiness (startreadiness.py). The state machine of a side is
side.py's, the file work servicedir.py's and supervisefiles.py's.
"""

import errno
import os
import signal
import time
from functools import partial

from ....errors import FatalError
from ...unix.diag import fatal as print_fatal, warn as print_warn
from ....protocol.eventdir import STATUS as POSTED_STATUS, EventPoster
from ....protocol.status import State
from .adoption import started_in
from .closing import close_each
from .processstarts import ProcessStarts
from .runpolicy import RunPolicy
from .servicedir import PIPE_PATH, Facts, open_service
from .side import Side, Want
from .startreadiness import StartReadiness
from .supervisefiles import SuperviseFiles
from .takeover import inherit

_READ_CHUNK = 64


def _want(side_files):
    """runsv's want at start: down when the side has a ``down`` file."""
    return Want.UP if side_files.is_up else Want.DOWN


class SystemClock:
    """The real clocks; tests pass a fake with the same two methods."""

    monotonic = staticmethod(time.monotonic)
    time_ns = staticmethod(time.time_ns)


class Supervisor:
    # Slots, not a dict: a tree holds one of these per service.
    __slots__ = ("loop", "directory", "spawner", "clock", "label", "on_exit", "new_session",
                 "log_host", "pipe_keeper", "nest", "nested", "facts", "stderr_fd",
                 "dir_fd", "log_fd", "main", "log", "_files", "_pipe_w", "_pipe_r", "_exited",
                 "_events", "timer", "peers", "jobs", "cgroup", "starts", "runs", "readiness")

    def __init__(self, loop, directory, spawner, clock=SystemClock(), label=None,
                 on_exit=None, new_session=False, log_host=None, pipe_keeper=None, nest=None):
        self.loop = loop
        self.directory = directory
        self.spawner = spawner
        self.clock = clock
        self.label = label if label is not None else "runsv " + directory
        self.on_exit = on_exit  # called once, after x/TERM brought everything down
        self.new_session = new_session  # runsvdir -P: each service in its own session
        # What a tree hands its supervisors. log_host: runs a canonical log/run on the svlogd
        # engine instead of a process (loggers/loghosts.LogHosts: ``start_logger``).
        self.log_host = log_host
        self.pipe_keeper = pipe_keeper  # a tree's PipeKeeper: holds the log pipe if we die
        # nest(supervisor): makes what starts a canonical user's tree ./run instead of an exec
        # (users/usertree.UserTree): ``nested``, asked to start ./run first.
        self.nest = nest
        self.nested = None
        self.facts = None  # what it reads of the directory while it runs (servicedir.Facts)
        self.stderr_fd = 2  # where its messages go (a tree's: the tree's own)
        self.dir_fd = self.log_fd = -1
        self.main = self.log = None
        self._files = {}
        self._pipe_w = -1  # the log pipe, read-write: ./run's stdout, kept open for life
        self._pipe_r = -1  # a reader held only when the pipe is not a FIFO (reopened by name)
        self._exited = False
        # each side's supervise/event/ (protocol/eventdir.py), the main side's first: a tuple
        # indexed by Side.is_log, not a dict (kept for every service of every user's tree)
        self._events = ()
        self.timer = None  # timerwait.TimerWait: its directory has a schedule (a timer)
        # the tree it is one of (None: runsv's own): asked whether ./run must wait for the
        # one-shots it needs (``holds_start``), told of each status of the main side
        # (``status_changed``) — tree/startholds.py
        self.peers = None
        self.jobs = None  # jobgroup.JobGroups, once a job (a timer's, a one-shot's) ran
        self.cgroup = None  # servicecgroup.ServiceCgroup: its tree has cgroups
        self.starts = ProcessStarts(self)  # every process it starts, and its hosted logger
        self.runs = RunPolicy(self)  # one-shot or timer, finish, give-up, back-off, job groups
        self.readiness = StartReadiness(self)  # what ./run declares of its readiness

    # -- startup (runsv.c main, docs/runit-protocol.md §1.1) ------------------------------
    def open(self):
        """Take over the directory; FatalError carries runit's message, after the warnings
        runsv gave on its way there."""
        try:
            opened = open_service(self.directory, find_started=started_in)
        except FatalError as failure:
            for warning in getattr(failure, "warnings", ()):
                self.warn(warning)
            raise
        self.take_over(opened)

    def take_over(self, opened):
        """Supervise what ``servicedir.open_service`` opened (servicedir.Opened): its
        descriptors are ours from now on."""
        for warning in opened.warnings:
            self.warn(warning)
        self.dir_fd, self.log_fd = opened.dir_fd, opened.log_fd
        self._pipe_w, self._pipe_r = opened.pipe_w, opened.pipe_r
        self.facts = Facts(self.dir_fd, self.log_fd)
        warn = self.warn  # one bound method for both sides' files
        self.main = Side(self, is_log=False, want=_want(opened.main))
        self._files[self.main] = SuperviseFiles(self.dir_fd, "", warn, opened.main)
        if opened.log is not None:
            self.log = Side(self, is_log=True, want=_want(opened.log))
            self._files[self.log] = SuperviseFiles(self.log_fd, "log/", warn, opened.log)
        if self._pipe_r < 0 and self._pipe_w >= 0 and self.pipe_keeper is not None:
            self.pipe_keeper.hold(self._pipe_w)
        for side, files in self._files.items():
            self.loop.add_reader(files.control_fd, side.control_readable)
        schedule = self.facts.schedule
        if schedule is not None:  # before inherit: a job that ended unseen is no death
            from .timerwait import TimerWait  # only a timer's supervisor loads it
            self.timer = TimerWait(self, schedule)
        for side, files in self._files.items():
            tally = files.read_tally()
            side.tally = tally or side.tally  # the counts go on across supervisors
            inherit(self, side, files, tally)
            side.resume_backoff()
        self.starts.nest()

    def log_reader(self):
        """A read-only end of the log pipe for a logger starting now, a description of its
        own (its blocking mode is the logger's): the caller closes it."""
        if self._pipe_r >= 0:
            return os.open("/proc/self/fd/%d" % self._pipe_r, os.O_RDONLY | os.O_CLOEXEC)
        # A writer is held (ours), so opening the reading end does not wait.
        return os.open(PIPE_PATH, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.log_fd)

    def read_control(self, side):
        """``side``'s control FIFO is readable (Side.control_readable, the loop's reader)."""
        try:
            data = os.read(self._files[side].control_fd, _READ_CHUNK)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            raise
        for byte in data:
            side.control(chr(byte))

    # -- running ------------------------------------------------------------------------------
    def start(self):
        """Begin supervising: start whatever wants to run, then open ``ok`` for clients.

        runsv writes each side's status files, opens ``ok`` and then starts the service,
        which writes them again. Here a side that starts at once writes them only then (a
        1000-service tree saves 3000 file writes); one that does not is written before ``ok``
        exists, as runsv does. Either way a client that finds runsv up reads a current status.
        """
        self.begin()
        self.show()

    def begin(self):
        """Start whatever wants to run (a user tree asked of the fork server goes out here;
        each side's ``ok`` is opened just before its first start: ``spawn``)."""
        self.settle()

    def show(self):
        """Write what was not written yet, then open ``ok``: a tree begins every new service
        of a scan before it shows the rest (the status writes are the slow part of a start,
        and a user tree it asks for runs meanwhile)."""
        for side, files in self._files.items():
            # A side whose start waits for its host (the fork server, a logger's stand-in) has
            # a status on disk and ok open already (open_ok_before_start): its start's
            # answer writes the rest — "run", or "down" if it failed.
            if not files.has_written and not (side.is_deferred and files.is_ok_open):
                side.write_status()
        for files in self._files.values():
            self._open_ok(files)
        if not self._events:
            # supervise/event/ once what a scan began is running: making it costs an inode or
            # two, and only a waiter needs it (one that comes before waits as under the C runsv)
            self._events = tuple(EventPoster(self.log_fd if side is self.log else self.dir_fd)
                                 for side in self._files)
            self.loop.call_later(0, self._open_events)

    def _open_events(self):
        if not self._exited:
            for events in self._events:
                events.open()

    def open_ok_before_start(self, side):
        """runsv's order at a side's first start: a status on disk, ``ok`` open, then the
        process — so a ``./run`` that asks ``sv`` about itself at once (``sv down .``), or a
        ``needs`` guard of another service asking about this one, finds runsv there. The
        status is written first only when none on disk says "down" already (a new service, or
        one a crash left "run"): the start writes it again a moment later anyway."""
        files = self._files[side]
        if files.is_ok_open or self._exited:
            return
        if not files.has_written and not files.found_down:
            files.write_status_only(side.status())
        self._open_ok(files)

    def _open_ok(self, files):
        if self._exited or files.is_ok_open:
            return
        try:
            files.open_ok()
        except FatalError as failure:
            # open() made and checked the FIFO: only a shortage of descriptors gets here, and
            # the service is already running — so keep it, and become visible once we can.
            self.warn("%s, retrying" % failure)
            self.loop.call_later(1.0, lambda: self._open_ok(files))

    def terminate(self):
        """SIGTERM to runsv means exactly ``x`` (docs/runit-protocol.md §1.5)."""
        if self._exited:
            return  # a second TERM in the batch whose SIGCHLD let us exit: files are closed
        self.main.control("x")

    def settle(self):
        """After every event: runsv's loop head, then its exit check (log first, as runit)."""
        if self._exited:
            return
        jobs = self.jobs
        if jobs is not None and jobs.leader and self.main.pid != jobs.leader:
            jobs.leader_ended("./job" if self.timer is not None else "./run")
        if self.log is not None:
            self.log.evaluate()
        self.main.evaluate()
        if self.timer is not None:
            self.timer.settle()
        self._maybe_exit()

    def host_ready(self):
        """A helper a side waited for (NotYet) may be ready: each such side tries again."""
        if self._exited:
            return
        for side in self._files:
            side.host_ready()

    def _maybe_exit(self):
        main = self.main
        if main.want is not Want.EXIT or main.pid or main.is_busy:
            return
        if main.state != State.DOWN:
            return
        log = self.log
        if log is None or not log.pid:
            self._finish()
            return
        if log.want is not Want.EXIT:
            # Let the logger drain the pipe and see EOF; it is not restarted after that.
            log.want = Want.EXIT
            log.write_status()
            self._close_pipe()  # the logger reads what is left, then sees EOF

    def _finish(self):
        self._exited = True
        steps = [partial(self._forget, side, files) for side, files in self._files.items()]
        close_each(steps + [self.close, self._tell_exit], self.warn)

    @staticmethod
    def _forget(side, files):
        side.abandon()  # a log waiting out its back-off must not start on closed fds
        files.remove_record()  # a clean exit: nothing for a successor to take over

    def _tell_exit(self):
        if self.on_exit is not None:
            on_exit, self.on_exit = self.on_exit, None
            on_exit(self)

    def close(self):
        """Release every descriptor (also after a failed ``open()``), each step whatever the
        others did (``close_each``)."""
        close_each(self._closing_steps(), self.warn)

    def _closing_steps(self):
        for part in (self.timer, self.jobs, self.cgroup):
            if part is not None:
                yield part.close
        yield self.readiness.close
        for files in self._files.values():
            yield partial(self._close_files, files)
        # x, after ok is gone: a waiter woken now sees runsv gone. The log's first: the
        # service's event/ok, the FIFO a successor takes over, is the one that stays.
        yield from (events.close for events in reversed(self._events))
        yield self._close_pipe
        yield partial(self._close_fd, "_pipe_r")
        yield partial(self._close_fd, "dir_fd")
        yield partial(self._close_fd, "log_fd")

    def _close_files(self, files):
        if files.control_fd >= 0:
            self.loop.remove_reader(files.control_fd)
        files.close()

    def kill_all(self):
        """SIGKILL whatever still runs for this service: the last resort of a tree shutdown."""
        for side in (self.main, self.log):
            if side is not None and side.pid:
                self.kill(side.pid, signal.SIGKILL)

    def _close_pipe(self):
        """Close our writer of the log pipe, the keeper's first (else no logger sees EOF)."""
        if self._pipe_w >= 0 and self.pipe_keeper is not None:
            self.pipe_keeper.release(self._pipe_w)
        self._close_fd("_pipe_w")

    def _close_fd(self, name):
        fd = getattr(self, name)
        if fd >= 0:
            os.close(fd)
            setattr(self, name, -1)

    @property
    def unopened_oks(self):
        """How many of this service's ``ok`` FIFOs ``show`` has yet to open."""
        return sum(1 for files in self._files.values() if not files.is_ok_open)

    @property
    def runs_a_tree(self):
        """Whether ``./run``'s process is a user's tree (its ``./run`` is the canonical one:
        forked, exec'd or adopted, it gets longer to stop its own)."""
        return self.nested is not None and self.main is not None and self.main.pid != 0

    # -- what a user's tree (users/usertree.UserTree) and a log host read -----------------------
    @property
    def is_open(self):
        return not self._exited

    @property
    def main_files(self):
        return self._files[self.main]

    def output_fd(self):
        """``./run``'s stdout: the log pipe, or the tree's own without a logger."""
        return self._pipe_w if self._pipe_w >= 0 else 1

    # -- what its collaborators read ---------------------------------------------------------
    def files_of(self, side):
        """``side``'s SuperviseFiles."""
        return self._files[side]

    def pipe_writer(self):
        """The log pipe's writing end for a process starting now (None: no log pipe)."""
        return self._pipe_w if self._pipe_w >= 0 else None

    # -- the host interface Side acts through ------------------------------------------------
    def time_ns(self):
        return self.clock.time_ns()

    def monotonic(self):
        return self.clock.monotonic()

    def call_later(self, delay, callback):
        return self.loop.call_later(delay, callback)

    def write_tally(self, side):
        self._files[side].write_tally(side.tally)

    def write_status(self, side, status, want_word):
        self._files[side].write(status, want_word, side.tally)
        if side is self.main:
            self.readiness.observe(status)
        self.post_event(side, POSTED_STATUS)
        if side is self.main and self.peers is not None:
            self.peers.status_changed(self)

    def post_event(self, side, byte):
        """Wake whoever waits on ``side`` (our sv, through supervise/event/)."""
        if self._events:
            self._events[side.is_log].post(byte)

    def kill(self, pid, signum):
        if self.jobs is not None and self.jobs.signal(pid, signum):
            return  # a job: its whole process group (jobgroup.py)
        if self.readiness.signal_main(pid, signum):
            return  # to the MAINPID= process the service gave instead (notify.py)
        if self.log is not None and pid == self.log.pid \
                and self.starts.signal_hosted_logger(signum):
            return  # a hosted logger's pid is shared: never os.kill'ed (processstarts.py)
        self.spawner.kill(pid, signum)

    def warn(self, message, exc=None):
        print_warn(self.label, message, exc, self.stderr_fd)

    def child_failed(self, message, exc):
        print_fatal(self.label, message, exc, self.stderr_fd)

    # -- the host interface, handed on: how its runs go (runpolicy.py) ---------------------
    def has_finish(self):
        return self.runs.has_finish()

    def is_oneshot(self):
        return self.runs.is_oneshot()

    def is_timer(self):
        return self.runs.is_timer()

    def arm_timer(self):
        self.runs.arm_timer()

    def timer_control(self, letter):
        self.runs.timer_control(letter)

    def oneshot_pending(self):
        return self.runs.oneshot_pending()

    def is_job_ending(self):
        return self.runs.is_job_ending()

    def finish_environ(self):
        return self.runs.finish_environ()

    def said_run_end(self, wait_status):
        return self.runs.said_run_end(wait_status)

    def record_run(self, wait_status, started_ns, ended_ns):
        self.runs.record_run(wait_status, started_ns, ended_ns)

    def give_up_policy(self):
        return self.runs.give_up_policy()

    def backoff_policy(self):
        return self.runs.backoff_policy()

    jitter = staticmethod(RunPolicy.jitter)

    # -- the host interface, handed on: the processes it starts (processstarts.py) ------------
    def spawn(self, side, argv):
        return self.starts.spawn(side, argv)

    def start_hook(self, letter, service_pid):
        return self.starts.start_hook(letter, service_pid)

    def hosted_logger_ended(self, wait_status):
        self.starts.hosted_logger_ended(wait_status)
