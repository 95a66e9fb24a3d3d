"""runtime/supervision/loggers: loggers of another identity — one process per identity, forked
from the tree's fork server, that has wholly become that identity (``IdentityLogHosts``).

A tree run by root runs its own canonical loggers on its loop (hostedlogger.py). A logger whose
``chpst -u`` names anyone else must not run there: its log directory, ``config``, rotated files
and processor are that user's to plant, and root's process opening them could be made to block
(a FIFO), to read through a magic link what the user may not, or to grow without bound. So
each such identity gets a host of its own (docs/security.md): forked from the fork server, it
closes every descriptor but its channel, takes the identity (no capability left), is made not
dumpable, and runs that identity's loggers (HostedLogger, the same engine) on a loop of its
own. A signal sent to it acts on each of its loggers as on an svlogd. It exits when the tree
closes the channel. (A user's tree hosts nothing of root's: its output's logger is root's own,
``svlogd DIR`` on root's loop, writing root's directory — render/users.py.)

The channel is a SOCK_SEQPACKET socket pair, one message per datagram, fields NUL-separated:

    tree -> host   start KEY ARG...           + fds: the service's log/ directory, a reading
                                                end of its pipe (non-blocking, its own)
                   signal KEY SIGNUM
    host -> tree   exited KEY WAIT_STATUS
                   bye                        (ending on a signal: the next logger gets a new
                                                host)

The tree reads what a host sends strictly parsed, and never waits for a host: one that does
not take a message is killed, and its loggers start again in a new one. The tree's side is
``IdentityLogHosts``, the host's ``serve``.
"""

import os

import signal

from ...unix.diag import warn
from ..engine.side import NotYet

_MESSAGE_MAX = 65536  # a start message: log/run's arguments, read up to 4 KiB
_FDS_PER_LOGGER = 8  # its directory and pipe; per log directory its fd, lock, current
_HOST_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGINT, signal.SIGQUIT,
                 signal.SIGUSR1, signal.SIGUSR2)
_PR_SET_DUMPABLE = 4


def _encode(*fields):
    return b"\0".join(os.fsencode(str(field)) for field in fields)


def exited_from_message(data):
    """``(key, wait_status)`` of an ``exited`` message, ``"bye"``, or None for anything else
    (a host runs as a user: what it sends is read as untrusted).

    >>> exited_from_message(b"exited\\x003\\x00256"), exited_from_message(b"bye")
    ((3, 256), 'bye')
    >>> [exited_from_message(m) for m in (b"exited\\x00x\\x000", b"exited\\x001\\x0070000",
    ...                                   b"exited\\x00-1\\x000", b"", b"start\\x001",
    ...                                   b"stand-in\\x004242")]
    [None, None, None, None, None, None]
    """
    if data == b"bye":
        return "bye"
    fields = data.split(b"\0")
    if len(fields) != 3 or fields[0] != b"exited":
        return None
    key, status = fields[1], fields[2]
    if not (key.isdigit() and status.isdigit() and len(key) < 20 and len(status) < 6):
        return None
    if int(status) > 0xFFFF:
        return None
    return int(key), int(status)


# -- the tree's side ------------------------------------------------------------------------------
class _Host:
    """The tree's record of one host: its pid, identity, channel and loggers (key ->
    on_exit)."""

    __slots__ = ("pid", "identity", "channel", "loggers", "unsent")

    def __init__(self, pid, identity, channel):
        self.pid, self.identity, self.channel = pid, identity, channel
        self.loggers = {}
        self.unsent = {}  # key -> signals runsv sent before the logger's start went out


class _Logger:
    """One logger in an identity's host, as the supervisor whose log side it is holds it:
    ``shown_pid`` (its ``log/supervise/pid``: the host's), ``host`` (the IdentityLogHosts)
    and ``signal`` for what runsv sends it —
    a HostedLogger's face to the supervisor."""

    __slots__ = ("host", "shown_pid", "key", "record")

    def __init__(self, host, shown_pid, key, record):
        self.host, self.shown_pid, self.key, self.record = host, shown_pid, key, record

    def signal(self, signum):
        self.host.signal(self.record, self.key, signum)


class IdentityLogHosts:
    """A log host of several identities: the tree's hosts, one per identity taking new
    loggers, forked through the tree's fork server (tree/forkclient.py).

    ``start(identity, user, args, open_fds, on_exit, wake)`` gives ``(pid, logger)`` — the pid
    is what ``log/supervise/pid`` shows, the logger what the supervisor signals it by — and
    later calls ``on_exit(wait_status)`` once; ``(0, None)`` when the logger must be exec'd
    (a tree with no fork server: not root's); NotYet while the fork server or a host is not
    ready: ``wake()`` is called once (what waited tries again, and nothing else does);
    OSError when the host could not be made — the start failed, as a failed exec would.
    """

    def __init__(self, loop, stderr_fd, label, forks=None):
        from .othersoutput import OthersOutput
        self.loop = loop
        # what a host says reaches stderr_fd through this, as untrusted lines
        self.others_output = OthersOutput(loop, stderr_fd, label)
        self.label = label
        self.forks = forks  # the tree's ForkServer, or None: loggers are exec'd instead
        self._hosts = {}       # pid -> _Host, until reaped
        self._taking = {}      # identity -> _Host that takes new loggers
        self._forking = {}     # identity -> [wake] of those waiting for the host being made
        self._refused = {}     # identity -> (when, OSError): its host could not be made
        self._next_key = 0
        self.on_reaped = None  # called after a host has been reaped (a stopping tree waits)

    @property
    def pids(self):
        """Every logger host not yet reaped."""
        return set(self._hosts)

    def start(self, identity, user, args, open_fds, on_exit, wake):
        """Start one logger in ``identity``'s host (forked first if none takes it).

        ``open_fds()`` gives ``(log_fd, pipe_fd)`` — the service's ``log/`` directory
        (borrowed) and a reading end of its pipe (closed once sent). It is called on the next
        turn of the loop: the caller writes the logger's status first, so no line is logged
        before ``log/supervise`` says it runs, and no descriptor is held meanwhile."""
        host = self._taking.get(identity)
        if host is None:
            refused = self._refused.get(identity)
            if refused is not None and self.loop.monotonic() - refused[0] < 1.0:
                raise refused[1]  # the answer just came: "no" — this start fails
            self._fork(identity, user, wake)  # NotYet, or None: exec'd
            return 0, None
        return host.pid, _Logger(self, host.pid, self._start_in(host, args, open_fds, on_exit),
                                 host)

    def waited_for(self, logger):
        """What a logger's work waits for, beside it — what runsv's CONT must reach: its
        host, which its user may have stopped (the signal waits in the channel meanwhile)."""
        return (logger.record.pid,)

    def logger_ended(self, logger):
        """A logger of ours ended: its host has let it go already."""

    def _start_in(self, host, args, open_fds, on_exit):
        self._next_key += 1
        key = self._next_key
        host.loggers[key] = on_exit
        host.unsent[key] = []
        message = _encode("start", key, *args)
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

    def signal(self, host, key, signum):
        """``signum`` for one logger, as runsv would send it to an svlogd."""
        if host.channel is None or key not in host.loggers:
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

    def close(self):
        """The tree is done with its loggers: each host, its channel closed, exits (what it
        says from now on is not read)."""
        for host in list(self._hosts.values()):
            self._close_channel(host)
        self.others_output.close()

    def _fork(self, identity, user, wake):
        """The host taking ``identity``'s loggers, asked of the fork server: NotYet until it
        answers (``wake`` then), None when the tree has none (not root's: the logger is
        exec'd); OSError when the server does not take the request."""
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
                                         title], [theirs.fileno(), self.others_output.write_fd],
                               lambda answer: self._forked(identity, ours, answer))
        except NotYet:  # the server starts: asked again once it is ready
            ours.close()
            self.forks.on_ready.append(wake)
            raise
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self._forking[identity] = [wake]
        raise NotYet()

    def _forked(self, identity, ours, answer):
        """The fork server's answer: the host takes loggers from now on (the loggers that
        waited for it come at once), or it could not be made (their starts fail with its
        error for a second: ``_refused``)."""
        waiting = self._forking.pop(identity)
        if isinstance(answer, OSError):
            ours.close()
            self._refused[identity] = (self.loop.monotonic(), answer)
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
                return
            message = exited_from_message(data)
            if message == "bye":
                self._stop_taking(host)
            elif message is not None and message[0] in host.loggers:
                self._report(host, *message)

    def _report(self, host, key, wait_status):
        host.unsent.pop(key, None)
        on_exit = host.loggers.pop(key)
        if not host.loggers:
            self._close_channel(host)  # nothing left to run: it exits
        on_exit(wait_status)

    def _stop_taking(self, host):
        if self._taking.get(host.identity) is host:
            del self._taking[host.identity]

    def _close_channel(self, host):
        self._stop_taking(host)
        if host.channel is not None:
            self.loop.remove_reader(host.channel.fileno())
            host.channel.close()
            host.channel = None

    def _reaped(self, host, wait_status):
        self._receive(host)  # what it reported just before it went
        self._gone(host, wait_status)
        if self.on_reaped is not None:
            self.on_reaped()

    def _gone(self, host, wait_status):
        """``host`` runs nothing of ours any more: each of its loggers ended."""
        self._close_channel(host)
        self._hosts.pop(host.pid, None)
        loggers, host.loggers = host.loggers, {}
        for on_exit in loggers.values():
            on_exit(wait_status)


# -- the host's side ------------------------------------------------------------------------------
def serve(channel_fd, identity, stderr_fd, title):
    """Become ``identity`` and run its loggers in this (just forked) process; exits the
    process, never returns."""
    import gc
    gc.freeze()  # first of all: the tree's objects stay shared pages, never walked by the collector
    code = 111
    try:
        code = _HostProcess(channel_fd, identity, stderr_fd, title).run()
    except BaseException as exc:  # noqa: BLE001 — said, then this process ends
        warn("svlogd %s" % title, "fatal: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(code)


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
    from ...unix.chpststeps import switch_identity
    from ...unix.libc import errno_error, libc
    uid, gids = identity
    switch_identity(uid, gids)
    if libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise errno_error("prctl")
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gids[0],) * 3:
        raise PermissionError("unable to become uid %d" % uid)


class _HostProcess:
    """The host's process: wholly ``identity``, the loggers the tree sends over the channel
    (the tree's end of it is ``IdentityLogHosts``) on a loop of its own. Each ends as an
    svlogd would on what the tree sends, and its end is reported; a signal sent to this pid —
    ``log/supervise/pid`` of each — acts on each of them as on an svlogd."""

    def __init__(self, channel_fd, identity, stderr_fd, title):
        import socket
        from ...unix.procname import show_runit_name
        from ..engine.loop import EventLoop
        from ..engine.spawn import Spawner
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
        import resource
        # No core file: the user may signal it to death, and it holds what the tree sends.
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        from ...svlog.peek import is_available, scratch_pipe  # all loaded: forks/server.preload
        self.scratch = scratch_pipe() if is_available() else None
        become(identity)
        self.loop = EventLoop(handle_error=self._internal_error)
        self.title = title
        self.channel = socket.socket(fileno=channel_fd)
        # Processors run as the user with the user's environment, never the tree's (root's).
        self.spawner = Spawner(stderr_fd=2, environ=user_environ(identity.uid))
        self.loggers = {}  # key -> (HostedLogger, [fds])
        self.ending = 0    # the signal ending them all (-1: the tree is gone)

    def run(self):
        self.loop.add_reader(self.channel.fileno(), self._receive)
        for signum in _HOST_SIGNALS:
            self.loop.add_signal_handler(signum, lambda signum=signum: self._signalled(signum))
        self.loop.run()
        return 0

    def _internal_error(self, exc):
        warn("svlogd %s" % self.title, "internal error, continuing: %s: %s"
             % (type(exc).__name__, exc))

    def _signalled(self, signum):
        """A signal to log/supervise/pid: every logger here reacts as an svlogd would."""
        if signum in (signal.SIGHUP, signal.SIGALRM):
            self._each(signum)
            return
        self._say_bye()
        self._end(signum, signum)

    def _receive(self):
        from ...unix.seqpacket import receive
        try:
            data, fds, cut = receive(self.channel, _MESSAGE_MAX, 2)
        except (BlockingIOError, InterruptedError):
            return
        if not data:
            self.loop.remove_reader(self.channel.fileno())
            self._end(-1, signal.SIGTERM)  # the tree is gone, or done with us
            return
        if cut:
            for fd in fds:
                os.close(fd)
            warn("svlogd %s" % self.title, "a message from the tree was cut, ignored")
            return
        fields = data.split(b"\0")
        if fields[0] == b"start" and len(fds) == 2 and len(fields) > 1:
            self._start(int(fields[1]), [os.fsdecode(field) for field in fields[2:]], *fds)
            return
        for fd in fds:
            os.close(fd)
        if fields[0] == b"signal" and int(fields[1]) in self.loggers:
            self.loggers[int(fields[1])][0].signal(int(fields[2]))

    def _start(self, key, args, log_fd, pipe_fd):
        from ...unix.descriptors import ensure_fd_room
        from .hostedlogger import HostedLogger
        if self.ending:  # on our way out: a logger sent now starts again in the next host
            self._report(key, max(self.ending, 0) or signal.SIGTERM, [log_fd, pipe_fd])
            return
        ensure_fd_room(_FDS_PER_LOGGER * (len(self.loggers) + 1) + 32)
        logger = HostedLogger(self.loop, self.spawner, log_fd, pipe_fd, args, 2,
                              self.scratch, lambda status: self._logger_exited(key, status))
        self.loggers[key] = (logger, [log_fd, pipe_fd])
        logger.start()

    def _logger_exited(self, key, wait_status):
        _, fds = self.loggers.pop(key, (None, []))
        self._report(key, wait_status, fds)
        if self.ending and not self.loggers:
            self.loop.stop()

    def _report(self, key, wait_status, fds):
        for fd in fds:
            os.close(fd)
        try:
            self.channel.send(_encode("exited", key, wait_status))
        except OSError:
            pass  # the tree is gone: its successor finds our exit through a pidfd

    def _each(self, signum):
        for logger, _fds in list(self.loggers.values()):
            logger.signal(signum)

    def _say_bye(self):
        """Tell the tree that no more loggers may come here (the host is ending)."""
        try:
            self.channel.send(b"bye")
        except OSError:
            pass

    def _end(self, reason, signum):
        """Each logger ends as after ``signum`` (an unfinished line stays in the pipe);
        ``reason``: the signal that ends them (-1: the tree is gone). The loop stops once all
        have ended."""
        if not self.ending:
            self.ending = reason
        if not self.loggers:
            self.loop.stop()
            return
        self._each(signum)
