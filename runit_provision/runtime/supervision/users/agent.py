"""runtime/supervision/users: a user's agent — the one process of a user's tree, as that user, that
does the tree's file work and starts its processes while root's tree supervises them.

A user's tree (``runsvdir-LOGIN`` with the generator's ``run``, usertree.py) is supervised by
root's tree itself: its scans, its services' state machines, their control FIFOs, their
loggers and the ends of their processes are root's work. Everything that touches what the user
controls is the agent's: it looks at ``~/service``, opens and writes every file there
(servicedir.py's functions, the same a supervisor of its own directories calls), renders and
writes the user's logs (agentlogs.py), and starts the user's processes — so they are its
children, and their orphans come to it (it is their subreaper), never to root. Root holds the
descriptors the agent opened and hands them back with each piece of work; the agent keeps
nothing between requests but its children, so a killed agent costs nothing that runs: the next
one takes the work up.

It is forked from the fork server (forks/server.py): it keeps no descriptor but its channel and
its children's output, takes the user's identity for good (groups, gid, uid: no capability
left), is not dumpable, and takes the tree's lock (``chpst -L``). To ``ps`` and ``pidof`` it is
``runsvdir DIR``, the pid ``runsvdir-LOGIN/supervise/pid`` shows: a signal to it reaches root as
an event (TERM and HUP bring the user's tree down, ALRM rescans), as it would reach the runsvdir
it stands for.

**Small on purpose.** Every page of the fork server's that this process writes becomes its own
(copy on write), and CPython writes to every object it touches: what a user costs is, mostly,
how much distinct code runs here. So the agent runs a loop of its own on epoll (no timers: it
needs none), starts processes with a vfork (nothing of its pages copied, or written by
a child), imports nothing once forked, and the server runs this loop on an ``Agent`` of its own,
each kind of request a few times, before it forks (``warm_up``), so that the interpreter's
rewrites of its code happen there.

The messages are agentwire.py's; requests are done one at a time, in their order.

Why one module of ~700 lines: it is the whole of what runs in a user's agent — the loop, one
handler for each kind of agentwire.REQUESTS of its own (the log work is agentlogs.py's) and the
warm-up that runs them in the fork server — and what a user costs is how much distinct code
runs here: one file shows all of it.
"""

try:
    import _posixsubprocess  # CPython's own: a vfork (``_spawn``) where its arguments are known
except ImportError:  # pragma: no cover - another implementation: fork and execve
    _posixsubprocess = None
import errno
import fcntl
import os
import select
import sys

try:
    import _signal as signal  # not signal: its enum is 0.75 MB of root's tree (design.md)
except ImportError:  # pragma: no cover - other interpreters
    import signal
import socket
import time

from ....errors import FatalError
from ....protocol.eventdir import READINESS, STATUS, EventPoster
from ....protocol.tai64 import runit_stamp, tai64n_label
from ...svlog.dirwork import Refused
from ...unix import inotify
from ...unix.cpython import leans_on_internals
from ...unix.diag import warn
from ...unix.fsname import fsdecode
from ...unix.libc import libc
from ...unix.procname import show_runit_name
from ...unix.seqpacket import receive, send
from . import agentlogs
from ..engine import servicedir
from . import agentwire as wire
from ..engine.adoption import started_in

_MESSAGE_MAX = 256 * 1024
_MAX_FDS = 16
_EVENTS = (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_WAIT = os.WNOHANG | os.WUNTRACED | os.WCONTINUED
_DIR_EVENTS = (inotify.IN_CREATE | inotify.IN_DELETE | inotify.IN_MOVED_FROM
               | inotify.IN_MOVED_TO | inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF
               | inotify.IN_ATTRIB)
FORCED_RESCAN = ".forced-rescan"
_RESCAN_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK | os.O_NOFOLLOW
                 | os.O_CLOEXEC)


def run(fields, fds):
    """The forked child's whole life (never returns): fields ``UID GIDS LOCK DIRECTORY
    NEW_SESSION [NAME=VALUE...]`` (the environment of the user's services), descriptors
    ``CHANNEL OUTPUT`` — its channel to root, and the stdout and stderr its children get (the
    tree's log pipe)."""
    code = 111
    try:
        code = Agent(fields, fds).run()
    except BaseException as exc:  # noqa: BLE001 — said, then this process ends
        warn("runsvdir", "fatal: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(code)


def _nothing(_signum, _frame):
    """The Python-level handler: the C handler already wrote the signal to the wakeup fd."""


class Agent:
    exit_code = 0

    def __init__(self, fields, fds):
        uid, gids, lock, directory, new_session = fields[:5]
        channel_fd, output_fd = fds
        self.directory = directory
        self.environ = dict(item.split("=", 1) for item in fields[5:])
        if new_session == "1":
            os.setsid()  # runsvdir -P: the tree leads a session of its own, as runsv's child
        # What runsv gives ./run — the tree's output as stdout and (exec 2>&1) stderr — is what
        # the user's processes get (``output``); stdin is /dev/null. Nothing else of the
        # server's is kept (it holds nothing but its channel, closed already).
        lifted = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16) for fd in (channel_fd, output_fd)]
        self.channel_fd, self.output = 3, 4
        for source, target in zip(lifted, (3, 4)):
            os.dup2(source, target, inheritable=False)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(self.output, 1)
        own = os.open("/proc/self/fd/%d" % self.output,
                      os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.dup2(own, 2)  # our own messages never wait on a pipe root's loggers of ours drain
        os.closerange(5, os.sysconf("SC_OPEN_MAX"))
        os.chdir("/")
        # Named while /proc/self is still ours to write: not dumpable, it is root's.
        show_runit_name("runsvdir", [directory], whole=True)
        _become([int(uid)] + [int(gid) for gid in gids.split(",")])
        self.lock_fd = _take_lock(lock) if lock else -1
        if libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(errno.EPERM, "unable to become a child subreaper")
        self._open_loop()

    def _open_loop(self, quiet=False):
        """The channel, the loop and the signals' wakeup: everything but the process
        (``quiet``: no message when inotify cannot be had — the server's warm-up)."""
        self.channel = socket.socket(fileno=self.channel_fd)
        self.epoll = select.epoll()
        self.epoll.register(self.channel_fd, select.EPOLLIN)
        self.wakeup_r, self.wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wakeup_w, warn_on_full_buffer=False)
        for signum in _EVENTS + (signal.SIGCHLD,):
            signal.signal(signum, _nothing)
        self.epoll.register(self.wakeup_r, select.EPOLLIN)
        self.watched = {}  # pid -> whether its stops are reported: started by request
        self.posters = {}  # (st_dev, st_ino) of a side's directory -> its EventPoster
        self.inotify = self._watch_directory(quiet)
        self.running = True

    def run(self):
        self._send(wire.encode(wire.READY))
        while self.running:
            self.turn()
        return self.exit_code

    def turn(self, timeout=-1):
        """Wait for the next events (at most ``timeout`` seconds) and handle them."""
        try:
            events = self.epoll.poll(timeout)
        except InterruptedError:
            return
        watch = self.inotify
        for fd, _ in events:
            if fd == self.channel_fd:
                self._receive()
            elif fd == self.wakeup_r:
                self._signalled()
            elif watch is not None and fd == watch.fileno():
                self._changed()

    # -- events ---------------------------------------------------------------------------------
    def _signalled(self):
        try:
            data = os.read(self.wakeup_r, 64)
        except OSError:
            return
        for signum in set(data):
            if signum == signal.SIGCHLD:
                self._reap()
            elif signum in _EVENTS:
                if signum == signal.SIGALRM:
                    _forced_rescan(self.directory)
                self._send(wire.encode(wire.SIGNALLED, signum))

    def _reap(self):
        """Every child that ended (reported when root started it; an orphan of theirs is
        reaped and forgotten), and each stop and continue of one whose root asked for."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, _WAIT)
            except ChildProcessError:
                return
            if not pid:
                return
            stops = self.watched.get(pid)
            if os.WIFSTOPPED(wait_status) or os.WIFCONTINUED(wait_status):
                if stops:
                    self._send(wire.encode(wire.STOPPED if os.WIFSTOPPED(wait_status)
                                           else wire.CONTINUED, pid))
                continue
            if stops is not None:
                del self.watched[pid]
                self._send(wire.encode(wire.EXITED, pid, wait_status))

    def _watch_directory(self, quiet=False):
        """inotify on the tree's directory and its name in its parent (runsvchdir swaps a link
        there); None when there is none (root's scans then come only from its own causes)."""
        try:
            watch = inotify.Inotify()
            self._watches = {watch.add_watch(self.directory, _DIR_EVENTS): None}
            parent, _, base = self.directory.rpartition("/")  # os.path.split's, for a path
            self._watches[watch.add_watch(parent or "/", _DIR_EVENTS)] = base
        except OSError as exc:
            if not quiet:
                self._internal_error(exc)
            return None
        self.epoll.register(watch.fileno(), select.EPOLLIN)
        return watch

    def _changed(self):
        """A change of the directory: one ``c`` for root, however many events it was."""
        relevant = False
        for wd, _mask, _cookie, name in self.inotify.read_events():
            only = self._watches.get(wd, "")
            if only is None or only == name or wd not in self._watches:
                relevant = True
        if relevant:
            self._send(wire.encode(wire.CHANGED))

    def _internal_error(self, exc):
        warn("runsvdir " + self.directory, "internal error, continuing: %s: %s"
             % (type(exc).__name__, exc))

    # -- requests -------------------------------------------------------------------------------
    def _receive(self):
        try:
            data, fds, cut = receive(self.channel, _MESSAGE_MAX, _MAX_FDS)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.running = False  # root is gone, or done with us
            return
        answer, out = handle(self, data, fds, cut)
        messages = wire.pieces(answer[0], [_bytes(field) for field in answer[1:]])
        try:
            for message in messages[:-1]:
                self.channel.send(message)
            send(self.channel, messages[-1], out)
        except OSError:
            self.running = False
        finally:
            for fd in out:
                os.close(fd)

    def _send(self, message):
        try:
            self.channel.send(message)
        except OSError:
            self.running = False

    # -- the work, one function per kind of request ---------------------------------------------
    def list(self, fields, fds):
        limit = wire.number(fields[1]) if fields[1] else None
        listing = servicedir.list_services(fsdecode(fields[0]), limit)
        answer = [b"=", listing.identity[0], listing.identity[1], int(listing.more)]
        for name, found in listing.entries:
            if isinstance(found, OSError):
                answer += [name, b"e", found.errno or errno.EIO, b""]
            else:
                answer += [name, b"d", found[0], found[1]]
        return answer, []

    def open(self, fields, fds):
        """A service directory taken over (servicedir.open_service) and read (read_facts):
        its descriptors go to root; a mask says which of Opened.fds they are. Fields
        ``DIRECTORY [MAIN_SINCE LOG_SINCE PID...]``: what root's records say of a start under
        way (empty: none), looked for by these, not by the user's own records."""
        starting = None
        if len(fields) > 1:
            if len(fields) < 3 or len(fields) > 5:
                raise wire.BadMessage("an open's starts")
            starting = (wire.number(fields[1]) if fields[1] else -1,
                        wire.number(fields[2]) if fields[2] else -1,
                        {wire.number(field) for field in fields[3:]})
        opened = servicedir.open_service(fsdecode(fields[0]), started_in, starting)
        present = [fd for fd in opened.fds if fd >= 0]
        mask = b"".join(b"1" if fd >= 0 else b"0" for fd in opened.fds)
        answer = [b"=", mask, len(opened.warnings)] + list(opened.warnings)
        for side in (opened.main, opened.log):
            if side is None:
                answer.append(b"-")
                continue
            answer += [b"+", int(side.is_up), wire.to_optional(side.tally),
                       wire.to_optional(side.record), wire.to_optional(side.status),
                       side.started]
        return answer + _facts_fields(servicedir.read_facts(opened.dir_fd, opened.log_fd)), \
            present

    def facts(self, fields, fds):
        found = servicedir.read_facts(fds[0], fds[1] if len(fds) > 1 else -1)
        return [b"="] + _facts_fields(found), []

    def write(self, fields, fds):
        """Files of one directory, in their order: fields ``PREFIX (HOW PATH DATA)...`` —
        HOW ``place`` (servicedir.write_in_place) or ``new`` (the ``.new`` way). The answer
        says each that failed: its warning and errno."""
        prefix, rest = fsdecode(fields[0]), fields[1:]
        if not rest or len(rest) % 3:
            raise wire.BadMessage("files to write")
        failures = []
        for at in range(0, len(rest), 3):
            how, path, data = rest[at:at + 3]
            write = servicedir.write_in_place if how == b"place" else servicedir.write_new
            failed = write(fds[0], fsdecode(path), data, prefix)
            if failed is not None:
                failures += [failed[0], failed[1].errno or errno.EIO]
        return ([b"!", b"warn"] + failures if failures else [b"="]), []

    def remove(self, fields, fds):
        servicedir.remove(fds[0], fsdecode(fields[0]))
        return [b"="], []

    def fifo(self, fields, fds):
        prefix, name, flags = fsdecode(fields[0]), fsdecode(fields[1]), fields[2]
        return [b"="], [servicedir.open_fifo(fds[0], prefix, name, wire.number(flags))]

    def started(self, fields, fds):
        since = wire.number(fields[0])
        exclude = {wire.number(field) for field in fields[1:]}
        return [b"=", started_in(fds[0], since, exclude)], []

    def spawn(self, fields, fds):
        """Start a process: fields ``HOW ARGV0 N ARG... M NAME=VALUE... ROLES`` (no
        environment: the tree's; HOW 1: in a session of its own, 2: its stops reported), one
        descriptor per role — ``cwd``, ``in``, ``reopen`` (a FIFO to read from, opened again),
        ``out`` or the number it becomes in the child. The answer: its pid, and a pidfd for
        root to signal it by (a pid this agent reaped may be another process's by the time
        root signals)."""
        how, argv0 = fields[0], fields[1] or None
        count = wire.number(fields[2], 4096)
        argv = fields[3:3 + count]  # bytes, as execve takes them
        rest = fields[3 + count:]
        env_count = wire.number(rest[0], 4096)
        env = rest[1:1 + env_count] if env_count else _environ_bytes(self.environ)
        roles = rest[1 + env_count].split(b",") if rest[1 + env_count] else []
        if len(roles) != len(fds) or not argv:
            raise wire.BadMessage("roles and descriptors differ")
        cwd, moves = None, {1: self.output, 2: self.output}
        reopened = -1
        for role, fd in zip(roles, fds):
            if role == b"cwd":
                cwd = fd
            elif role == b"in":
                moves[0] = fd
            elif role == b"reopen":  # a logger's own reading end of the FIFO it is given
                reopened = moves[0] = os.open("/proc/self/fd/%d" % fd,
                                              os.O_RDONLY | os.O_CLOEXEC)
            elif role == b"out":
                moves[1] = fd
            elif role.isdigit():
                moves[int(role)] = fd
            else:
                raise wire.BadMessage("a role: %r" % role)
        try:
            pid = _spawn(argv, argv0, env, cwd, moves, how == b"1")
        finally:
            if reopened >= 0:
                os.close(reopened)
        self.watched[pid] = how == b"2"
        try:
            return [b"=", pid], [os.pidfd_open(pid)]
        except OSError:
            return [b"=", pid], []

    # supervise/event/ (protocol/eventdir.py): the one thing kept between requests — a side's
    # directory and the reader on its ok FIFO, for as long as root supervises the side
    def evopen(self, fields, fds):
        key = _directory_key(fds[0])
        poster = self.posters.get(key)
        if poster is None:  # root's descriptor is closed after the request: a copy of ours
            poster = self.posters[key] = EventPoster(
                fcntl.fcntl(fds[0], fcntl.F_DUPFD_CLOEXEC, 5))
        return [b"=", int(poster.is_open or poster.open())], []

    def evpost(self, fields, fds):
        if fields[0] not in (STATUS, READINESS):
            raise wire.BadMessage("an event: %r" % fields[0])
        poster = self.posters.get(_directory_key(fds[0]))
        if poster is not None:
            poster.post(fields[0])
        return [b"="], []

    def evclose(self, fields, fds):
        poster = self.posters.pop(_directory_key(fds[0]), None)
        if poster is not None:
            poster.close(post=fields[0] == b"1")
            os.close(poster.base_fd)
        return [b"="], []

    def sync(self, fields, fds):
        """Nothing: answered after every request before it (they are done in their order)."""
        return [b"="], []

    def bye(self, fields, fds):
        """Root is done with this tree: the code to exit with (0 after TERM, 111 after HUP,
        as runsvdir) once root closes the channel — until then the log side's last writes
        still come (usertree.UserTree._send_away)."""
        self.exit_code = wire.number(fields[0], 256)
        # Our copies of the tree's output — the log side's pipe — go, so that its logger sees
        # its EOF once the user's processes have closed theirs, and ends.
        null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        for fd in (1, 2, self.output):
            os.dup2(null, fd, inheritable=fd != self.output)
        os.close(null)
        return [b"="], []


# The kinds of agentwire.REQUESTS done here; the rest are agentlogs.KINDS.
_WORK = {wire.LIST: Agent.list, wire.OPEN: Agent.open, wire.FACTS: Agent.facts,
         wire.WRITE: Agent.write, wire.REMOVE: Agent.remove, wire.FIFO: Agent.fifo,
         wire.STARTED: Agent.started, wire.SPAWN: Agent.spawn, wire.BYE: Agent.bye,
         wire.SYNC: Agent.sync, wire.EVOPEN: Agent.evopen, wire.EVPOST: Agent.evpost,
         wire.EVCLOSE: Agent.evclose}


def handle(agent, data, fds, cut=False):
    """One request's answer — fields (the kind first) and descriptors to send — for
    ``agent``. The received descriptors are closed. A bug of ours in one request (an
    exception no handler expects) fails that request and is said: it never ends the agent,
    which a user's links in their own tree could otherwise make happen over and over."""
    fields = None
    try:
        fields = wire.decode(data) if not cut else None
        if fields is None:
            raise wire.BadMessage("a message cut short")
        if fields[0] == wire.BATCH:
            owned, fds = fds, []  # each request's own are closed by its handling
            return _batch(agent, fields[1:], owned)
        if fields[0] not in wire.REQUESTS:
            raise wire.BadMessage("unknown")
        work = _WORK.get(fields[0])
        if work is not None:
            return work(agent, fields[1:], fds)
        answer, out = agentlogs.work(fields[0], fields[1:], fds)
        return [b"="] + answer, out
    except wire.BadMessage as exc:
        return [b"!", b"bad", str(exc)], []
    except Refused as exc:
        return [b"!"] + agentlogs.refusal(exc), []
    except (IndexError, ValueError) as exc:
        return [b"!", b"bad", type(exc).__name__], []
    except FatalError as exc:
        return [b"!", b"fatal", str(exc)] + list(getattr(exc, "warnings", ())), []
    except OSError as exc:
        return [b"!", b"errno", exc.errno or errno.EIO], []
    except Exception as exc:  # noqa: BLE001 — said; root takes it for a failed request
        kind = fields[0] if fields and isinstance(fields[0], bytes) else b"a request"
        warn("runsvdir", "internal error in %s: %s: %s"
             % (fsdecode(kind), type(exc).__name__, exc))
        return [b"!", b"internal", type(exc).__name__], []
    finally:
        for fd in fds:
            os.close(fd)


def _batch(agent, fields, fds):
    """Requests sent as one (agentwire.BATCH): fields ``(COUNT REQUEST)...`` — each request
    encoded whole, with the COUNT descriptors that follow the last one's. Each is done in its
    order, exactly as if it had come alone; the answer carries each one's answer, encoded
    whole, after the count of its descriptors."""
    counts = [wire.number(field, _MAX_FDS + 1) for field in fields[0::2]]
    if len(fields) % 2 or not counts or len(counts) > wire.MAX_BATCH \
            or sum(counts) != len(fds):
        for fd in fds:
            os.close(fd)
        raise wire.BadMessage("a batch")
    answer, out, at = [b"="], [], 0
    for count, request in zip(counts, fields[1::2]):
        if request.startswith(b"%d:%s" % (len(wire.BATCH), wire.BATCH)):
            said, given = [b"!", b"bad", b"a batch in a batch"], []
            for fd in fds[at:at + count]:
                os.close(fd)
        else:
            said, given = handle(agent, request, fds[at:at + count])
        at += count
        answer += [len(given), wire.encode(*said)]
        out += given
    return answer, out


def _directory_key(fd):
    """The directory ``fd`` names, as a key: each descriptor root sends is a new number.
    (unix/fileidentity's, written out: an error here is the request's, and the agent's code
    stays in the modules the fork server packs.)"""
    found = os.fstat(fd)
    return found.st_dev, found.st_ino


def _facts_fields(found):
    """servicedir.Facts as fields (agentanswers.facts_from reads them)."""
    fields = [int(found.finish), len(found.hooks)]
    for letter, mode in sorted(found.hooks.items()):
        if isinstance(mode, OSError):
            fields += [letter, b"e", mode.errno or errno.EIO]
        else:
            fields += [letter, b"m", mode]
    return fields + [wire.to_optional(found.give_up), wire.to_optional(found.ready),
                     found.log_run, wire.to_optional(found.backoff), int(found.oneshot)]


def _bytes(field):
    if isinstance(field, int):
        return b"%d" % field
    if isinstance(field, str):
        return field.encode("utf-8", "surrogateescape")
    return field


# -- starting a process ----------------------------------------------------------------------------
# _posixsubprocess.fork_exec takes these arguments in CPython 3.11 to 3.13 (subprocess's own
# call); elsewhere — and wherever the fork server leans on no internal (unix/cpython.py) — the
# agent forks.
_VFORK_SPAWN = sys.version_info[:2] in ((3, 11), (3, 12), (3, 13)) \
    and _posixsubprocess is not None and leans_on_internals()
_environ_list = [None, None]  # the environment dict last asked for, as NAME=VALUE bytes


def _environ_bytes(environ):
    """``environ`` (a dict nobody changes: the agent's services' environment) as a list of
    ``NAME=VALUE`` bytes, made once."""
    if _environ_list[0] is not environ:
        _environ_list[:] = environ, [os.fsencode(name) + b"=" + os.fsencode(value)
                                     for name, value in environ.items()]
    return _environ_list[1]


def _spawn(argv, argv0, env, cwd, moves, new_session):
    """Start ``argv[0]`` (no PATH search, as runsv; ``argv``, ``argv0`` and the environment
    ``env``, ``NAME=VALUE`` each, in bytes) with ``moves`` — {target descriptor: source} — in
    place, in ``cwd`` (a directory descriptor), every signal at its default and
    none blocked, as a child of the C runsv starts. The pid; OSError when it could not be
    started or exec'd.

    A vfork (CPython's ``_posixsubprocess``, with what subprocess would give it): a fork
    copied this process's page tables, the child's Python copied each page it wrote before
    its execve, the exec tore the copy down and this process took a fault on each page it
    wrote next — 1.5 ms of CPU a process against 0.65. The child changes to ``cwd`` before
    the exec: this process goes there (``fchdir``, as the user: no path of the user's is
    resolved) around the call, and back to ``/``. Other descriptors than 0–2 to place (a
    processor's 4 and 5) or another interpreter: ``fork`` and ``execve``."""
    if not _VFORK_SPAWN or set(moves) - {0, 1, 2}:
        return _fork_spawn(argv, argv0, env, cwd, moves, new_session)
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    try:
        if cwd is not None:  # none: the agent's own, "/" (a loggers' stand-in)
            os.fchdir(cwd)
        try:
            pid = _posixsubprocess.fork_exec(
                [argv0 or argv[0]] + argv[1:], [argv[0]], False, (), None, env,
                moves.get(0, -1), -1, -1, moves.get(1, -1), -1, moves.get(2, -1),
                report_r, report_w, True, new_session, -1, None, None, None, -1, None, True)
        finally:
            os.chdir("/")
    finally:
        os.close(report_w)
    try:
        said = os.read(report_r, 64)  # nothing: the execve closed it
    finally:
        os.close(report_r)
    if said:  # "OSError:HEX:noexec" (subprocess's format), the child ended
        os.waitpid(pid, 0)
        parts = said.split(b":")
        number = int(parts[1], 16) if parts[0] == b"OSError" and len(parts) > 1 else errno.EIO
        raise OSError(number, os.strerror(number))
    return pid


def _fork_spawn(argv, argv0, env, cwd, moves, new_session):
    """``_spawn`` where no vfork will do: ``fork`` and ``execve`` ``argv[0]``, with ``moves`` —
    {target descriptor: source} — in place, in ``cwd`` (a directory descriptor), every signal
    at its default and none blocked, as a child of the C runsv starts. The pid; OSError when
    it could not be started or exec'd (the child said why, before it ended)."""
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover — the child: only system calls, then execve
        try:
            os.close(report_r)
            signal.set_wakeup_fd(-1)
            for signum in _EVENTS + (signal.SIGCHLD, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(signum, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, ())
            if new_session:
                os.setsid()
            if cwd is not None:
                os.fchdir(cwd)
            # sources out of the way of the targets first, then each onto its target
            high = max(list(moves) + [2]) + 1
            lifted = {target: fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, high)
                      for target, source in moves.items()}
            for target, source in lifted.items():
                os.dup2(source, target)
            os.execve(argv[0], [argv0 or argv[0]] + argv[1:],
                      dict(item.split(b"=", 1) for item in env))
        except OSError as exc:
            os.write(report_w, b"%d" % (exc.errno or errno.EIO))
        finally:
            os._exit(111)
    os.close(report_w)
    try:
        said = os.read(report_r, 16)  # nothing: the execve closed it
    finally:
        os.close(report_r)
    if said:
        os.waitpid(pid, 0)
        number = int(said)
        raise OSError(number, os.strerror(number))
    return pid


# -- becoming the user -----------------------------------------------------------------------------
def _become(ids):
    """The user's identity for good: its groups, gid and uid (real, effective and saved — no
    capability survives a uid that is not 0), and not dumpable."""
    uid, gids = ids[0], ids[1:]
    os.setgroups(gids)
    os.setresgid(gids[0], gids[0], gids[0])
    os.setresuid(uid, uid, uid)
    if libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(errno.EPERM, "unable to be not dumpable")
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gids[0],) * 3:
        raise PermissionError("unable to become uid %d" % uid)


def _take_lock(path):
    """``chpst -L``: the tree's lock, waited for (a tree of the user's own may hold it)."""
    fd = os.open(path, os.O_WRONLY | os.O_NDELAY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _forced_rescan(directory):
    """SIGALRM (Debian's runsvdir): a TAI64N label in ``DIR/.forced-rescan``, as the user."""
    try:
        fd = os.open(os.path.join(directory, FORCED_RESCAN), _RESCAN_FLAGS, 0o644)
    except OSError:
        return
    try:
        os.write(fd, tai64n_label(*runit_stamp(time.time_ns())).encode("ascii"))
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the fork server's warm-up --------------------------------------------------------------------
def warm_up(base, rounds=10, after_first=None):
    """Run an agent's loop here, in the fork server, on a scratch tree under ``base`` (the
    server's own), through a channel of our own: each kind of request ``rounds`` times, a
    signal, an end of a child and a change of the directory — everything an agent's loop does
    after its start. The interpreter rewrites a function's code the first times it runs it
    (CPython 3.11 at its 8th call) and specializes each instruction for the types it meets:
    done here, on an ``Agent`` (its attributes set as ``__init__`` sets them), that is in pages
    every agent shares, and stays as it is in each — warmed up on another type, each agent
    would rewrite the same code again, in pages of its own. ``after_first`` is called once the
    first round is done (the server copies the code that round ran, before the rounds that
    rewrite it). The signals' handlers are left as they were found."""
    tree = os.path.join(base, "service")
    service = os.path.join(tree, "w")
    os.makedirs(os.path.join(service, "log"))
    os.makedirs(os.path.join(base, "log"))
    for path in ("run", "log/run"):
        with open(os.path.join(service, path), "w") as handle_:
            handle_.write("#!/bin/sh\nexec true\n")
        os.chmod(os.path.join(service, path), 0o755)
    null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setblocking(False)
    agent = Agent.__new__(Agent)
    agent.directory, agent.environ = tree, {"PATH": "/usr/bin:/bin"}
    agent.channel_fd, agent.output, agent.lock_fd = theirs.detach(), null, -1
    agent._open_loop(quiet=True)
    held = []

    def answer():
        """The answer to the request just handled (events before it skipped)."""
        while True:
            data, fds, _cut = receive(ours, _MESSAGE_MAX, _MAX_FDS)
            held.extend(fds)
            fields = wire.decode(data)
            if fields[0] in (b"=", b"!"):
                return fields, fds

    def ask(*fields, fds=()):
        send(ours, wire.encode(*fields), fds)
        agent.turn()
        return answer()
    try:
        for number in range(rounds):
            if number == 1 and after_first is not None:
                after_first()
            ask(wire.LIST, tree, 1000)
            _, opened = ask(wire.OPEN, service)
            dir_fd, log_fd = opened[0], opened[1]
            ask(wire.FACTS, fds=[dir_fd, log_fd])
            ask(wire.WRITE, b"", b"new", b"supervise/stat", b"run", b"place",
                b"supervise/process", b"0" * 96, fds=[dir_fd])
            ask(wire.REMOVE, b"supervise/process", fds=[dir_fd])
            ask(wire.FIFO, b"", b"ok", os.O_RDONLY, fds=[dir_fd])
            ask(wire.BATCH, 1, wire.encode(wire.WRITE, b"", b"new", b"supervise/status", b"x"),
                1, wire.encode(wire.FIFO, b"", b"ok", os.O_RDONLY), fds=[dir_fd, dir_fd])
            ask(wire.EVOPEN, fds=[dir_fd])
            ask(wire.EVOPEN, fds=[log_fd])  # the second on a file system links the first's
            ask(wire.EVPOST, STATUS, fds=[dir_fd])
            ask(wire.EVCLOSE, 1, fds=[log_fd])
            ask(wire.EVCLOSE, 1, fds=[dir_fd])
            _, spawned = ask(wire.SPAWN, 2, b"", 1, b"./run", 0, b"cwd", fds=[dir_fd])
            _, found = ask(wire.LOPEN, os.path.join(base, "log"), 100, fds=[log_fd])
            log_dir = found[0]
            _, current = ask(wire.LCUR, fds=[log_dir])
            ask(wire.LMODE, 0o644, fds=[current[0]])
            ask(wire.LRENDER, b"@4000000000000000 ", b"a line\n" * 4, fds=[log_dir, current[0]])
            ask(wire.LWRITE, b"a line\n", fds=[log_dir, current[0]])
            ask(wire.LSYNC, fds=[current[0]])
            fields, _ = ask(wire.LNAME, 1, b"s", fds=[log_dir])
            ask(wire.LMV, b"current", fields[1], fds=[log_dir])
            ask(wire.LPRUNE, 1, fds=[log_dir])
            ask(wire.LKEEP, 1, b"1\nhalf", fds=[log_dir])
            ask(wire.LUNKEEP, fds=[log_dir])
            os.close(os.open(os.path.join(tree, ".w"), os.O_WRONLY | os.O_CREAT, 0o600))
            os.unlink(os.path.join(tree, ".w"))  # a change of the directory: a "c"
            signal.raise_signal(signal.SIGALRM)  # a rescan asked for, as by `sv alarm`
            deadline = time.monotonic() + 5
            while agent.watched and time.monotonic() < deadline:
                agent.turn(0.5)  # the child's end (SIGCHLD), the directory's change, ALRM
            for fd in held:
                os.close(fd)
            held.clear()
        for _ in range(rounds):  # the loop itself: requests waiting, then the channel's end
            send(ours, wire.encode(wire.LIST, tree, 1000))
        ours.shutdown(socket.SHUT_WR)
        agent.run()
    finally:
        # the warm-up's environment let go here: replaced in an agent, it would be freed
        # there (the pages of the dict, the list and their strings and bytes written)
        _environ_list[:] = None, None
        signal.set_wakeup_fd(-1)
        for signum in _EVENTS + (signal.SIGCHLD,):
            signal.signal(signum, signal.SIG_DFL)
        for fd in held + [null, agent.wakeup_r, agent.wakeup_w]:
            os.close(fd)
        for closing in (agent.epoll, agent.channel, agent.inotify, ours):
            if closing is not None:
                closing.close()
