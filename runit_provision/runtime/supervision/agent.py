"""runtime/supervision: a user's agent — the one process of a user's tree, as that user, that
does the tree's file work and starts its processes while root's tree supervises them.

A user's tree (``runsvdir-LOGIN`` with the generator's ``run``, usertree.py) is supervised by
root's tree itself: its scans, its services' state machines, their control FIFOs and exits are
root's work. Everything that touches what the user controls is the agent's: it looks at
``~/service``, opens and writes every file of it (servicedir.py's functions, the same a
supervisor of its own directories calls), and starts the user's processes — so they are its
children, their orphans come to it (it is their subreaper), never to root. Root holds the
descriptors the agent opened and hands them back with each piece of work; the agent keeps
nothing between requests but its children, so a killed agent costs nothing that runs: the next
one takes the work up.

It is forked from the fork server (forkserver.py): it closes every descriptor but its channels,
takes the user's identity for good (groups, gid, uid: no capability left), is not dumpable, and
takes the tree's lock (``chpst -L``). To ``ps`` and ``pidof`` it is ``runsvdir DIR``, the pid
``runsvdir-LOGIN/supervise/pid`` shows: a signal to it reaches root as an event (TERM and HUP
bring the user's tree down, ALRM rescans), as it would reach the runsvdir it stands for. The
user's loggers run in root's tree too; their file work — rendering each line, writing,
rotating — is the agent's (agentlogs.py), as is starting their stand-in and processors.

The messages are agentwire.py's. Requests are done one at a time in their order.
"""

import errno
import os

try:
    import _signal as signal  # the C module: `signal`'s wrappers make an enum of every number
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ...errors import FatalError
from ..unix.diag import warn
from ..svlog.dirwork import Refused
from ..unix.seqpacket import receive
from . import agentlogs, servicedir
from . import agentwire as wire

_MESSAGE_MAX = 256 * 1024
_MAX_FDS = 16
_EVENTS = (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM)
_PR_SET_CHILD_SUBREAPER = 36
FORCED_RESCAN = ".forced-rescan"


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


class Agent:
    def __init__(self, fields, fds):
        from ..unix.procname import show_runit_name
        from .hostedlogger import Identity
        from .identityhost import become, close_all_but
        from .loop import EventLoop
        from .spawn import Spawner
        uid, gids, lock, directory, new_session = fields[:5]
        channel_fd, stderr_fd = fds
        self.directory = directory
        self.new_session = new_session == "1"
        self.environ = dict(item.split("=", 1) for item in fields[5:])
        signal.set_wakeup_fd(-1)  # nothing of the server's (or the tree's) survives here
        for signum in _EVENTS + (signal.SIGCHLD, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        if self.new_session:
            os.setsid()  # runsvdir -P: the tree leads a session of its own, as runsv's child
        # What runsv gives ./run — the tree's output as stdout and (exec 2>&1) stderr — is what
        # the user's processes get; stdin is the tree's own /dev/null.
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(stderr_fd, 1)
        os.dup2(stderr_fd, 2)
        close_all_but({channel_fd})
        os.chdir("/")
        # Named while /proc/self is still ours to write: not dumpable, it is root's.
        show_runit_name("runsvdir", [directory], whole=True)
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # it holds what root sends
        self.identity = Identity(int(uid), [int(gid) for gid in gids.split(",")])
        become(self.identity)
        self.lock_fd = _take_lock(lock) if lock else -1
        _become_subreaper()
        import socket
        self.loop = EventLoop(handle_error=self._internal_error)
        self.channel = socket.socket(fileno=channel_fd)
        self.spawner = Spawner(stderr_fd=_own_stderr(), environ=self.environ)
        self.children = {}  # pid -> True: started by request, its end is reported
        self._changed_due = None

    def run(self):
        for signum in _EVENTS:
            self.loop.add_signal_handler(signum, lambda signum=signum: self._signalled(signum))
        self.loop.add_reader(self.channel.fileno(), self._receive)
        self._watch_directory()
        self._send(wire.encode(b"r"))
        self.loop.run()
        return self.exit_code

    exit_code = 0

    def _internal_error(self, exc):
        warn("runsvdir " + self.directory, "internal error, continuing: %s: %s"
             % (type(exc).__name__, exc))

    # -- events ---------------------------------------------------------------------------------
    def _signalled(self, signum):
        if signum == signal.SIGALRM:
            _forced_rescan(self.directory)
        self._send(wire.encode(b"s", int(signum)))

    def _watch_directory(self):
        """inotify on the tree's directory and its name in its parent (runsvchdir swaps a
        link there): a change is one ``c`` for root, however many events it was."""
        from ..unix import inotify
        mask = (inotify.IN_CREATE | inotify.IN_DELETE | inotify.IN_MOVED_FROM
                | inotify.IN_MOVED_TO | inotify.IN_DELETE_SELF | inotify.IN_MOVE_SELF
                | inotify.IN_ATTRIB)
        try:
            self._inotify = inotify.Inotify()
            parent, base = os.path.split(self.directory)
            self._base = base
            self._watches = {self._inotify.add_watch(self.directory, mask): None}
            self._watches[self._inotify.add_watch(parent or "/", mask)] = base
        except OSError as exc:
            self._internal_error(exc)
            return
        self.loop.add_reader(self._inotify.fileno(), self._on_inotify)

    def _on_inotify(self):
        relevant = False
        for wd, _mask, _cookie, name in self._inotify.read_events():
            only = self._watches.get(wd, "")
            if only is None or only == name or wd not in self._watches:
                relevant = True
        if relevant and self._changed_due is None:
            def due():
                self._changed_due = None
                self._send(wire.encode(b"c"))
            self._changed_due = self.loop.call_later(0, due)

    def _child_exited(self, pid, wait_status):
        self.children.pop(pid, None)
        self._send(wire.encode(b"x", pid, wait_status))

    # -- requests -------------------------------------------------------------------------------
    def _receive(self):
        try:
            data, fds, cut = receive(self.channel, _MESSAGE_MAX, _MAX_FDS)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.loop.stop()  # root is gone, or done with us
            return
        try:
            fields = wire.decode(data) if not cut else None
            work = _WORK.get(fields[0]) if fields else None
            if work is not None:
                answer, out = work(self, fields[1:], fds)
            elif fields[0] in agentlogs.KINDS:
                answer, out = agentlogs.work(fields[0], fields[1:], fds)
                answer = [b"="] + answer
            else:
                raise wire.BadMessage("unknown")
        except wire.BadMessage as exc:
            answer, out = [b"!", b"bad", str(exc)], []
        except Refused as exc:
            answer, out = [b"!"] + agentlogs.refusal(exc), []
        except (IndexError, ValueError) as exc:
            answer, out = [b"!", b"bad", type(exc).__name__], []
        except FatalError as exc:
            answer, out = [b"!", b"fatal", str(exc)] + list(getattr(exc, "warnings", ())), []
        except OSError as exc:
            answer, out = [b"!", b"errno", exc.errno or errno.EIO], []
        finally:
            for fd in fds:
                os.close(fd)
        self._answer(answer, out)

    def _answer(self, answer, out):
        import socket
        messages = wire.pieces(answer[0], [_bytes(field) for field in answer[1:]])
        try:
            for message in messages[:-1]:
                self.channel.send(message)
            socket.send_fds(self.channel, [messages[-1]], out) if out else \
                self.channel.send(messages[-1])
        except OSError:
            self.loop.stop()
        finally:
            for fd in out:
                os.close(fd)

    def _send(self, message):
        try:
            self.channel.send(message)
        except OSError:
            self.loop.stop()

    # -- the work, one function per kind of request ---------------------------------------------
    def list(self, fields, fds):
        limit = wire.number(fields[1]) if fields[1] else None
        listing = servicedir.list_services(os.fsdecode(fields[0]), limit)
        answer = [b"=", listing.identity[0], listing.identity[1], int(listing.more)]
        for name, found in listing.entries:
            if isinstance(found, OSError):
                answer += [name, b"e", found.errno or errno.EIO, b""]
            else:
                answer += [name, b"d", found[0], found[1]]
        return answer, []

    def open(self, fields, fds):
        """A service directory taken over (servicedir.open_service) and read (read_facts):
        its descriptors go to root; a mask says which of Opened.fds they are."""
        from .adoption import started_in
        opened = servicedir.open_service(os.fsdecode(fields[0]), started_in)
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
        how, path, prefix, data = fields
        write = servicedir.write_in_place if how == b"place" else servicedir.write_new
        failed = write(fds[0], os.fsdecode(path), data, os.fsdecode(prefix))
        if failed is None:
            return [b"="], []
        return [b"!", b"warn", failed[0], failed[1].errno or errno.EIO], []

    def remove(self, fields, fds):
        servicedir.remove(fds[0], os.fsdecode(fields[0]))
        return [b"="], []

    def fifo(self, fields, fds):
        prefix, name, flags = os.fsdecode(fields[0]), os.fsdecode(fields[1]), fields[2]
        return [b"="], [servicedir.open_fifo(fds[0], prefix, name, wire.number(flags))]

    def started(self, fields, fds):
        from .adoption import started_in
        since = wire.number(fields[0])
        exclude = {wire.number(field) for field in fields[1:]}
        return [b"=", started_in(fds[0], since, exclude)], []

    def spawn(self, fields, fds):
        """Start a process: fields ``HOW ARGV0 N ARG... M NAME=VALUE... ROLES`` (no
        environment: the tree's; HOW 1: in a session of its own, 2: its stops reported), one
        descriptor per role — ``cwd``, ``in``, ``reopen`` (a FIFO to read from, opened again),
        ``out`` or the number it becomes in the child. The answer: its pid, and a pidfd for root to signal
        it by (a pid this agent reaped may be another process's by the time root signals)."""
        new_session, argv0 = fields[0] != b"0", os.fsdecode(fields[1]) or None
        stops = fields[0] == b"2"  # its stops and continues are reported too (a stand-in)
        count = wire.number(fields[2], 4096)
        argv = [os.fsdecode(field) for field in fields[3:3 + count]]
        rest = fields[3 + count:]
        env_count = wire.number(rest[0], 4096)
        env = dict(os.fsdecode(item).split("=", 1) for item in rest[1:1 + env_count]) \
            if env_count else None
        roles = rest[1 + env_count].split(b",") if rest[1 + env_count] else []
        if len(roles) != len(fds) or not argv:
            raise wire.BadMessage("roles and descriptors differ")
        given = {"cwd": None, "in": None, "out": None}
        extra = []
        reopened = -1
        for role, fd in zip(roles, fds):
            if role.isdigit():
                extra.append((fd, int(role)))
            elif role == b"reopen":  # a logger's own reading end of the FIFO it is given
                reopened = given["in"] = os.open("/proc/self/fd/%d" % fd,
                                                 os.O_RDONLY | os.O_CLOEXEC)
            elif role.decode() in given:
                given[role.decode()] = fd
            else:
                raise wire.BadMessage("a role: %r" % role)
        try:
            pid = self.spawner.spawn(argv, cwd_fd=given["cwd"], stdin_fd=given["in"],
                                     stdout_fd=given["out"], new_session=new_session, env=env,
                                     extra_fds=extra, argv0=argv0)
        finally:
            if reopened >= 0:
                os.close(reopened)
        self.children[pid] = True
        if stops:
            self.loop.watch_child(pid, self._child_exited,
                                  on_stop=lambda: self._send(wire.encode(b"p", pid)),
                                  on_continue=lambda: self._send(wire.encode(b"q", pid)))
        else:
            self.loop.watch_child(pid, self._child_exited)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:
            return [b"=", pid], []
        return [b"=", pid], [pidfd]

    def bye(self, fields, fds):
        """Root is done with this tree: exit with the code it gives (0 after TERM, 111
        after HUP, as runsvdir), once the answer is out."""
        self.exit_code = wire.number(fields[0], 256)
        self.loop.call_later(0, self.loop.stop)
        return [b"="], []


_WORK = {b"list": Agent.list, b"open": Agent.open, b"facts": Agent.facts,
         b"write": Agent.write, b"remove": Agent.remove, b"fifo": Agent.fifo,
         b"started": Agent.started, b"spawn": Agent.spawn, b"bye": Agent.bye}


def _facts_fields(found):
    """servicedir.Facts as fields (agentlink.facts_from reads them)."""
    fields = [int(found.finish), len(found.hooks)]
    for letter, mode in sorted(found.hooks.items()):
        if isinstance(mode, OSError):
            fields += [letter, b"e", mode.errno or errno.EIO]
        else:
            fields += [letter, b"m", mode]
    return fields + [wire.to_optional(found.give_up), wire.to_optional(found.ready),
                     found.log_run]


def _bytes(field):
    if isinstance(field, int):
        return b"%d" % field
    if isinstance(field, str):
        return field.encode("utf-8", "surrogateescape")
    return field


def _own_stderr():
    """Keep the tree's output as it is for the user's processes, and make our own fd 2 a
    non-blocking description of it (its logger runs here: a write that waited for it would
    wait for ever); the processes' descriptor (close-on-exec, passed by the Spawner)."""
    import fcntl
    children = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, 3)
    try:
        own = os.open("/proc/self/fd/%d" % children, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return children  # a pipe we cannot open again: our fd 2 stays as it is
    os.dup2(own, 2, inheritable=False)
    os.close(own)
    return children


def _take_lock(path):
    """``chpst -L``: the tree's lock, waited for (a tree of the user's own may hold it)."""
    import fcntl
    fd = os.open(path, os.O_WRONLY | os.O_NDELAY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _become_subreaper():
    from ..unix.libc import errno_error, libc
    if libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise errno_error("prctl")


def _forced_rescan(directory):
    """SIGALRM (Debian's runsvdir): a TAI64N label in ``DIR/.forced-rescan``, as the user."""
    import time
    from ...protocol.tai64 import runit_stamp, tai64n_label
    try:
        fd = os.open(os.path.join(directory, FORCED_RESCAN), os.O_WRONLY | os.O_CREAT
                     | os.O_TRUNC | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError:
        return
    try:
        os.write(fd, tai64n_label(*runit_stamp(time.time_ns())).encode("ascii"))
    except OSError:
        pass
    finally:
        os.close(fd)
