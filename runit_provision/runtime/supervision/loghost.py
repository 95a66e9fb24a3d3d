"""runtime/supervision: the logger host — one process, forked from the tree, running its loggers.

A runsvdir tree runs every canonical ``log/run`` (hostedlog.py) on the svlogd engine instead of
exec'ing an svlogd per service. They run here, in a second process, not in the tree itself:

- ``log/supervise/pid`` names a process that behaves as an svlogd under the signals people and
  monitoring tools send it — TERM: every hosted logger ends and is started again; HUP: reopen;
  ALRM: rotate; KILL: the host dies and its loggers start again, losing nothing (svlog/peek.py);
  STOP/CONT — and never touches a service. (An svlogd each would cost a process per service;
  the host is one fork of the tree, its pages shared.)
- The tree can die (kill -9, the OOM killer) without the loggers: the host notices its end of
  the channel close, writes the whole lines its pipes hold, leaves the rest there and exits;
  the next tree takes the pipes over.

The channel is a SOCK_SEQPACKET socket pair, one message per datagram, fields separated by NUL:

    tree -> host   start KEY CHPST USER ARG…  + fds (the service's log/ directory, its pipe)
                   signal KEY SIGNUM
    host -> tree   exited KEY WAIT_STATUS
                   bye                        (the host exits: the next start forks a new one)

The tree side is ``LogHost``; the host side is ``serve``, which never returns.
"""

import gc
import os
import signal

from ..unix.diag import warn
from ..unix.fdlimit import ensure_fd_room
from ..unix.procname import show_runit_name
from .loop import EventLoop
from .spawn import Spawner

_MESSAGE_MAX = 65536
_FDS_PER_LOGGER = 8
_MAX_FDS = 2
_HOST_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGINT, signal.SIGQUIT,
                 signal.SIGUSR1, signal.SIGUSR2)


def _encode(*fields):
    return b"\0".join(os.fsencode(str(field)) for field in fields)


def _decode(data):
    return [os.fsdecode(field) for field in data.split(b"\0")]


# -- the tree's side ------------------------------------------------------------------------------
class _Process:
    """One forked host: its channel and the loggers it runs (key -> on_exit)."""

    def __init__(self, pid, channel):
        self.pid, self.channel = pid, channel
        self.loggers = {}
        self.accepting = True


class LogHost:
    """The tree's logger host: forked when a logger first needs it, forked again once it is
    ending or dead (an ending host finishes its loggers while the new one takes the next).

    ``start(log_fd, pipe_fd, canonical, on_exit)`` returns ``(key, pid)`` — the pid is what
    ``log/supervise/pid`` shows — and later calls ``on_exit(pid, wait_status)`` once.
    """

    def __init__(self, loop, stderr_fd, label):
        self.loop = loop
        self.stderr_fd = stderr_fd
        self.label = label
        self._current = None
        self._processes = {}  # pid -> _Process
        self._next_key = 0
        self.on_reaped = None  # called after a host process has been reaped

    @property
    def pids(self):
        """Every host process not yet reaped."""
        return set(self._processes)

    def start(self, open_fds, canonical, on_exit):
        """Start one logger in the host (forking one first if none accepts).

        ``open_fds()`` gives ``(log_fd, pipe_fd)`` to pass — the service's ``log/`` directory
        (borrowed) and a reading end of its pipe (ours, closed once sent). It is called when
        the host is told, on the next turn of the loop: the caller writes the logger's status
        first, so no line is logged before ``log/supervise`` says it runs (as with a process,
        which cannot write before it is spawned and recorded), and no descriptor is held
        meanwhile (a tree starting a hundred loggers at once must not hold two each)."""
        if self._current is None:
            self._current = self._fork()
        process = self._current
        self._next_key += 1
        key = self._next_key
        fields = ["start", key, canonical.chpst or "", canonical.user or ""] + canonical.args
        process.loggers[key] = on_exit

        def send():
            import socket
            if process.channel is None or key not in process.loggers:
                return  # the host died first: its reaping reports this logger
            try:
                log_fd, pipe_fd = open_fds()
            except OSError as exc:
                warn(self.label, "unable to open the log pipe for the logger host", exc)
                process.loggers.pop(key)(process.pid, 111 << 8)  # as a logger that failed
                return
            try:
                socket.send_fds(process.channel, [_encode(*fields)], [log_fd, pipe_fd])
            except OSError as exc:
                warn(self.label, "unable to reach the logger host", exc)
            finally:
                os.close(pipe_fd)
        self.loop.call_later(0, send)
        return key, process.pid

    def signal(self, pid, key, signum):
        process = self._processes.get(pid)
        if process is not None and process.channel is not None and key in process.loggers:
            try:
                process.channel.send(_encode("signal", key, int(signum)))
            except OSError as exc:
                warn(self.label, "unable to reach the logger host", exc)

    def close(self):
        """The tree is done with its loggers: each host, its channel closed, exits."""
        self._current = None
        for process in self._processes.values():
            self._close_channel(process)

    def _fork(self):
        import socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:  # the host: never returns
            ours.close()
            serve(theirs.detach(), self.stderr_fd, self.label)
        theirs.close()
        ours.setblocking(False)
        process = self._processes[pid] = _Process(pid, ours)
        self.loop.add_reader(ours.fileno(), lambda: self._receive(process))
        self.loop.watch_child(pid, lambda _pid, status: self._reaped(process, status))
        return process

    def _receive(self, process):
        """Every message waiting on ``process``'s channel."""
        while process.channel is not None:
            try:
                data = process.channel.recv(_MESSAGE_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # the host has exited: its reaping reports what it still had
                self._close_channel(process)
                return
            fields = _decode(data)
            if fields[0] == "exited":
                on_exit = process.loggers.pop(int(fields[1]), None)
                if on_exit is not None:
                    on_exit(process.pid, int(fields[2]))
            elif fields[0] == "bye":
                self._retire(process)

    def _retire(self, process):
        """``process`` takes no new loggers: the next start forks another host."""
        process.accepting = False
        if self._current is process:
            self._current = None

    def _close_channel(self, process):
        self._retire(process)
        if process.channel is not None:
            self.loop.remove_reader(process.channel.fileno())
            process.channel.close()
            process.channel = None

    def _reaped(self, process, wait_status):
        self._receive(process)  # exits it reported just before it went
        self._close_channel(process)
        del self._processes[process.pid]
        loggers, process.loggers = process.loggers, {}
        for on_exit in loggers.values():
            on_exit(process.pid, wait_status)
        if self.on_reaped is not None:
            self.on_reaped()


# -- the host's side ------------------------------------------------------------------------------
def serve(channel_fd, stderr_fd, label):
    """Run the logger host in this (just forked) process; exits the process, never returns."""
    code = 111
    try:
        code = _Host(channel_fd, stderr_fd, label).run()
    except BaseException as exc:  # noqa: BLE001 — said, then this process ends
        warn("svlogd (%s)" % label, "fatal: %s: %s" % (type(exc).__name__, exc))
    finally:
        os._exit(code)


def _close_all_but(keep):
    """Close every descriptor but ``keep`` (and 0, 1, 2)."""
    low = 0
    for fd in sorted(set(keep) | {0, 1, 2}):
        if low < fd:  # closerange(n, n) would close everything from n (close_range's ~0)
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, max(low, os.sysconf("SC_OPEN_MAX")))


class _Host:
    def __init__(self, channel_fd, stderr_fd, label):
        # Whatever the tree held is not ours: control and ok FIFOs (a reader on ok would make a
        # dead tree look alive to sv), its log pipes' write ends, epoll, inotify. Our own
        # messages go where the loggers' go (the tree's fd 2 may be its status area).
        os.dup2(stderr_fd, 2)
        _close_all_but({channel_fd})
        stderr_fd = 2
        signal.set_wakeup_fd(-1)
        for signum in _HOST_SIGNALS + (signal.SIGCHLD,):
            signal.signal(signum, signal.SIG_DFL)
        gc.freeze()  # the tree's objects stay shared pages: the collector never touches them
        show_runit_name("svlogd", ["(loggers of %s)" % label], replace=True)
        import socket
        self.channel = socket.socket(fileno=channel_fd)
        self.stderr_fd = stderr_fd
        self.label = label
        self.loop = EventLoop(handle_error=self._internal_error)
        self.spawner = Spawner(stderr_fd=stderr_fd)
        from ..svlog.peek import is_available, scratch_pipe
        self.scratch = scratch_pipe() if is_available() else None
        self.loggers = {}  # key -> (HostedLogger, [fds])
        self.ending = False  # TERM, or the tree is gone: exit once the loggers are done

    def run(self):
        self.loop.add_reader(self.channel.fileno(), self._receive)
        for signum in _HOST_SIGNALS:
            self.loop.add_signal_handler(signum, lambda signum=signum: self._signalled(signum))
        self.loop.run()
        return 0

    def _internal_error(self, exc):
        warn("svlogd (%s)" % self.label, "internal error, continuing: %s: %s"
             % (type(exc).__name__, exc))

    # -- from the tree ------------------------------------------------------------------------
    def _receive(self):
        import socket
        try:
            data, fds, _flags, _address = socket.recv_fds(self.channel, _MESSAGE_MAX, _MAX_FDS)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data, fds = b"", []
        if not data:
            self._tree_gone()
            return
        fields = _decode(data)
        if fields[0] == "start" and len(fds) == 2:
            self._start(int(fields[1]), fields[2] or None, fields[3] or None, fields[4:], *fds)
        elif fields[0] == "signal" and int(fields[1]) in self.loggers:
            self.loggers[int(fields[1])][0].signal(int(fields[2]))
        else:
            for fd in fds:
                os.close(fd)

    def _start(self, key, chpst, user, args, log_fd, pipe_fd):
        from ...protocol.logrun import LogRun
        from .hostedlog import HostedLogger, identity_for
        # A logger holds its log directory, the pipe, and per directory its own fd, lock and
        # current: raise the soft limit ahead (the host has its own, apart from the tree's).
        ensure_fd_room(_FDS_PER_LOGGER * (len(self.loggers) + 1) + 32)
        canonical = LogRun(chpst, user, args)
        # A description of our own, non-blocking: the tree's is blocking for exec'd loggers.
        own = os.open("/proc/self/fd/%d" % pipe_fd, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.close(pipe_fd)
        identity = identity_for(canonical)
        if identity is None:  # the tree decided it is hostable; a user removed since then
            self._report(key, 111 << 8, [log_fd, own])
            return
        logger = HostedLogger(self.loop, self.spawner, log_fd, own, canonical, identity,
                              self.stderr_fd, self.scratch,
                              lambda status: self._logger_exited(key, status))
        self.loggers[key] = (logger, [log_fd, own])
        logger.start()

    def _logger_exited(self, key, wait_status):
        _logger, fds = self.loggers.pop(key, (None, []))
        self._report(key, wait_status, fds)
        if self.ending and not self.loggers:
            self._exit()

    def _report(self, key, wait_status, fds):
        for fd in fds:
            os.close(fd)
        try:
            self.channel.send(_encode("exited", key, wait_status))
        except OSError:
            pass  # the tree is gone: its successor finds our exit through the pidfd

    # -- ending -------------------------------------------------------------------------------
    def _tree_gone(self):
        """The tree closed its end (it exited, or was killed): whole lines out, then exit."""
        self.loop.remove_reader(self.channel.fileno())
        self.ending = True
        if not self.loggers:
            self._exit()
            return
        for logger, _fds in list(self.loggers.values()):
            logger.end_of_tree()

    def _signalled(self, signum):
        """A signal to log/supervise/pid: every hosted logger reacts as an svlogd would."""
        if signum in (signal.SIGHUP, signal.SIGALRM):
            for logger, _fds in list(self.loggers.values()):
                logger.signal(signum)
            return
        self.ending = True  # TERM, INT, QUIT, USR1, USR2 end an svlogd: they end the host
        try:
            self.channel.send(_encode("bye"))
        except OSError:
            pass
        if not self.loggers:
            self._exit()
            return
        for logger, _fds in list(self.loggers.values()):
            logger.signal(signum)

    def _exit(self):
        self.loop.stop()
