"""runtime/supervision/users: a user's services, supervised in root's loop through the user's
agent — the tree (``NestedTree``: the scans, which are the agent's) and each service
(``RemoteSupervisor``: the engine's supervisor, its files and processes the agent's).

What root reads of a user's directory it reads through the agent (agentio.py), ahead of each
event (``RemoteSupervisor._event``); what a predecessor left it adopts by root's own records
(startledger.py), never the user's; a user's service costs root's loop at most
``CONTROL_BYTES_PER_SECOND`` of control bytes, and the tree ``SCAN_LIMIT`` services. The
user's tree as the service of root's that runs them — the agent, its start and its end — is
usertree.py's.
"""

import errno
import os

try:
    import _signal as signal  # not signal: its enum is 0.75 MB of root's tree (design.md)
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ....errors import FatalError
from ....protocol.layout import CONTROL_DIR
from ..engine.adoption import Refused, boot_id, boot_ticks, claim, started_between, starttime_of
from ..engine.servicedir import SnapshotFacts
from ..engine.side import NotYet
from ..engine.supervisor import Supervisor, record_name
from ..tree.servicetree import DRAIN_SECONDS, ServiceTree

# runit's runsvdir takes 1000 services at most; a user's tree in root's is held to that, so that
# a home full of directories costs root's tree no more than a thousand services do.
SCAN_LIMIT = 1000
# Control bytes a user's service may cost root's loop: its FIFO is read this much a second at
# most (runsv reads whatever comes; sv sends one or two bytes a command).
CONTROL_BYTES_PER_SECOND = 256
_READ_CHUNK = 64


class UserSpawner:
    """What a supervisor of a user's service asks of its spawner beyond ``spawn`` (which goes
    to the agent): the environment the user's services get, where its loggers' messages go,
    and signals — by pidfd to a process an agent started."""

    __slots__ = ("io", "environ", "stderr_fd")

    def __init__(self, io, environ, stderr_fd):
        self.io, self.environ, self.stderr_fd = io, environ, stderr_fd

    def kill(self, pid, signum):
        if self.io.processes.knows(pid):
            self.io.processes.signal(pid, signum)
            return
        if not self.io.loop.is_watched(pid):
            return  # ended, or never ours: a pid is signalled only while it is a child of ours
        try:
            os.kill(pid, signum)  # the agent: root's child, a zombie until root reaps it
        except ProcessLookupError:
            pass


class NestedTree(ServiceTree):
    """The user's services (``DIR``), supervised in root's loop through the agent: scans and
    opens are the agent's (answered later), and so is watching ``DIR`` (its ``c`` events)."""

    __slots__ = ("user_tree", "_stderr_owned")

    def __init__(self, user_tree):
        supervisor = user_tree.supervisor
        self.user_tree = user_tree
        stderr_fd = _messages_fd(supervisor)
        self._stderr_owned = stderr_fd if stderr_fd != supervisor.spawner.stderr_fd else -1
        ServiceTree.__init__(
            self, supervisor.loop, user_tree.directory,
            UserSpawner(user_tree.io, user_tree.environ, stderr_fd),
            "runsvdir " + user_tree.directory, clock=supervisor.clock,
            on_empty=self._emptied, io=user_tree.io, scan_limit=SCAN_LIMIT,
            helpers=(supervisor.log_host, supervisor.pipe_keeper), stderr_fd=stderr_fd)

    @property
    def is_stopping(self):
        return self._stopping

    def start(self):
        self.scan()  # the agent watches DIR: its "c" asks for the next scan

    def _watch_directory(self):
        pass  # the agent's (it can read DIR's parent: root need not)

    def _new_supervisor(self, path, label):
        return RemoteSupervisor(self, path, label)

    def _open_service(self, entry, service, path, done):
        # A start under way for it is looked for by root's records, never by the user's.
        service.key = entry.key
        self.io.open_service(path, done, starting=self.user_tree.ledger.starting(entry.key))

    def _scanned(self, listing):
        first = not self.entries and not self._retiring
        ServiceTree._scanned(self, listing)
        if first and not isinstance(listing, OSError) and not listing.more:
            # What root's records hold for any other directory is nobody's now.
            self.user_tree.ledger.retain(set(self.entries))

    def _check_empty(self):
        if self._stopping and not self._retiring:
            self._finish_stop()  # root's tree's helpers are its own to close

    def _end_orphans(self):
        pass  # the user's orphans are the agent's (its subreaper), or root's tree's to end

    def _kill_remaining(self):
        self._grace_over = True
        for service in list(self._retiring):
            service.kill_all()
        self._kill_timer = self.loop.call_later(DRAIN_SECONDS, self._give_up_draining)

    def _emptied(self):
        if self._stderr_owned >= 0:
            os.close(self._stderr_owned)
            self._stderr_owned = -1
        self.user_tree._tree_down()

    def kill_all(self):
        for service in list(self._retiring) + [entry.service for entry in self.entries.values()
                                               if entry.service is not None]:
            service.kill_all()



def _messages_fd(supervisor):
    """Where the user's tree's own messages go: a non-blocking description of its output's
    log pipe (``runsvdir-LOGIN/log``, root's own FIFO), so that a full pipe never stops root's
    loop; else root's tree's own stderr."""
    pipe = supervisor.output_fd()
    if pipe == 1:
        return supervisor.spawner.stderr_fd
    try:
        return os.open("/proc/self/fd/%d" % pipe, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return supervisor.spawner.stderr_fd


class _Spawn:
    """A start asked of the agent and its answer (a pid or an OSError) once it came."""

    __slots__ = ("argv", "answer", "then")

    def __init__(self, argv, then):
        self.argv, self.answer, self.then = argv, None, then

    def answered(self, answer):
        self.answer = answer
        self.then()


class RemoteSupervisor(Supervisor):
    """A user's service supervised by root's tree: the state machines, the control FIFOs, the
    status kept are ours; its files and processes the user's agent's.

    What the supervisor reads of the directory (``./finish``, ``control/<c>``, ``give-up``,
    ``ready``, ``log/run``) is read by the agent ahead of each event — a control byte, a
    process's end, a timer — and the event is handled once it came (``_event``), in order."""

    __slots__ = ("tree", "user_tree", "key", "_batch", "_asked", "_spawns",
                 "_control_allowance", "_readiness")

    def __init__(self, tree, path, label):
        Supervisor.__init__(self, tree.loop, path, tree.spawner, clock=tree.clock, label=label,
                            on_exit=tree._service_exited, log_host=tree.log_host,
                            pipe_keeper=tree.pipe_keeper, io=tree.io)
        self.tree = tree
        self.user_tree = tree.user_tree
        self.key = None  # (dev, ino) of its directory: its lines in root's StartLedger
        self.facts = SnapshotFacts()
        self.stderr_fd = tree.stderr_fd
        self._batch = []  # events waiting for facts not asked yet
        self._asked = None  # events the facts asked now will serve
        self._spawns = {}  # what was asked of the agent to start: side or ("hook", c) -> _Spawn
        self._control_allowance = {}  # control fd -> bytes it may still cost this second
        self._readiness = (None, None, None)  # a main side's start asked: (spec, env, reader)

    def take_over(self, opened):
        if opened.facts is not None:
            self.facts.facts = opened.facts
        found = os.fstat(opened.dir_fd)
        if (found.st_dev, found.st_ino) != self.key:
            # Not the directory listed (swapped since): root's records said nothing of a
            # start under way in this one, so what the agent found for it is nobody's.
            self.key = (found.st_dev, found.st_ino)
            for side in (opened.main, opened.log):
                if side is not None:
                    side.started = 0
        Supervisor.take_over(self, opened)

    # -- what a predecessor left: root's records, never the user's (startledger.py) ----------
    def record_keeper(self, is_log):
        from .startledger import LedgerSide
        return LedgerSide(self.user_tree.ledger, self.key, is_log)

    @property
    def adoptable_uid(self):
        return self.user_tree.uid

    def _inherit(self, side, files, tally):
        theirs, ours = files.their_record(), files.kept_by.found
        if (theirs is not None and theirs.pid and (ours is None or ours.pid != theirs.pid)
                and theirs.boot_id == boot_id() and starttime_of(theirs.pid) is not None):
            # The user's record names a live process root's tree did not start for this
            # side: said and counted, never adopted (the file is theirs to write).
            self.warn("%s names pid %d, which root's tree did not start for it: not adopted "
                      "(refusal %d of this tree)" % (record_name(side), theirs.pid,
                                                     self.user_tree.ledger.count_refusal()))
        Supervisor._inherit(self, side, files, tally)

    def refuse_adoption(self, side, refusal):
        Supervisor.refuse_adoption(self, side, "%s (refusal %d of this tree)" % (
            refusal, self.user_tree.ledger.count_refusal()))

    # -- events, each once the agent has read the facts for it ---------------------------------
    def _event(self, call):
        self._batch.append(call)
        if self._asked is None:
            self._ask_facts()

    def _ask_facts(self):
        self._asked, self._batch = self._batch, []
        self.io.facts(self.dir_fd, self.log_fd, self._facts_came)

    def _facts_came(self, facts):
        if facts is not None:
            self.facts.facts = facts
        calls, self._asked = self._asked, None
        for call in calls:
            call()
        if self._batch:
            self._ask_facts()

    def call_later(self, delay, callback):
        return _Later(self, delay, callback)

    def read_control(self, side):
        fd = self._files[side].control_fd
        allowance = self._control_allowance.get(fd, CONTROL_BYTES_PER_SECOND)
        try:
            data = os.read(fd, min(_READ_CHUNK, allowance))
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            raise
        if not data:
            return
        if fd not in self._control_allowance:
            self.loop.call_later(1.0, lambda: self._refill(fd, side))
        self._control_allowance[fd] = allowance - len(data)
        if self._control_allowance[fd] <= 0:
            self.loop.remove_reader(fd)  # the rest waits for the next second
        self._event(lambda: [side.control(chr(byte)) for byte in data])

    def _refill(self, fd, side):
        spent = self._control_allowance.pop(fd, 0)
        if spent <= 0 and not self._exited and self._files[side].control_fd == fd:
            self.loop.add_reader(fd, side.control_readable)

    def _watch_adopted(self, pid, side, pidfd):
        self.io.processes.adopt(pid, pidfd, lambda pid, status: self._event(
            lambda: side.child_exited(pid, status)))

    def _watch(self, pid, side):
        self.io.processes.watch(pid, lambda pid, status: self._event(lambda: side.child_exited(pid,
                                                                                      status)))

    # -- starting, through the agent -------------------------------------------------------------
    def _asked_answer(self, key):
        """The answer to a start asked under ``key``: None when nothing was asked, NotYet while
        the agent has not answered."""
        asked = self._spawns.get(key)
        if asked is None:
            return None
        if asked.answer is None:
            raise NotYet()
        del self._spawns[key]
        return asked.answer

    def _ask_start(self, key, argv, **options):
        asked = self._spawns[key] = _Spawn(argv, lambda: self.loop.call_later(
            0, self.host_ready))
        self.io.spawn(argv, asked.answered, **options)
        raise NotYet()

    def spawn(self, side, argv):
        lost = self._asked_answer(("lost", side))
        if lost:  # the start the last agent took with it had happened: that process is ours
            pidfd = self._claim_lost(lost, side)
            if pidfd is not None:
                self._watch_adopted(lost, side, pidfd)
                self._files[side].spawned(lost)
                return lost
        answer = self._asked_answer(side)
        if answer is not None:
            return self._started(side, answer)
        with self.io.together():  # one request to the agent: each waits for none before it
            return self._ask_spawn(side, argv)

    def _ask_spawn(self, side, argv):
        """A side's start asked of the agent — its status and ``ok`` first (runsv's order),
        its ``starting`` record, its process — answered later (NotYet); or the pid of a logger
        run on root's loop."""
        self._open_ok_before_start(side)
        if side is self.log and argv == ["./run"]:
            pid = self._host_here()
            if pid:
                return pid
        if not self.io.has_agent:
            self.io.on_agent.append(self.host_ready)  # nothing starts without the agent
            raise NotYet()
        files = self._files[side]
        files.write_starting("finish" if argv[0] == "./finish" else "run")
        if side is self.log:  # a logger of its own: it reads the pipe the agent opens for it
            self._ask_start(side, argv, cwd_fd=self.log_fd, stdin_fd=self._pipe_w,
                            reopen_stdin=True)
        spec, env, extra_fds, reader = None, None, (), None
        if argv == ["./run"]:  # ./finish has no say in readiness, nor takes the channel
            spec = self._ready_spec()
            env, extra_fds, reader = self._readiness_for(spec)
        self._readiness = (spec, env, reader)
        try:
            self._ask_start(side, argv, cwd_fd=self.dir_fd,
                            stdout_fd=self._pipe_w if self._pipe_w >= 0 else None,
                            env=env if argv == ["./run"] else self.finish_environ(),
                            extra_fds=extra_fds)
        finally:
            for writer, _ in extra_fds:
                os.close(writer)  # ./run's alone, once the agent has it

    def _started(self, side, answer):
        """A start's answer: its pid (supervised from now on), or the OSError of a start that
        failed. A start the agent took with it when it died may have happened: the next agent
        looks for it (adoption.started_in) before anything is started again."""
        from .agentlink import AgentGone
        spec, env, reader = self._readiness if side is self.main else (None, None, None)
        if side is self.main:
            self._readiness = (None, None, None)
        if isinstance(answer, AgentGone):
            if reader is not None:
                os.close(reader)
            return self._look_for_lost(side)
        if isinstance(answer, OSError):
            if reader is not None:
                os.close(reader)
            raise answer
        pid = answer
        self._files[side].spawned(pid)
        self._watch(pid, side)
        if side is self.main and (env is not None or reader is not None):
            self._notify.started(pid, spec, reader, status_follows=True)
        return pid

    def _claim_lost(self, pid, side):
        """A pidfd of ``pid``, the process the agent found a lost start had started, once it
        is found to be one (adoption.claim: the user's, started since that start began, and
        nobody's already); None: gone, or refused (said) — started again."""
        try:
            return claim(pid, started_between(self._files[side].starting_ticks, boot_ticks()),
                         uid=self.adoptable_uid, owned=self.loop.owns)
        except Refused as refusal:
            self.refuse_adoption(side, refusal)
            return None

    def _look_for_lost(self, side):
        files = self._files[side]
        asked = self._spawns[("lost", side)] = _Spawn(None, lambda: self.loop.call_later(
            0, self.host_ready))
        side_fd = self.log_fd if side is self.log else self.dir_fd
        self.io.started(side_fd, max(files.starting_ticks, 0), (), asked.answered)
        raise NotYet()

    def start_hook(self, letter):
        key = ("hook", letter)
        answer = self._asked_answer(key)
        name = CONTROL_DIR + "/" + letter
        if answer is not None:
            if isinstance(answer, OSError):
                self.warn("unable to run " + name, answer)
                return 0
            self._watch(answer, self.main)
            return answer
        mode = self.facts.hook(letter)
        if isinstance(mode, OSError):
            if mode.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.warn("unable to stat " + name, mode)
            return 0
        import stat
        if not mode & stat.S_IXUSR or not self.io.has_agent:
            return 0
        self._ask_start(key, [name], cwd_fd=self.dir_fd,
                        stdout_fd=self._pipe_w if self._pipe_w >= 0 else None)

    def _host_here(self):
        """The canonical ``log/run`` of the user's own identity, run on root's loop with its
        file work the agent's, shown by the user's stand-in: the pid shown; 0 when it must be
        started as a process; NotYet while the agent starts the stand-in or opens the pipe."""
        from ..loggers.hostedlogger import OWN, hostable
        user = self.user_tree.agent
        if user is None:
            self.io.on_agent.append(self.host_ready)
            raise NotYet()
        identity = user[1]
        found = hostable(self.facts.log_run, own=(identity.uid, identity.gids[0],
                                                  list(identity.gids)))
        if found is None or found[1] is not OWN:
            return 0
        if not self.user_tree.log_host.stand_in(self.host_ready):
            return 0
        reader = self._asked_answer(("reader",))
        if reader is None:  # a reading end of the user's FIFO, of its own: the agent opens it
            asked = self._spawns[("reader",)] = _Spawn(None, lambda: self.loop.call_later(
                0, self.host_ready))
            self.io.open_fifo(self.log_fd, "log/", "pipe", os.O_RDONLY, asked.answered)
            raise NotYet()
        if isinstance(reader, FatalError):
            self.warn(str(reader))
            return 0
        pid, self._logger = self.user_tree.host_logger(self, found[0], reader)
        return pid

    def hosted_logger_ended(self, wait_status):
        logger, self._logger = self._logger, None
        logger.host.logger_ended(logger)
        pid = logger.shown_pid
        self._event(lambda: self.log.child_exited(pid, wait_status))

    def has_finish(self):
        return self.facts.finish

    def close(self):
        Supervisor.close(self)
        for key, asked in self._spawns.items():
            if asked.answer is None:
                asked.then = lambda key=key, asked=asked: self._unwanted(key, asked)
            else:
                self._unwanted(key, asked)
        self._spawns = {}

    def _unwanted(self, key, asked):
        """What was asked for this service, answered after it closed: nobody wants it — a
        process killed, a descriptor closed."""
        answer = asked.answer
        if isinstance(answer, OSError) or not answer:
            return
        if key == ("reader",):
            os.close(answer)
        elif not (isinstance(key, tuple) and key[0] == "lost"):
            self.io.processes.signal(answer, signal.SIGKILL)


class _Later:
    """A supervisor's timer whose callback, once due, waits for fresh facts like any event;
    cancelled meanwhile, it does nothing."""

    __slots__ = ("cancelled", "_timer", "when")

    def __init__(self, supervisor, delay, callback):
        self.cancelled = False

        def due():
            supervisor._event(lambda: None if self.cancelled else callback())
        self._timer = supervisor.loop.call_later(delay, due)
        self.when = self._timer.when

    def cancel(self):
        self.cancelled = True
        self._timer.cancel()
