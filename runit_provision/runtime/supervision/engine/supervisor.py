"""runtime/supervision/engine: one supervised service directory — its two sides, log pipe and FIFOs
— on a loop.

This is runsv's body without its ``main()``: ``runsv DIR`` hosts one Supervisor on an EventLoop;
the runsvdir tree hosts many on one loop. The Supervisor is the host the Side state machines
act through: it owns the directory fds, the pipe between ``./run`` and ``log/run``, the control
FIFOs and the status files.

The pipe is a FIFO, ``log/supervise/pipe`` (ours; runit's tools ignore it), and ``./run`` gets
it read-write as its stdout, as this supervisor holds it: so it outlives any one process — a
killed supervisor or logger costs neither a SIGPIPE to the service nor a line in the pipe, and
a new supervisor or logger opens it again by name. On start-up a Supervisor takes over what a
killed predecessor left (``adoption.py``).

Why one module: runsv's body, at the size of runit's ``runsv.c``, read in a sitting; the state
machine of a side is side.py's, the file work servicedir.py's and supervisefiles.py's.
"""

import errno
import os
import signal
import stat
import time
from functools import partial

from ....errors import FatalError
from ...unix.diag import fatal as print_fatal, warn as print_warn
from ....protocol.eventdir import (READINESS as POSTED_READINESS, STATUS as POSTED_STATUS,
                                   EventPoster)
from ....protocol.layout import CONTROL_DIR, LAST_RUN, READINESS
from ....protocol.status import State
from .adoption import (UNKNOWN_EXIT, Fresh, Refused, boot_id, boot_ticks, claim, exactly,
                       inheritance, started_between, started_in, starttime_of)
from .closing import close_each
from .servicedir import PIPE_PATH, Facts, open_service
from .side import NotYet, Side, Want, finish_arguments
from .supervisefiles import SuperviseFiles

_READ_CHUNK = 64


def _want(side_files):
    """runsv's want at start: down when the side has a ``down`` file."""
    return Want.UP if side_files.is_up else Want.DOWN


def record_name(side):
    """The record of ``side``'s process, as a message names it."""
    return "log/supervise/process" if side.is_log else "supervise/process"


class SystemClock:
    """The real clocks; tests pass a fake with the same two methods."""

    monotonic = staticmethod(time.monotonic)
    time_ns = staticmethod(time.time_ns)


class Supervisor:
    # Slots, not a dict: a tree holds one of these per service.
    __slots__ = ("loop", "directory", "spawner", "clock", "label", "on_exit", "new_session",
                 "log_host", "pipe_keeper", "nest", "nested", "facts", "stderr_fd",
                 "_logger", "dir_fd", "log_fd", "main",
                 "log", "_files", "_pipe_w", "_pipe_r", "_exited", "_notify", "_events",
                 "timer", "peers", "jobs", "cgroup")

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
        # (users/usertree.UserTree): ``nested``, asked to start ./run and its logger first,
        # to settle after us and to close with us.
        self.nest = nest
        self.nested = None
        self.facts = None  # what it reads of the directory while it runs (servicedir.Facts)
        self.stderr_fd = 2  # where its messages go (a tree's: the tree's own)
        # the log side's logger while a log host runs it (a HostedLogger, or an identity
        # host's): ``signal``, ``shown_pid``, ``host`` (its waited_for and logger_ended)
        self._logger = None
        self.dir_fd = self.log_fd = -1
        self.main = self.log = None
        self._files = {}
        self._pipe_w = -1  # the log pipe, read-write: ./run's stdout, kept open for life
        self._pipe_r = -1  # a reader held only when the pipe is not a FIFO (reopened by name)
        self._exited = False
        self._notify = None  # notify.NotifyChannel, while ./run declares readiness
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
        if schedule is not None:  # before _inherit: a job that ended unseen is no death
            from .timerwait import TimerWait  # only a timer's supervisor loads it
            self.timer = TimerWait(self, schedule)
        for side, files in self._files.items():
            tally = files.read_tally()
            side.tally = tally or side.tally  # the counts go on across supervisors
            self._inherit(side, files, tally)
            side.resume_backoff()
        self._nest(is_first=True)

    def log_reader(self):
        """A read-only end of the log pipe for a logger starting now, a description of its
        own (its blocking mode is the logger's): the caller closes it."""
        if self._pipe_r >= 0:
            return os.open("/proc/self/fd/%d" % self._pipe_r, os.O_RDONLY | os.O_CLOEXEC)
        # A writer is held (ours), so opening the reading end does not wait.
        return os.open(PIPE_PATH, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.log_fd)

    def _inherit(self, side, files, tally):
        """Take over what a killed predecessor left on this side (adoption.py); ``tally``
        as it left it (None: none)."""
        record, status = files.read_inherited()
        files.found_down = status is not None and status.state == State.DOWN and not status.pid
        found = inheritance(record, status, boot_id(), starttime_of,
                            lambda since: files.started)
        pidfd = None
        if found.kind == "adopt":
            try:
                pidfd = self._claim(found.pid, record)
            except Refused as refusal:
                self.refuse_adoption(side, refusal)
                found = Fresh()
            else:
                if pidfd is None:
                    found = None  # gone between the look and the claim: lost after all
        if found is not None and found.kind == "fresh":
            side.tally.pid = 0  # nothing of a predecessor's runs: the counts alone go on
            return
        stamp_ns = self.clock.time_ns()
        paused = term = False
        if status is not None:
            side.want = Want.UP if status.want == "u" else Want.DOWN
            stamp_ns = status.stamp_ns
            paused, term = status.paused, status.term
        if found is not None and found.kind == "adopt":
            if side is self.main and found.state == State.RUN and self._runs_jobs():
                self._job_groups().adopted(found.pid)
            self._watch_adopted(found.pid, side, pidfd)
            side.adopt(found.pid, found.state, stamp_ns, paused, term)
            if record.is_starting and (tally is None or tally.pid != found.pid):
                side.count_start(found.pid, found.state)  # killed before it counted it
            return
        if found is not None and found.kind == "finish-due":
            if side is self.main and self.has_finish():  # (removed since: nothing to run)
                side.finish_due(stamp_ns, paused)
            return
        # The tally is written first at a death: one that no longer names the recorded
        # process has counted its death already (the kill came before the record's write).
        counted = (tally is not None and record is not None and record.pid != 0
                   and tally.pid != record.pid)
        side.inherit_lost(State.RUN if found is None else found.state, stamp_ns, paused,
                          counted)

    def _claim(self, pid, record):
        """A pidfd of ``pid``, the live process a predecessor's ``record`` leads to, once it
        is found to be the one it means (adoption.claim); None when it is gone. Refused when
        it is not the record's to hand over. The record is this tree's own file
        (servicedir.read_own); root's services' ``./run`` may have become anyone (``chpst
        -u``), so root's tree does not ask whose the process is — any other tree runs its
        services as itself, and adopts nobody else's (a user's tree, its user's alone)."""
        starttime_ok = (started_between(record.starttime, boot_ticks()) if record.is_starting
                        else exactly(record.starttime))
        euid = os.geteuid()
        return claim(pid, starttime_ok, uid=euid or None, owned=self.loop.owns)

    def refuse_adoption(self, side, refusal):
        """A record named a live process that is not its to hand over (``refusal`` says
        why): said; the process is left alone, and the side starts afresh."""
        self.warn("%s: %s: not adopted, started afresh" % (record_name(side), refusal))

    def _watch_adopted(self, pid, side, pidfd):
        """Watch ``pid``, a process a predecessor started, to its end, by ``pidfd`` (ours
        from now on: adoption.claim opened and checked it) — in the service's cgroup, where
        it already is unless a copied directory's record named another's."""
        if self.cgroup is None or side is not self.main:
            self.loop.watch_process(pid, lambda pid: side.child_exited(pid, UNKNOWN_EXIT),
                                    pidfd)
            return
        self.cgroup.adopt(self.dir_fd, pid)
        self.loop.watch_process(pid, lambda pid: self.cgroup.main_ended(
            lambda: side.child_exited(pid, UNKNOWN_EXIT), self.dir_fd), pidfd)

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
            # a status on disk and ok open already (_open_ok_before_start): its start's
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
        if self.nested is not None:
            self.nested.settle()  # a log side that waited for its tree may start now
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
        for part in (self.nested, self.timer, self.jobs, self.cgroup):
            if part is not None:
                yield part.close
        yield self._close_notify
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
        if side is self.main and self._notify is not None:
            self._notify.observe(status.pid, status.state == State.RUN)
        self._post(side, POSTED_STATUS)
        if side is self.main and self.peers is not None:
            self.peers.status_changed(self)

    def _post(self, side, byte):
        """Wake whoever waits on ``side`` (our sv, through supervise/event/)."""
        if self._events:
            self._events[side.is_log].post(byte)

    def kill(self, pid, signum):
        if self.jobs is not None and self.jobs.signal(pid, signum):
            return  # a job: its whole process group (jobgroup.py)
        if (self._notify is not None and pid == self.main.pid
                and self._notify.signal_main(pid, signum)):
            return  # to the MAINPID= process the service gave instead (notify.py)
        if self.log is not None and pid == self.log.pid:
            # Never os.kill a hosted logger's pid: it is shared (the tree's stand-in, or an
            # identity's host running other loggers too).
            logger = self._logger
            if logger is not None:
                if signum == signal.SIGCONT:
                    # runsv CONTs the svlogd it stops: here whatever the logger's work waits
                    # for — an identity's host, or the user's tree running it, which the user
                    # may have stopped; else `sv -w` times out
                    for process in logger.host.waited_for(logger):
                        self.spawner.kill(process, signal.SIGCONT)
                logger.signal(signum)
                return
        self.spawner.kill(pid, signum)

    def warn(self, message, exc=None):
        print_warn(self.label, message, exc, self.stderr_fd)

    def child_failed(self, message, exc):
        print_fatal(self.label, message, exc, self.stderr_fd)

    def give_up_policy(self):
        """``(deaths, within)`` from the service's ``give-up`` file, read at each death (an
        apply may change it at any time); None without one, or when it is not two numbers."""
        data = self.facts.give_up
        if data is None:
            return None
        words = data.split()
        if len(words) != 2 or not all(word.isdigit() for word in words):
            self.warn("./give-up is not two numbers (deaths, seconds): ignored")
            return None
        deaths, within = int(words[0]), int(words[1])
        return (deaths, within) if deaths > 0 and within > 0 else None

    def backoff_policy(self):
        """The service's ``backoff`` file (protocol/backoff.py), read at each death (an apply
        may change it at any time): a Backoff, or None without one or when it is not one."""
        if self.facts.backoff is None:
            return None
        from ....protocol.backoff import backoff_from_bytes
        return self._parsed(self.facts.backoff, backoff_from_bytes, ValueError, "./%s: ignored")

    @staticmethod
    def jitter(seconds):
        """A random delay of 0 to ``seconds`` (the kernel's randomness: no ``random``)."""
        return seconds * int.from_bytes(os.urandom(4), "little") / 0xFFFFFFFF

    def finish_environ(self):
        """The environment of ``./finish``, telling the rendered one what we did already:
        under a back-off we wait on a timer (protocol/backoff.RUNSV_ENV), and a one-shot's
        run we recorded and keep down (protocol/lastrun.RUNSV_ENV); None: the spawner's own."""
        ours = {}
        if self.facts.backoff is not None:
            from ....protocol.backoff import RUNSV_ENV
            ours[RUNSV_ENV] = "runsv"
        if self.facts.oneshot or self.timer is not None:
            from ....protocol.lastrun import RUNSV_ENV
            ours[RUNSV_ENV] = "runsv"
        return dict(self.spawner.environ, **ours) if ours else None

    def said_run_end(self, wait_status):
        """A one-shot's or a timer's ./finish that begins as the rendered one (protocol/
        lastrun.ONESHOT_FINISH_HEAD, TIMER_FINISH_HEAD) would only say the run's end under us
        — its record (and a one-shot's down) are ours (record_run): said here, where its
        stdout is, without its sh, the last process start of a run's end
        (bench/oneshot_boot.py). False: ./finish starts as any does (another finish, another
        identity's, or the output would wait)."""
        from ....protocol.lastrun import ONESHOT_FINISH_HEAD, TIMER_FINISH_HEAD, run_end_line
        if not self.facts.finish_begins(TIMER_FINISH_HEAD if self.timer is not None
                                        else ONESHOT_FINISH_HEAD):
            return False
        from ...unix.writenow import write_now
        code, signum = finish_arguments(wait_status)
        return write_now(self.output_fd(), run_end_line(int(code), int(signum)))

    def record_run(self, wait_status, started_ns, ended_ns):
        """A one-shot's ./run or a timer's ./job ended: ``supervise/last-run``
        (protocol/lastrun.py), as its rendered finish writes it under the C runsv, which keeps
        no exit code."""
        from ....protocol.lastrun import LastRun, last_run_bytes
        code, signum = finish_arguments(wait_status)
        self._files[self.main].write_named(LAST_RUN, last_run_bytes(
            LastRun(int(code), int(signum), started_ns, ended_ns), boot=boot_id()))

    def oneshot_pending(self):
        """A one-shot that has not ended yet: its ./run (or ./finish) runs, or it is wanted up
        and about to start. Done or failed, or wanted down and never run (the guard of a
        service that needs it starts it), it is not."""
        main = self.main
        if main is None or self._exited or not self.facts.oneshot:
            return False
        return main.state != State.DOWN or main.want is Want.UP

    def _ready_spec(self):
        """What the service's ``ready`` file declares, read at each start of ``./run`` (an
        apply may change it): a ReadySpec, or None (none, or one we cannot read — said)."""
        if self.facts.ready is None:
            return None
        from ....protocol.readiness import BadReady, ready_spec_from_bytes
        return self._parsed(self.facts.ready, ready_spec_from_bytes, BadReady,
                            "./ready: %s: ignored")

    def _parsed(self, data, parse, fault, warning):
        """``parse(data)`` — a facts file, read where it is used, as an apply may change it at
        any time — or None, said (``warning % fault``), when it raises ``fault``."""
        try:
            return parse(data)
        except fault as exc:
            self.warn(warning % exc)
            return None

    def _readiness_for(self, spec):
        """``(env, extra_fds, reader)`` for a ``./run`` under ``spec``: ``env`` with
        ``NOTIFY_SOCKET`` (None: the spawner's own), ``extra_fds`` with s6's notification fd
        (the writing end of a pipe as descriptor N; the caller closes our copy), ``reader``
        its reading end (None without). The channel is made at the first start that declares
        readiness and kept across restarts; a service that stopped declaring it loses it and
        its record."""
        if spec is None:
            if self._notify is not None:
                self._close_notify()
                self._files[self.main].remove_named(READINESS)
            return None, (), None
        if self._notify is None:
            from .notify import NotifyChannel
            self._notify = NotifyChannel(
                self.loop, self._files[self.main], self.clock, self.warn, kill=self.kill,
                written=lambda: self._post(self.main, POSTED_READINESS))
        try:
            if spec.kind == "fd":
                reader, writer = os.pipe2(os.O_CLOEXEC)
                if writer == spec.fd:  # a source must not be a target (spawn.py)
                    moved = os.dup(writer)
                    os.close(writer)
                    writer = moved
                return None, ((writer, spec.fd),), reader
            env = dict(self.spawner.environ, NOTIFY_SOCKET=self._notify.socket_address())
        except OSError as exc:
            self.warn("unable to make the readiness channel", exc)
            return None, (), None
        if spec.watchdog:  # sd_watchdog_enabled(3); no WATCHDOG_PID: the pid is not known yet
            env["WATCHDOG_USEC"] = str(spec.watchdog * 1_000_000)
        return env, (), None

    def _close_notify(self):
        if self._notify is not None:
            self._notify.close()
            self._notify = None

    def has_finish(self):
        return self.facts.finish

    def is_oneshot(self):
        """The ``oneshot`` file marks the service a one-shot (read at each end of ./run)."""
        return self.facts.oneshot

    def _runs_jobs(self):
        """The main side's ./run (a one-shot) or ./job (a timer) is a job: in a group of its
        own (jobgroup.py)."""
        return self.timer is not None or self.facts.oneshot

    def _job_groups(self):
        if self.jobs is None:
            from .jobgroup import JobGroups  # only a job's supervisor loads it
            self.jobs = JobGroups(self.loop, self.warn)
        return self.jobs

    def is_job_ending(self):
        """What a run that ended left in its group is being ended (jobgroup.py)."""
        return self.jobs is not None and self.jobs.is_ending

    def is_timer(self):
        """The ``schedule`` file marked the service a timer when it was taken over: its side
        starts ``./job`` at each elapse, never ``./run`` (timerwait.py)."""
        return self.timer is not None

    def arm_timer(self):
        self.timer.arm()

    def timer_control(self, letter):
        """``h`` or ``1`` while no job runs (side.Side._signal): the schedule read again, or
        the job run now with the schedule kept (timerwait.py)."""
        (self.timer.reload if letter == "h" else self.timer.run_now)()

    def _open_ok_before_start(self, side):
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

    def _nest(self, is_first):
        """What starts a user's tree as ./run (``nested``), when ./run is one: at open
        (``is_first``: its log side waits for it), and at each start of a main side that has
        none (a ./run rewritten into a tree's since). A timer never runs ./run (its side
        starts ./job); a ./run that is not a tree's gets None — the users/ room is loaded
        only for a tree that runs one."""
        if self.nest is None or self.timer is not None:
            return
        self.nested = self.nest(self)
        if self.nested is not None:
            self.nested.is_first = is_first

    def spawn(self, side, argv):
        self._open_ok_before_start(side)
        if side is self.main and argv == ["./run"] and self.peers is not None \
                and self.peers.holds_start(self):
            raise NotYet  # the tree calls host_ready() once the one-shots it needs are done
        if argv == ["./run"]:
            if side is self.main and self.nested is None:
                self._nest(is_first=False)
            if side is self.main and self.nested is not None:
                pid = self.nested.spawn()  # the user's tree, forked
                if pid:
                    return pid
            if side is self.log and self.log_host is not None:
                # A canonical log/run runs on the svlogd engine (loggers/): in the user's tree
                # of ./run when it can (its own output's logger), else the tree's log hosts.
                host = self.nested if self.nested is not None else self.log_host
                pid, self._logger = host.start_logger(self)
                if pid:
                    return pid
        files = self._files[side]

        def records():
            files.write_starting("finish" if argv[0] == "./finish" else "run")
            if argv == ["./job"]:
                self.timer.job_starting()  # its stamp, between the start's record and the spawn

        if side is self.log:
            records()
            reader = self.log_reader()
            try:
                pid = self.spawner.spawn(argv, cwd_fd=self.log_fd, stdin_fd=reader,
                                         new_session=self.new_session)
            finally:
                os.close(reader)
        else:
            spec, env, extra_fds, reader = None, None, (), None
            if argv == ["./run"]:  # ./finish has no say in readiness, nor takes the channel
                spec = self._ready_spec()
                env, extra_fds, reader = self._readiness_for(spec)
            is_job = argv == ["./job"] or (argv == ["./run"] and self.facts.oneshot)

            def start():  # in the service's cgroup already: the records just before the spawn
                records()
                return self.spawner.spawn(
                    argv, cwd_fd=self.dir_fd,
                    stdout_fd=self._pipe_w if self._pipe_w >= 0 else None,
                    new_session=self.new_session,
                    env=self.finish_environ() if argv[0] == "./finish" else env,
                    extra_fds=extra_fds, new_group=is_job)
            try:
                pid = start() if self.cgroup is None or argv[0] == "./finish" else \
                    self.cgroup.spawn(self.dir_fd, start)
            except OSError:
                if reader is not None:
                    os.close(reader)
                raise
            finally:
                for writer, _ in extra_fds:
                    os.close(writer)  # ./run's alone: its end is EOF once it is gone
            if env is not None or reader is not None:
                self._notify.started(pid, spec, reader, status_follows=True)
            if is_job:
                self._job_groups().started(pid)
        files.spawned(pid)
        if self.cgroup is not None and side is self.main and argv[0] != "./finish":
            self.loop.watch_child(pid, lambda pid, status: self.cgroup.main_ended(
                lambda: side.child_exited(pid, status), self.dir_fd))
        else:
            self.loop.watch_child(pid, side.child_exited)
        return pid

    def hosted_logger_ended(self, wait_status):
        """The logger a log host ran for our log side ended (its ``on_exit``): its host lets it
        go, then the side sees its end as a process's."""
        logger, self._logger = self._logger, None
        logger.host.logger_ended(logger)
        self.log.child_exited(logger.shown_pid, wait_status)

    def start_hook(self, letter, service_pid):
        """Start ``control/<letter>`` if it exists and is user-executable; its pid, or 0. Its
        one argument is the service's pid, or "" when none runs (runsv 2.3.1's)."""
        name = CONTROL_DIR + "/" + letter
        mode = self.facts.hook(letter)
        if isinstance(mode, OSError):
            if mode.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.warn("unable to stat " + name, mode)
            return 0
        if not mode & stat.S_IXUSR:
            return 0
        try:
            # argv[0] is "control/<c>", as runsv execs it (a hook may look at $0).
            argv = [name, str(service_pid) if service_pid else ""]
            pid = self.spawner.spawn(argv, cwd_fd=self.dir_fd,
                                     stdout_fd=self._pipe_w if self._pipe_w >= 0 else None)
        except OSError as exc:
            self.warn("unable to run " + name, exc)
            return 0
        self.loop.watch_child(pid, self.main.child_exited)
        return pid
