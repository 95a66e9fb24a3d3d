"""runtime/supervision: the pipe keeper — a small process that holds a tree's log pipes while
no tree does.

A log pipe (``log/supervise/pipe``, supervisor.py) is a FIFO, and its content lives only while
some descriptor is open on it. While a tree runs, its supervisors hold every pipe, ``./run``
its own, an exec'd svlogd its reading end. A hosted logger, though, lives in the tree (or in a
host that exits with it): when the tree is killed, the only holder left of its pipe is
``./run``, and if that is killed too before a successor opens the pipe again by name, the
kernel drops what was unread — up to 64 KiB of lines (the chaos soak lost 26 582 lines this
way in ten minutes, docs/reliability.md).

The keeper closes that window. The tree forks it when a first pipe is to be kept (no exec: it
shares the tree's pages and touches almost none; a tree without log pipes has none); each
supervisor hands it its pipe as it opens it (``hold``: the
descriptor over a socket pair, SCM_RIGHTS) and takes it back before it closes it (``release``:
so a logger still sees EOF when a service goes for good). While the tree lives the keeper only
sleeps in ``poll``. When the tree goes:

- said goodbye (a stop, ``close()``): the keeper exits at once;
- killed (EOF without goodbye): the keeper keeps every pipe until a successor's keeper takes
  over, or ``GRACE_SECONDS`` have passed with none.

Taking over: once its tree has made its first scan (every pipe opened again, by name), a keeper
binds an abstract unix socket named by the tree directory's device and inode. If the name is
taken, it connects: a keeper of the same uid whose tree is gone closes its listener and exits
(EOF: the name is free); one whose tree lives answers ``n``; anyone else — another uid, as
``SO_PEERCRED`` tells each side — is neither obeyed nor waited for. A keeper without the name
still keeps its pipes; it only leaves after the grace period instead of at the hand-over.

A keeper that dies is replaced: the tree starts a new one as soon as the old one is reaped
(a second later if it exited by itself just after its start), and hands it every pipe again.
Messages that do not fit in the socket wait in the tree's queue (sent when there is room: the
loop never blocks on the keeper). ``socket`` is imported when a keeper is first needed, not at
the tree's start-up.
"""

import errno
import os
import select
import signal
import struct

from ..unix.diag import warn

GRACE_SECONDS = 10.0  # a tree killed is restarted within about a second (runsv's back-off)
ANSWER_SECONDS = 2.0  # how long a new keeper waits for a predecessor's answer
RESTART_SECONDS = 1.0  # a keeper that exited within this of its start is replaced after it
BATCH = 64  # pipes per message (SCM_MAX_FD is 253)
_MESSAGE_BYTES = 64 * 32  # a batch of keys, each "DEV:INO" (a name is shorter)
NAME_PREFIX = b"\0runit-provision/pipe-keeper/"
_HOLD, _RELEASE, _TAKE_OVER, _GOODBYE, _STILL_NEEDED = b"h", b"r", b"t", b"q", b"n"
_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def keeper_name(directory_stat):
    """The abstract socket name of the keeper of the tree whose directory is ``directory_stat``.

    >>> class Stat: st_dev, st_ino = 2049, 131
    >>> keeper_name(Stat())
    b'\\x00runit-provision/pipe-keeper/2049:131'
    """
    return NAME_PREFIX + b"%d:%d" % (directory_stat.st_dev, directory_stat.st_ino)


def pipe_key(fd):
    """What identifies a pipe across trees: the FIFO's device and inode."""
    info = os.fstat(fd)
    return b"%d:%d" % (info.st_dev, info.st_ino)


class PipeKeeper:
    """The tree's side: starts the keeper, hands it pipes, says goodbye. ``pid`` is 0 while
    none runs. Never blocks the tree's loop: messages wait in a queue while the socket is full
    (a tree of a thousand services hands over a thousand pipes at once), holds are sent up to
    ``BATCH`` to a message."""

    def __init__(self, loop, directory, label, grace=GRACE_SECONDS):
        self.loop = loop
        self.directory = directory
        self.label = label
        self.grace = grace
        self.pid = 0
        self.on_reaped = None  # called after the keeper has been reaped
        self._channel = None
        self._held = {}  # key -> the tree's own descriptor of the pipe (the supervisor's)
        self._queue = []  # (kind, key, fd or None) not sent yet
        self._waiting = False  # for room in the socket
        self._take_over = None  # the message naming the keeper, once the first scan is done
        self._closing = False
        self._started_at = 0.0
        self._restart_timer = None

    def start(self):
        import socket  # here, not at start-up: only a tree with log pipes needs it
        if self.pid or self._closing:
            return
        try:
            tree_end, keeper_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        except OSError as exc:
            warn(self.label, "unable to start the log pipes' keeper", exc)
            return
        try:
            pid = os.fork()
        except OSError as exc:
            warn(self.label, "unable to start the log pipes' keeper", exc)
            tree_end.close()
            keeper_end.close()
            return
        if pid == 0:  # pragma: no cover — the child never returns (measured by its tests)
            code = 111
            try:
                tree_end.detach()  # its number is closed with the rest below
                code = keep(keeper_end, self.grace, self.label)
            finally:
                os._exit(code)
        keeper_end.close()
        tree_end.setblocking(False)
        self._channel = tree_end
        self.pid = pid
        self._started_at = self.loop.monotonic()
        self.loop.watch_child(pid, self._reaped)
        self._queue = [(_HOLD, key, fd) for key, fd in self._held.items()]
        if self._take_over is not None:
            self._queue.append((_TAKE_OVER, self._take_over, None))
        self._flush()

    def hold(self, fd):
        """Keep the pipe open on ``fd`` (the caller's own, open until ``release``) in the
        keeper."""
        try:
            key = pipe_key(fd)
        except OSError:
            return
        self._held[key] = fd
        if self.pid:
            self._enqueue(_HOLD, key, fd)
        elif self._restart_timer is None:
            self.start()  # the first pipe (or the first since a keeper died young)

    def release(self, fd):
        """The caller is about to close ``fd``: the keeper lets go of that pipe too."""
        try:
            key = pipe_key(fd)
        except OSError:
            return
        if self._held.pop(key, None) is None:
            return
        queued = [entry for entry in self._queue if entry[:2] == (_HOLD, key)]
        if queued:
            self._queue.remove(queued[0])  # never sent: its descriptor is about to close
        else:
            self._enqueue(_RELEASE, key)

    def take_over(self, directory_stat):
        """Every pipe of the tree's first scan of the directory (``directory_stat``) is held:
        a predecessor's keeper may go."""
        if self._take_over is None:
            self._take_over = keeper_name(directory_stat)
            self._enqueue(_TAKE_OVER, self._take_over)

    def close(self):
        """The tree is stopping for good: the keeper exits (it is reaped as usual). What was
        queued is dropped: the goodbye lets go of every pipe. A keeper that cannot take the
        goodbye (stopped, its socket full) is killed: it would take the EOF for a killed
        tree and keep the pipes for its grace period, and the tree waits for it."""
        self._closing = True
        self._held.clear()
        if self._restart_timer is not None:
            self._restart_timer.cancel()
            self._restart_timer = None
        self._queue = [(_GOODBYE, b"", None)]
        self._flush()
        if self._queue and self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self._queue = []
        self._close_channel()

    # -- the tree's end of the socket ---------------------------------------------------------
    def _enqueue(self, kind, key, fd=None):
        self._queue.append((kind, key, fd))
        if len(self._queue) == 1:
            self._flush()  # else a flush is under way or waits for room

    def _flush(self):
        if self._channel is None:
            return  # no keeper (yet): a tree without log pipes never loads socket
        import socket  # here, not at start-up: only a tree with log pipes needs it
        while self._queue and self._channel is not None:
            kind = self._queue[0][0]
            batch = self._queue[:_leading(self._queue, kind, BATCH if kind != _TAKE_OVER else 1)]
            message = kind + b"\n".join(key for _kind, key, _fd in batch)
            fds = [fd for _kind, _key, fd in batch if fd is not None]
            try:
                if fds:
                    self._channel.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                                       struct.pack("%di" % len(fds), *fds))])
                else:
                    self._channel.send(message)
            except BlockingIOError:
                self._wait_for_room()
                return
            except OSError:
                self._close_channel()  # it died: reaped soon, and given everything again then
                return
            del self._queue[:len(batch)]
        self._stop_waiting()

    def _wait_for_room(self):
        if self._channel is not None and not self._waiting:
            self._waiting = True
            self.loop.add_writer(self._channel.fileno(), self._flush)

    def _stop_waiting(self):
        if self._waiting:
            self._waiting = False
            if self._channel is not None:
                self.loop.remove_writer(self._channel.fileno())

    def _close_channel(self):
        self._stop_waiting()
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def _reaped(self, _pid, wait_status):
        self.pid = 0
        self._close_channel()
        self._queue = []
        if not self._closing and self._held:
            # Killed: replaced at once, for a tree killed next would leave its pipes to
            # nobody. Only one that exited by itself straight after its start (it could not
            # work) waits, so that it is not forked in a loop.
            lived = self.loop.monotonic() - self._started_at
            failed = os.WIFEXITED(wait_status) and lived < RESTART_SECONDS
            delay = RESTART_SECONDS if failed else 0.0
            self._restart_timer = self.loop.call_later(delay, self._restart)
        if self.on_reaped is not None:
            self.on_reaped()

    def _restart(self):
        self._restart_timer = None
        self.start()


def _leading(queue, kind, limit):
    """How many of the first ``limit`` entries of ``queue`` are of ``kind``, in a row.

    >>> _leading([(b"h",), (b"h",), (b"r",), (b"h",)], b"h", 64)
    2
    >>> _leading([(b"h",), (b"h",)], b"h", 1)
    1
    """
    count = 0
    limit = min(limit, len(queue))
    while count < limit and queue[count][0] == kind:
        count += 1
    return count


# -- the keeper process -------------------------------------------------------------------------
def keep(channel, grace, label):
    """The keeper's whole life (in the forked child); returns its exit code."""
    import gc
    gc.disable()  # a collection would touch, and so copy, every page shared with the tree
    _become_keeper(channel.fileno(), label)
    keeper = _Keeper(channel, label)
    keeper.serve_tree()
    if keeper.held:
        keeper.wait_for_successor(grace)
    return 0


def _become_keeper(channel_fd, label):
    """Shed the tree: its signal handlers, its descriptors (stderr stays, for warnings), its
    name in ``ps``; and room for as many pipes as the hard limit allows."""
    signal.set_wakeup_fd(-1)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGALRM, signal.SIGINT,
                   signal.SIGCHLD, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(signum, signal.SIG_DFL)
    for low, high in ((0, 2), (3, os.sysconf("SC_OPEN_MAX"))):  # no fd is at the limit
        os.closerange(low, min(high, channel_fd))
        os.closerange(max(low, channel_fd + 1), high)
    try:
        import resource
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        pass
    from ..unix.procname import show_runit_name
    show_runit_name("pipekeeper", ["(log pipes of %s)" % label], whole=True)


class _Keeper:
    def __init__(self, channel, label):
        self.channel = channel
        self.label = label
        self.held = {}  # key -> descriptor
        self.listener = None
        self.poller = select.poll()
        self.poller.register(channel.fileno(), select.POLLIN)
        self._said_full = False

    def serve_tree(self):
        """Take messages until the tree says goodbye (held pipes let go) or goes (kept)."""
        while True:
            # The tree's messages first: a knock that comes with the tree's EOF is a
            # successor's, and must find us orphaned, not still needed.
            channel_fd = self.channel.fileno()
            events = sorted(_poll(self.poller, None), key=lambda event: event[0] != channel_fd)
            for fd, _events in events:
                if fd != channel_fd:
                    self._answer(still_needed=True)
                    continue
                message, fds = self._receive()
                if message is None:
                    return  # the tree is gone without a word: keep everything
                kind, keys = message[:1], message[1:].split(b"\n")
                if kind == _HOLD:
                    for key in keys:
                        self._drop(key)
                        if fds:  # fewer than keys only when we ran out of descriptors
                            self.held[key] = fds.pop(0)
                elif kind == _RELEASE:
                    for key in keys:
                        self._drop(key)
                elif kind == _TAKE_OVER and self.listener is None:
                    self.listener = take_name(message[1:])
                    if self.listener is not None:
                        self.poller.register(self.listener.fileno(), select.POLLIN)
                elif kind == _GOODBYE:
                    for key in list(self.held):
                        self._drop(key)
                    return
                for fd in fds:
                    os.close(fd)

    def wait_for_successor(self, grace):
        """Keep every pipe until a successor's keeper says it holds them, or ``grace`` is up."""
        import time
        self.poller.unregister(self.channel.fileno())
        deadline = time.monotonic() + grace
        while self.listener is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not _poll(self.poller, remaining * 1000):
                return
            if self._answer(still_needed=False):
                return
        remaining = deadline - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def _answer(self, still_needed):
        """A keeper knocks: True when we are to go (the listener is closed first, so that it
        finds the name free once our end of the connection closes)."""
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return False
        with connection:
            if still_needed or peer_uid(connection) != os.geteuid():
                try:
                    connection.send(_STILL_NEEDED)
                except OSError:
                    pass
                return False
            self.poller.unregister(self.listener.fileno())
            self.listener.close()
            self.listener = None
            return True

    def _receive(self):
        """One message and the descriptors it carried; (None, []) at EOF."""
        import socket  # here, not at start-up: only a tree with log pipes needs it
        size = socket.CMSG_SPACE(struct.calcsize("i") * BATCH)
        try:
            data, ancillary, flags, _ = self.channel.recvmsg(_MESSAGE_BYTES, size,
                                                             socket.MSG_CMSG_CLOEXEC)
        except InterruptedError:
            return b"", []
        except OSError:
            return None, []
        fds = []
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                usable = len(payload) - len(payload) % 4
                fds.extend(struct.unpack("%di" % (usable // 4), payload[:usable]))
        if flags & socket.MSG_CTRUNC and not self._said_full:
            self._said_full = True  # out of descriptors: that pipe is not kept, said once
            warn(self.label, "log pipes' keeper: unable to take a pipe",
                 OSError(errno.EMFILE, os.strerror(errno.EMFILE)))
        if not data and not fds:
            return None, []
        return data, fds

    def _drop(self, key):
        fd = self.held.pop(key, None)
        if fd is not None:
            os.close(fd)


def _poll(poller, timeout_ms):
    try:
        return poller.poll(timeout_ms)
    except InterruptedError:
        return []


def take_name(name):
    """Our listener bound to ``name``, after telling an orphaned predecessor to go; or None
    when the name stays someone else's."""
    import socket  # here, not at start-up: only a tree with log pipes needs it
    for _attempt in range(3):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(name)
            listener.listen(4)
            return listener
        except OSError as exc:
            listener.close()
            if exc.errno != errno.EADDRINUSE:
                return None
        if not tell_predecessor_to_go(name):
            return None
    return None


def tell_predecessor_to_go(name):
    """Knock on ``name``: True when its holder went (or nobody is there any more)."""
    import socket  # here, not at start-up: only a tree with log pipes needs it
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as knock:
        knock.settimeout(ANSWER_SECONDS)
        try:
            knock.connect(name)
        except (ConnectionRefusedError, FileNotFoundError):
            return True  # it went between our bind and our knock
        except OSError:
            return False
        if peer_uid(knock) != os.geteuid():
            return False  # not a keeper of ours: it is not waited for
        try:
            return knock.recv(1) == b""
        except OSError:
            return False


def peer_uid(connection):
    """The uid of the process at the other end (at connect or listen time), or -1."""
    import socket  # here, not at start-up: only a tree with log pipes needs it
    try:
        return _CRED.unpack(connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                  _CRED.size))[1]
    except OSError:
        return -1
