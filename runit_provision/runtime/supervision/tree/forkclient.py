"""runtime/supervision/tree: the fork server's client — the tree's end of the clean process
(forks/server.py) from which a tree run by root forks the processes that become another
identity: users' trees and logger hosts.

A process forked from the running tree keeps a private copy of every page the tree writes after
the fork, even for a tree of one service, and it carries a copy of whatever the tree
had read. The fork server is exec'd instead (``python -S -I``, an environment of the C
allocator's settings alone: ``SERVER_ENVIRON``), when a tree first needs it; its children are
re-parented to the tree (its subreaper: ``servicetree.become_subreaper``), which reaps them as
it would a spawned process.

The channel is a SOCK_SEQPACKET socket pair, one message per datagram, fields NUL-separated:

    tree -> server   KIND FIELD...            + the descriptors the child needs
    server -> tree   ready                    (once, when the server can fork)
                     pid PID | error ERRNO    (one answer to each request, in their order, by
                                              the middle child — by the server for those a
                                              middle child that failed did not answer)

Kinds: ``host`` — a logger host of another identity (loggers/identityloghosts.py); ``tree`` — a
user's tree (users/forkedtree.py). The tree never waits for an answer: what asked waits
(engine/side.NotYet, raised here while the server starts) and is called back from the loop; a
server that does not answer within ``ANSWER_SECONDS`` is killed, and what it had not answered
fails as a fork that failed (the side sleeps and tries again). The server is supervised as any
part of the tree: one that cannot start is started again after a back-off (1 s, doubled up to
``BROKEN_SECONDS``) while askers wait — nothing it starts has a second way to start. This module
is the tree's side, ``ForkServer``; the server's is forks/: it imports this one for the
channel's number, never the other way.
"""


import errno
import os
import signal
import sys

from ...unix.diag import warn
from ..engine.side import NotYet

ANSWER_SECONDS = 5.0  # a loaded machine is slow; a fork's answer: bench/RESULTS.md row 64
RETRY_SECONDS = 1.0  # after a server could not start: its first wait before the next start
BROKEN_SECONDS = 60.0  # the longest such wait (each doubles the last)
READY_SECONDS = 30.0  # its start (an interpreter, its imports) on a loaded machine
# Requests sent and not answered yet stay in the channel until a middle child reads each: the
# kernel takes as many as its send buffer holds, and a send it refuses is a server
# that does not keep up — killed. A tree starting many users' trees at once must not ask more
# than that (bench/RESULTS.md, row 65): beyond these bounds an asker waits for answers instead
# (NotYet).
IN_FLIGHT = 16
IN_FLIGHT_BYTES = 65536  # a user's environment rides in its tree's request
CHANNEL_FD = 3  # where the server finds its end of the channel
TITLE_ROOM = 512  # bytes of argument area its children may show their own names in
# The C library's allocator, read at the server's start and inherited by every child: one arena
# (a child is one thread), freed memory at the top of the heap given back from 64 KiB, no padding
# when the heap grows: each user's tree keeps fewer pages of its own.
SERVER_ENVIRON = {"MALLOC_ARENA_MAX": "1", "MALLOC_TRIM_THRESHOLD_": "65536",
                  "MALLOC_TOP_PAD_": "0"}


class ForkServer:
    """The tree's side: starts the server when first asked, forks through it.

    ``request(kind, fields, fds, done)`` asks for a child and returns at once; ``done(pid)``
    — the new child of the tree — or ``done(OSError)`` is called from the loop once the
    server has answered. It raises ``NotYet`` while the server starts (again), or while
    ``IN_FLIGHT`` requests wait for their answers (``on_ready`` callbacks run once it can
    fork, or once answers made room), and OSError once the tree is stopping. A server that
    could not start (it died before it said ready) is started again after its back-off,
    when someone waits; one that does not answer within ``ANSWER_SECONDS`` is killed, and
    whatever it had not answered fails (EAGAIN: the asker's side sleeps and asks again)."""

    def __init__(self, loop, spawner, label):
        self.loop = loop
        self.spawner = spawner
        self.label = label
        self.pid = 0
        # called once each, when the server is ready or failed, or has room again (cleared)
        self.on_ready = []
        self.on_reaped = None  # called after the server has been reaped (a stopping tree waits)
        self._channel = None
        self._ready = False
        self._said_ready = False  # the server running (or last run) said it was ready
        self._closing = False
        self._broken_until = 0.0  # monotonic: until then, no server (a start failed)
        self._retry_seconds = RETRY_SECONDS  # the next back-off after a start that failed
        self._retry_timer = None  # the next start, when one failed and someone waits
        self._timer = None  # its start, or the oldest request not answered, is too slow then
        self._pending = []  # done callbacks, in the order of the requests
        self._sizes = []  # and the size of each request

    def check(self):
        """Return when a request can go out now: NotYet while the server starts (started
        here, if need be and its back-off is over), OSError once the tree is stopping — what
        ``request`` raises, for a caller with work to do before it asks (done once, when the
        answer can come)."""
        if self._closing:
            raise OSError(errno.ESHUTDOWN, "the tree is stopping")
        if not self._ready:
            if self.loop.monotonic() >= self._broken_until:
                self._start()
            raise NotYet()
        if self._sizes and (len(self._sizes) >= IN_FLIGHT
                            or sum(self._sizes) >= IN_FLIGHT_BYTES):
            raise NotYet()  # woken (on_ready) as answers make room

    def request(self, kind, fields, fds, done):
        self.check()
        from ...unix.seqpacket import send
        message = b"\0".join([kind] + [os.fsencode(str(field)) for field in fields])
        try:
            send(self._channel, message, fds)
        except OSError as exc:  # its socket full within the bounds, or gone: not keeping up
            self._give_up(exc)
            raise OSError(errno.EAGAIN, "the fork server does not take a request") from exc
        self._pending.append(done)
        self._sizes.append(len(message))
        if self._timer is None:
            self._timer = self.loop.call_later(ANSWER_SECONDS, self._too_slow)

    def close(self):
        """The tree stops: the server sees its channel close and exits (it is reaped)."""
        self._closing = True
        self.on_ready = []
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        self._drop_channel()
        self._fail_pending(OSError(errno.ESHUTDOWN, "the tree is stopping"))

    # -- the server process -----------------------------------------------------------------
    def _start(self):
        if self.pid:
            return  # starting
        import fcntl
        import socket
        tree_end, server_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # above the number it is to take in the child: a source must not be a target
        server_fd = fcntl.fcntl(server_end.fileno(), fcntl.F_DUPFD_CLOEXEC, CHANNEL_FD + 1)
        server_end.close()
        try:
            argv = [sys.executable, "-S", "-I", "-c", _boot_code(), "x" * TITLE_ROOM]
            self.pid = self.spawner.spawn(argv, extra_fds=[(server_fd, CHANNEL_FD)],
                                          env=dict(SERVER_ENVIRON))
        except OSError as exc:
            tree_end.close()
            self._broken(exc)
            return
        finally:
            os.close(server_fd)
        tree_end.setblocking(False)
        self._channel = tree_end
        self._said_ready = False
        self.loop.add_reader(tree_end.fileno(), self._receive)
        self.loop.watch_child(self.pid, self._reaped)
        self._timer = self.loop.call_later(READY_SECONDS, self._too_slow)

    def _too_slow(self):
        """Not ready, or not answering, in time: killed (its reaping fails what waited)."""
        self._timer = None
        if self.pid:
            warn(self.label, "the fork server does not answer, killing it")
            self.spawner.kill(self.pid, signal.SIGKILL)

    def _receive(self):
        """Its messages: ``ready``, then one answer to each request, in their order."""
        while self._channel is not None:
            try:
                data = self._channel.recv(64)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:  # gone: its reaping says what that means
                self._drop_channel()
                return
            if not self._ready:
                if data == b"ready":
                    self._ready = self._said_ready = True
                    self._retry_seconds = RETRY_SECONDS
                    self._restart_timer()
                    self._wake_waiting()
                continue
            if self._pending:
                done = self._pending.pop(0)
                self._sizes.pop(0)
                self._restart_timer()
                done(answer_from_message(data))
                self._wake_some()

    def _wake_some(self):
        """An answer made room: askers that waited for it ask again, each once, while there
        is room (one that waits again is behind the others)."""
        for _ in range(len(self.on_ready)):
            if not self.on_ready or not self._ready:
                return
            try:
                self.check()
            except (NotYet, OSError):
                return
            self.on_ready.pop(0)()

    def _restart_timer(self):
        if self._timer is not None:
            self._timer.cancel()
        self._timer = (self.loop.call_later(ANSWER_SECONDS, self._too_slow) if self._pending
                       else None)

    def _broken(self, exc=None):
        """A server could not start: started again after its back-off, when someone waits
        (they wait meanwhile: nothing else starts what they start)."""
        delay = self._retry_seconds
        self._retry_seconds = min(delay * 2, BROKEN_SECONDS)
        warn(self.label, "unable to start the fork server, trying again in %g s" % delay, exc)
        self._broken_until = self.loop.monotonic() + delay
        if self._retry_timer is not None:
            self._retry_timer.cancel()
        self._retry_timer = self.loop.call_later(delay, self._retry)

    def _retry(self):
        self._retry_timer = None
        if self.on_ready and not self._closing and not self.pid:
            self._start()

    def _wake_waiting(self):
        """Whoever waits for the server asks again: it is ready, or it is broken (OSError)."""
        waiting, self.on_ready = self.on_ready, []
        for callback in waiting:
            callback()

    def _give_up(self, exc):
        warn(self.label, "the fork server does not take a request, killing it", exc)
        self._drop_channel()
        if self.pid:
            self.spawner.kill(self.pid, signal.SIGKILL)

    def _drop_channel(self):
        self._ready = False
        if self._channel is not None:
            self.loop.remove_reader(self._channel.fileno())
            self._channel.close()
            self._channel = None

    def _fail_pending(self, exc):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending, self._sizes = self._pending, [], []
        for done in pending:
            done(exc)

    def _reaped(self, _pid, _wait_status):
        self.pid = 0
        self._drop_channel()
        self._fail_pending(OSError(errno.EAGAIN, "the fork server is gone"))
        if not self._said_ready and not self._closing:
            self._broken()
        elif self.on_ready:
            self._wake_waiting()  # waiting for room: they ask a new server
        if self.on_reaped is not None:
            self.on_reaped()


def answer_from_message(data):
    """A server's answer: the pid, or an OSError.

    >>> answer_from_message(b"pid\\x004242"), answer_from_message(b"error\\x0011").errno
    (4242, 11)
    >>> answer_from_message(b"what").errno == errno.EPROTO
    True
    """
    words = data.split(b"\0")
    if len(words) == 2 and words[0] == b"pid" and words[1].isdigit():
        return int(words[1])
    if len(words) == 2 and words[0] == b"error" and words[1].isdigit():
        number = int(words[1])
        return OSError(number, os.strerror(number))
    return OSError(errno.EPROTO, "the fork server answered %r" % data[:40])


def _boot_code():
    """What the server's ``python -S -I -c`` runs: this very package, whatever ``sys.path``
    the tree had (a virtualenv's site-packages, the launcher's ``current`` link)."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))))
    return ("import sys; sys.path.insert(0, %r); "
            "from runit_provision.runtime.supervision.forks.server import serve; serve()"
            % package)


