"""runtime/supervision: loggers of another identity — one process per identity, forked from the
tree, that has wholly become that identity.

A tree run by root runs its own canonical loggers on its loop (hostedlogger.py). A logger whose
``chpst -u`` names anyone else must not run there: its log directory, ``config``, rotated files
and processor are that user's to plant, and root's process opening and parsing them — with only
setfsuid between — can be made to block in ``open`` (a FIFO), to read through a magic link
(``/proc/self/fd/N``) what the user may not, or to grow without bound (``config`` a link to
``/dev/zero``). So each such identity gets a host of its own (docs/security.md):

- forked from the tree's fork server (forkserver.py: a clean interpreter, its pages shared
  copy-on-write, its collector frozen) when its first logger starts, it closes every
  descriptor but its channel, takes the identity — setgroups, setresgid, setresuid: no
  capability is left — and is made not dumpable (no ptrace, no ``/proc/PID/mem`` or
  ``environ`` for the user);
- it runs that identity's loggers (HostedLogger, the same engine) on a loop of its own;
  ``log/supervise/pid`` shows its pid, ``ps`` ``svlogd (loggers of runsvdir DIR as USER)``;
- a signal sent to it acts on each of its loggers as on an svlogd: TERM, INT, QUIT, USR1,
  USR2 end them (each is started again, in a new host), HUP reopens, ALRM rotates, KILL ends
  them at once (they take only what they wrote: nothing is lost), STOP/CONT stop it. ``sv`` on
  ``NAME/log`` reaches one logger, through the channel;
- it exits when the tree closes the channel: once its last logger has ended, or when the tree
  is gone (killed: each logger ends as after TERM, an unfinished line left in the pipe for the
  next tree's).

A user's tree forked by the tree (usertree.py) is a host too, for the loggers of its own
identity — its own output's logger (``runsvdir-LOGIN/log``) runs in it, shown by the user
tree's own stand-in (logstandin.py) rather than by its pid. The channel is a SOCK_SEQPACKET
socket pair, one message per datagram, fields NUL-separated:

    tree -> host   start KEY STAND_IN ARG...   + fds: the service's log/ directory, a reading
                                                 end of its pipe (non-blocking, its own)
                   signal KEY SIGNUM
                   stand-in                    (a user's tree: have a stand-in, and say which)
    host -> tree   exited KEY WAIT_STATUS
                   bye                         (ending on a signal: the next logger gets a new
                                                 host)
                   stand-in PID                (a user's tree: its stand-in now; 0: none)

STAND_IN is 0 for a logger host (its own pid is shown); for a user's tree, the stand-in the
tree shows: a logger whose stand-in has gone meanwhile ends at once (exited, as by TERM) and
is started again under the new one.

The tree reads what a host sends as it reads anything a user controls — strictly parsed,
anything else ignored — and never waits for a host: one that does not take a message is
killed, and its loggers start again in a new one. The tree's side is ``IdentityHosts``, the
host's ``serve``.
"""

import errno
import os

try:
    import _signal as signal  # the C module: `signal`'s wrappers make an enum of every number
except ImportError:  # pragma: no cover - other interpreters
    import signal

from ..unix.diag import warn
from .forkserver import NotReady
from .side import NotYet

_MESSAGE_MAX = 65536  # a start message: log/run's arguments, read up to 4 KiB
_FDS_PER_LOGGER = 8  # its directory and pipe; per log directory its fd, lock, current
_HOST_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGINT, signal.SIGQUIT,
                 signal.SIGUSR1, signal.SIGUSR2)
_PR_SET_DUMPABLE = 4


def _encode(*fields):
    return b"\0".join(os.fsencode(str(field)) for field in fields)


def exited_from_message(data):
    """``(key, wait_status)`` of an ``exited`` message, ``"bye"``, ``("stand-in", PID)``, or
    None for anything else (a host runs as a user: what it sends is read as untrusted).

    >>> exited_from_message(b"exited\\x003\\x00256"), exited_from_message(b"bye")
    ((3, 256), 'bye')
    >>> exited_from_message(b"stand-in\\x004242"), exited_from_message(b"stand-in\\x00x")
    (('stand-in', 4242), None)
    >>> [exited_from_message(m) for m in (b"exited\\x00x\\x000", b"exited\\x001\\x0070000",
    ...                                   b"exited\\x00-1\\x000", b"", b"start\\x001")]
    [None, None, None, None, None]
    """
    if data == b"bye":
        return "bye"
    fields = data.split(b"\0")
    if len(fields) == 2 and fields[0] == b"stand-in":
        pid = fields[1]
        if pid.isdigit() and len(pid) < 11 and int(pid) < 1 << 31:
            return "stand-in", int(pid)
        return None
    if len(fields) != 3 or fields[0] != b"exited":
        return None
    key, status = fields[1], fields[2]
    if not (key.isdigit() and status.isdigit() and len(key) < 20 and len(status) < 6):
        return None
    if int(status) > 0xFFFF:
        return None
    return int(key), int(status)


def parent_of(pid):
    """The parent pid of ``pid`` (field 4 of /proc/PID/stat), or 0 when it is gone."""
    from ..unix.procstat import stat_fields
    try:
        return int(stat_fields(str(pid))[4 - 3])
    except (OSError, IndexError, ValueError):
        return 0


# -- the tree's side ------------------------------------------------------------------------------
class _Host:
    """The tree's record of one host: its pid, identity, channel and loggers (key ->
    (on_exit, the pid shown)). A user's tree (``is_tree``) shows its ``stand_in``."""

    __slots__ = ("pid", "identity", "channel", "loggers", "unsent", "is_tree", "stand_in",
                 "asked", "waiting")

    def __init__(self, pid, identity, channel, is_tree=False):
        self.pid, self.identity, self.channel = pid, identity, channel
        self.loggers = {}
        self.unsent = {}  # key -> signals runsv sent before the logger's start went out
        self.is_tree = is_tree
        self.stand_in = 0  # a user's tree: the stand-in it said it shows, 0 while none
        self.asked = False  # a user's tree was asked for a stand-in and has not answered
        self.waiting = []  # wake of each logger waiting for that stand-in

    @property
    def shown(self):
        return self.stand_in if self.is_tree else self.pid


class IdentityHosts:
    """The tree's hosts, one per identity taking new loggers, forked through the tree's fork
    server (forkserver.py) — and the users' trees it forked, each a host for its own
    identity's loggers.

    ``start(identity, user, args, open_fds, on_exit, wake)`` and ``start_in_tree(pid, args,
    open_fds, on_exit, wake)`` give ``(pid, key)`` — the pid is what ``log/supervise/pid``
    shows — and later call ``on_exit(pid, wait_status)`` once; ``(0, None)`` when the logger
    must be exec'd instead; NotYet while the fork server, a host or a user's tree's stand-in
    is not ready: ``wake()`` is called once (what waited tries again, and nothing else does).
    """

    def __init__(self, loop, stderr_fd, label, forks=None):
        self.loop = loop
        self.stderr_fd = stderr_fd
        self.label = label
        self.forks = forks  # the tree's ForkServer, or None: loggers are exec'd instead
        self._hosts = {}       # pid -> _Host, until reaped (a user's tree: until it goes)
        self._taking = {}      # identity -> _Host that takes new loggers
        self._forking = {}     # identity -> [wake] of those waiting for the host being made
        self._refused = {}     # identity -> when the fork server could not make its host
        self._next_key = 0
        self.on_reaped = None  # called after a host has been reaped (a stopping tree waits)

    @property
    def pids(self):
        """Every logger host not yet reaped (users' trees are their services' to wait for)."""
        return {pid for pid, host in self._hosts.items() if not host.is_tree}

    def start(self, identity, user, args, open_fds, on_exit, wake):
        """Start one logger in ``identity``'s host (forked first if none takes it).

        ``open_fds()`` gives ``(log_fd, pipe_fd)`` — the service's ``log/`` directory
        (borrowed) and a reading end of its pipe (closed once sent). It is called on the next
        turn of the loop: the caller writes the logger's status first, so no line is logged
        before ``log/supervise`` says it runs, and no descriptor is held meanwhile."""
        host = self._taking.get(identity)
        if host is None:
            refused = self._refused.get(identity)
            if refused is not None and self.loop.monotonic() - refused < 1.0:
                return 0, None  # the answer just came: "no" — exec'd this time
            self._fork(identity, user, wake)  # NotYet, or None: exec'd
            return 0, None
        return host.pid, self._start_in(host, args, open_fds, on_exit)

    def start_in_tree(self, pid, args, open_fds, on_exit, wake, reopen=False):
        """Start one logger in the user's tree ``pid`` (add_tree), shown by its stand-in.
        ``reopen``: the pipe ``open_fds`` gives is the service's own, read-write (a FIFO of
        the user's, which root never opens): the tree opens its logger's reading end."""
        host = self._hosts.get(pid)
        if host is None or not host.is_tree or host.channel is None:
            return 0, None
        if not host.stand_in:
            host.waiting.append(wake)
            if not host.asked:
                host.asked = True
                self._send(host, _encode("stand-in"))
            raise NotYet()
        return host.stand_in, self._start_in(host, args, open_fds, on_exit, reopen)

    def add_tree(self, pid, identity, channel):
        """A user's tree the tree just forked, and the tree's end of its channel."""
        channel.setblocking(False)
        host = self._hosts[pid] = _Host(pid, identity, channel, is_tree=True)
        self.loop.add_reader(channel.fileno(), lambda: self._receive(host))

    def _start_in(self, host, args, open_fds, on_exit, reopen=False):
        self._next_key += 1
        key = self._next_key
        host.loggers[key] = (on_exit, host.shown)
        host.unsent[key] = []
        message = _encode("start-reopen" if reopen else "start", key, host.stand_in, *args)
        self.loop.call_later(0, lambda: self._send_start(host, key, message, open_fds))
        return key

    def _send_start(self, host, key, message, open_fds):
        import socket
        if host.channel is None or key not in host.loggers:
            return  # the host went first: its reaping reports this logger
        try:
            log_fd, pipe_fd = open_fds()
        except OSError as exc:
            warn(self.label, "unable to open the log pipe for the logger host", exc)
            self._report(host, key, 111 << 8)
            return
        try:
            socket.send_fds(host.channel, [message], [log_fd, pipe_fd])
            for signum in host.unsent.pop(key, ()):  # sent in their order, after the start
                host.channel.send(_encode("signal", key, int(signum)))
        except OSError as exc:
            self._unreachable(host, exc)
        finally:
            os.close(pipe_fd)

    def signal(self, pid, key, signum):
        """``signum`` for one logger, as runsv would send it to an svlogd."""
        host = self._hosts.get(pid)
        if host is None or host.channel is None or key not in host.loggers:
            return
        if key in host.unsent:  # its start has not gone out yet: the signal follows it
            host.unsent[key].append(signum)
            return
        self._send(host, _encode("signal", key, int(signum)))

    def _send(self, host, message):
        try:
            host.channel.send(message)
        except OSError as exc:
            self._unreachable(host, exc)

    def _unreachable(self, host, exc):
        """A host that does not take a message (stopped, stuck, gone) is not waited for: it is
        killed, and its reaping ends its loggers, which start again in a new host."""
        warn(self.label, "the logger host of uid %d does not answer, killing it"
             % host.identity.uid, exc)
        self._close_channel(host)
        try:
            os.kill(host.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if host.is_tree:
            self._tree_gone(host)

    def close(self):
        """The tree is done with its loggers: each host, its channel closed, exits."""
        for host in list(self._hosts.values()):
            self._close_channel(host)

    def _fork(self, identity, user, wake):
        """The host taking ``identity``'s loggers, asked of the fork server: NotYet until it
        answers (``wake`` then), None when there is none (the logger is exec'd)."""
        import socket
        if self.forks is None:
            return None
        if identity in self._forking:
            self._forking[identity].append(wake)
            raise NotYet()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        title = "(loggers of %s as %s)" % (self.label, user)
        try:
            self.forks.request(b"host", [identity.uid, ",".join(map(str, identity.gids)),
                                         title], [theirs.fileno(), self.stderr_fd],
                               lambda answer: self._forked(identity, ours, answer))
        except NotReady:
            ours.close()
            self.forks.on_ready.append(wake)
            raise NotYet() from None
        except OSError as exc:
            warn(self.label, "unable to fork a logger host, running svlogd instead", exc)
            ours.close()
            return None
        finally:
            theirs.close()
        self._forking[identity] = [wake]
        raise NotYet()

    def _forked(self, identity, ours, answer):
        """The fork server's answer: the host takes loggers from now on (the loggers that
        waited for it come at once), or it could not be made (they are exec'd for a while:
        ``_refused``)."""
        waiting = self._forking.pop(identity)
        if isinstance(answer, OSError):
            if answer.errno != errno.ESHUTDOWN:  # not when the tree is stopping
                warn(self.label, "unable to fork a logger host, running svlogd instead", answer)
            ours.close()
            self._refused[identity] = self.loop.monotonic()
        else:
            ours.setblocking(False)
            host = self._hosts[answer] = self._taking[identity] = _Host(answer, identity, ours)
            self.loop.add_reader(ours.fileno(), lambda: self._receive(host))
            self.loop.watch_child(answer, lambda _pid, status: self._reaped(host, status))
            self.loop.call_later(0, lambda: self._close_if_idle(host))
        for wake in waiting:
            wake()

    def _close_if_idle(self, host):
        """A host nobody came for (the logger that asked was stopped meanwhile) exits."""
        if not host.loggers:
            self._close_channel(host)

    def _receive(self, host):
        """Every message waiting on ``host``'s channel."""
        while host.channel is not None:
            try:
                data = host.channel.recv(_MESSAGE_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the host has gone: its reaping reports what it still had
                self._close_channel(host)
                if host.is_tree:
                    self._tree_gone(host)
                return
            message = exited_from_message(data)
            if message == "bye":
                self._stop_taking(host)
            elif message is None:
                continue
            elif message[0] == "stand-in":
                # shown in log/supervise/pid, where sv and a successor tree may signal it: it
                # must be the user tree's own child, whatever the tree says
                if host.is_tree and (not message[1] or parent_of(message[1]) == host.pid):
                    host.stand_in, host.asked = message[1], False
                    if host.stand_in:
                        waiting, host.waiting = host.waiting, []
                        for wake in waiting:
                            wake()
            elif message[0] in host.loggers:
                self._report(host, *message)

    def _report(self, host, key, wait_status):
        host.unsent.pop(key, None)
        on_exit, shown = host.loggers.pop(key)
        if not host.loggers and not host.is_tree:
            self._close_channel(host)  # nothing left to run: it exits
        on_exit(shown, wait_status)

    def _stop_taking(self, host):
        if self._taking.get(host.identity) is host:
            del self._taking[host.identity]

    def _close_channel(self, host):
        self._stop_taking(host)
        if host.channel is not None:
            self.loop.remove_reader(host.channel.fileno())
            host.channel.close()
            host.channel = None

    def _tree_gone(self, host):
        """A user's tree has gone (its process ends its loggers with it): each ends as killed."""
        if self._hosts.get(host.pid) is host:
            del self._hosts[host.pid]
        waiting, host.waiting = host.waiting, []
        for wake in waiting:
            self.loop.call_later(0, wake)  # it will not say a stand-in: start elsewhere
        loggers, host.loggers = host.loggers, {}
        for on_exit, shown in loggers.values():
            on_exit(shown, signal.SIGKILL)

    def _reaped(self, host, wait_status):
        self._receive(host)  # what it reported just before it went
        self._close_channel(host)
        del self._hosts[host.pid]
        loggers, host.loggers = host.loggers, {}
        for on_exit, shown in loggers.values():
            on_exit(shown, wait_status)
        if self.on_reaped is not None:
            self.on_reaped()


# -- the host's side ------------------------------------------------------------------------------
def serve(channel_fd, identity, stderr_fd, title):
    """Become ``identity`` and run its loggers in this (just forked) process; exits the
    process, never returns."""
    import gc
    gc.freeze()  # first of all: the tree's objects stay shared pages, never walked by the collector
    code = 111
    try:
        code = _Serving(channel_fd, identity, stderr_fd, title).run()
    except BaseException as exc:  # noqa: BLE001 — said, then this process ends
        warn("svlogd %s" % title, "fatal: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(code)


def _reading_end(pipe_fd):
    """A reading end of the FIFO ``pipe_fd`` of its own (non-blocking), in place of it: a
    logger must see EOF once the service is gone, so it may hold no writer."""
    try:
        return os.open("/proc/self/fd/%d" % pipe_fd, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    finally:
        os.close(pipe_fd)


def close_all_but(keep):
    """Close every descriptor but ``keep`` (and 0, 1, 2)."""
    low = 0
    for fd in sorted(set(keep) | {0, 1, 2}):
        if low < fd:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low, os.sysconf("SC_OPEN_MAX")))


def user_environ(uid):
    """What a process of ``uid`` gets from a logger host: its own passwd entry's HOME, USER,
    LOGNAME and SHELL, and a PATH — nothing of the tree's environment."""
    import pwd
    environ = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        return environ
    environ.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name,
                   SHELL=entry.pw_shell or "/bin/sh")
    return environ


def become(identity):
    """Take ``identity`` for good: its groups, gid and uid (real, effective and saved — no
    capability survives a uid that is not 0), and not dumpable."""
    from ..unix.libc import errno_error, libc
    uid, gids = identity
    os.setgroups(list(gids))
    os.setresgid(gids[0], gids[0], gids[0])
    os.setresuid(uid, uid, uid)
    if libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise errno_error("prctl")
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gids[0],) * 3:
        raise PermissionError("unable to become uid %d" % uid)


def preload():
    """Import now whatever the host may import later: the identity it takes may not read this
    installation (a virtualenv under /root, mode 0700), and an import after ``become`` would
    end the host."""
    import ctypes  # noqa: F401  (peek, libc)
    import ipaddress  # noqa: F401  (a config's IPv6 UDP target)
    import select  # noqa: F401  (peek)
    import socket  # noqa: F401  (the channel, UDP targets)
    from ..svlog import config, engine, logdir, options, peek  # noqa: F401
    from ..unix import fdlimit  # noqa: F401
    from ..unix.libc import libc
    from . import hostedlogger  # noqa: F401
    libc()


class LoggerServing:
    """The loggers a tree sends over a channel, run on a loop: a logger host's own, or a user's
    tree's (usertree.py). What differs is who stands for them: a host itself (every signal to
    its pid acts on each of its loggers), a user's tree its stand-in (``stand_ins``, its
    LogHost: ``attach``/``detach`` and the pid of the stand-in loggers get now)."""

    def __init__(self, loop, channel, spawner, scratch, title, stand_ins=None, stderr_fd=2):
        self.loop = loop
        self.channel = channel
        self.spawner = spawner
        self.scratch = scratch
        self.title = title
        self.stand_ins = stand_ins
        self.stderr_fd = stderr_fd  # where the loggers' messages go: the tree's stderr
        self.loggers = {}  # key -> (HostedLogger, [fds], its stand-in's pid or 0)

    def open(self):
        self.loop.add_reader(self.channel.fileno(), self._receive)

    def _receive(self):
        from ..unix.seqpacket import receive
        try:
            data, fds, cut = receive(self.channel, _MESSAGE_MAX, 2)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.loop.remove_reader(self.channel.fileno())
            self.tree_gone()
            return
        if cut:
            for fd in fds:
                os.close(fd)
            warn("svlogd %s" % self.title, "a message from the tree was cut, ignored")
            return
        fields = data.split(b"\0")
        if fields[0] in (b"start", b"start-reopen") and len(fds) == 2 and len(fields) > 2:
            if fields[0] == b"start-reopen":
                fds[1] = _reading_end(fds[1])
            self._start(int(fields[1]), int(fields[2]),
                        [os.fsdecode(field) for field in fields[3:]], *fds)
            return
        for fd in fds:
            os.close(fd)
        if fields[0] == b"signal" and int(fields[1]) in self.loggers:
            self.loggers[int(fields[1])][0].signal(int(fields[2]))
        elif fields[0] == b"stand-in" and self.stand_ins is not None:
            self.say_stand_in(self.stand_ins.stand_in())

    def tree_gone(self):
        """The tree closed its end (it is gone, or done with us). A user's tree goes on running
        what it runs: the loggers are its own identity's, on pipes and files it holds."""

    def say_stand_in(self, pid):
        """A user's tree tells the tree which stand-in its loggers get now (0: none)."""
        try:
            self.channel.send(_encode("stand-in", pid))
        except OSError:
            pass  # the tree is gone

    def _start(self, key, stand_in, args, log_fd, pipe_fd):
        from ..unix.fdlimit import ensure_fd_room
        from .hostedlogger import HostedLogger
        refused = self.refuses(stand_in)
        if refused:
            self._report(key, refused, [log_fd, pipe_fd])
            return
        ensure_fd_room(_FDS_PER_LOGGER * (len(self.loggers) + 1) + 32)
        logger = HostedLogger(self.loop, self.spawner, log_fd, pipe_fd, args, self.stderr_fd,
                              self.scratch,
                              lambda status: self._logger_exited(key, status))
        self.loggers[key] = (logger, [log_fd, pipe_fd], stand_in)
        if self.stand_ins is not None:
            self.stand_ins.attach(stand_in, logger)
        logger.start()

    def refuses(self, stand_in):
        """The wait status a logger starting now ends with at once (0: it may start): under a
        stand-in that has gone meanwhile, as by TERM (started again under the next one)."""
        if self.stand_ins is not None and stand_in != self.stand_ins.current_pid():
            return signal.SIGTERM
        return 0

    def _logger_exited(self, key, wait_status):
        logger, fds, stand_in = self.loggers.pop(key, (None, [], 0))
        if self.stand_ins is not None and logger is not None:
            self.stand_ins.detach(stand_in, logger)
        self._report(key, wait_status, fds)

    def _report(self, key, wait_status, fds):
        for fd in fds:
            os.close(fd)
        try:
            self.channel.send(_encode("exited", key, wait_status))
        except OSError:
            pass  # the tree is gone: its successor finds our exit through a pidfd

    def drain(self):
        """The process is ending: each logger writes what its pipe holds now."""
        for logger, _fds, _stand_in in list(self.loggers.values()):
            logger.drain()

    def each(self, signum):
        for logger, _fds, _stand_in in list(self.loggers.values()):
            logger.signal(signum)


class _Serving(LoggerServing):
    """The host's process: the loggers the tree sends, the signals sent to this pid."""

    def __init__(self, channel_fd, identity, stderr_fd, title):
        import socket
        from ..unix.procname import show_runit_name
        from .loop import EventLoop
        from .spawn import Spawner
        # Nothing of the tree's survives here: its signal handlers and wakeup fd, and its
        # descriptors — control and ok FIFOs (a reader on ok would make a dead tree look alive
        # to sv), other services' pipes and directories, epoll, inotify.
        signal.set_wakeup_fd(-1)
        for signum in _HOST_SIGNALS + (signal.SIGCHLD,):
            signal.signal(signum, signal.SIG_DFL)
        if stderr_fd != 2:
            os.dup2(stderr_fd, 2)  # where the loggers' messages go (fd 2 may be the tree's area)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):  # the tree's: a reader of its stdout must not wait for this process
            os.dup2(null, fd)
        os.close(null)
        close_all_but({channel_fd})
        os.chdir("/")
        show_runit_name("svlogd", [title], whole=True)
        # Processors run as the user with the user's environment, never the tree's (root's).
        spawner = Spawner(stderr_fd=2, environ=user_environ(identity.uid))
        import resource
        # No core file: the user may signal it to death, and it holds what the tree sends.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        preload()
        from ..svlog.peek import is_available, scratch_pipe
        scratch = scratch_pipe() if is_available() else None
        become(identity)
        loop = EventLoop(handle_error=self._internal_error)
        LoggerServing.__init__(self, loop, socket.socket(fileno=channel_fd), spawner, scratch,
                               title)
        self.ending = 0    # the signal ending it (-1: the tree is gone): exit once all ended

    def run(self):
        self.open()
        for signum in _HOST_SIGNALS:
            self.loop.add_signal_handler(signum, lambda signum=signum: self._signalled(signum))
        self.loop.run()
        return 0

    def _internal_error(self, exc):
        warn("svlogd %s" % self.title, "internal error, continuing: %s: %s"
             % (type(exc).__name__, exc))

    def refuses(self, stand_in):
        """On our way out: a logger sent now starts again in the next host."""
        return (max(self.ending, 0) or signal.SIGTERM) if self.ending else 0

    def _logger_exited(self, key, wait_status):
        LoggerServing._logger_exited(self, key, wait_status)
        if self.ending and not self.loggers:
            self.loop.stop()

    # -- ending -------------------------------------------------------------------------------
    def tree_gone(self):
        """The tree closed its end — it has no logger left here, or it is gone (killed):
        each logger ends as after TERM (an unfinished line stays in the pipe), then exit."""
        self._end(-1, signal.SIGTERM)

    def _signalled(self, signum):
        """A signal to log/supervise/pid: every logger here reacts as an svlogd would."""
        if signum in (signal.SIGHUP, signal.SIGALRM):
            self.each(signum)
            return
        try:
            self.channel.send(b"bye")
        except OSError:
            pass
        self._end(signum, signum)

    def _end(self, reason, signum):
        if not self.ending:
            self.ending = reason
        if not self.loggers:
            self.loop.stop()
            return
        self.each(signum)
