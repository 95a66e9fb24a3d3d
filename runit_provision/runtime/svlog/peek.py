"""runtime/svlog: reading a log pipe without taking what is not yet written.

A logger that reads a chunk and is then killed loses the chunk: it was taken from the pipe but
never reached the log. Here the pipe is read with ``tee(2)``, which copies what it holds into a
scratch pipe without consuming it; the logger writes the whole lines of that copy and only then
consumes exactly those bytes. An unfinished last line stays in the pipe — the next read, or the
next logger after a kill, sees it whole. Nothing a logger took is ever lost with it (a kill
between the write and the consume can only write those lines twice).

The pipe must be non-blocking and watched edge-triggered: data left in it on purpose must not
wake the loop again until more arrives. ``tee`` is called in the C library; where it is
missing, ``is_available()`` is False and the host reads the plain way.

An edge is not always coming, though: Linux wakes a pipe's reader in the middle of a write
only if the pipe was empty (``pipe_write`` in fs/pipe.c). A writer whose one ``write()``
fills the pipe while an unfinished line waits in it — ``cat`` of a big file, a service that
writes more than 64 KiB at once — raises no edge until that write has finished, and it never
finishes: both would wait forever. So an unfinished line left in the pipe is looked at again
after each of ``RECHECK_DELAYS``; after the last it is taken as it is, which empties the pipe
(any write wakes the reader again). A line taken so is the logger's alone; the engine keeps
it on disk until it is finished (unfinished.py), so a killed logger loses it no more than a
line left in the pipe.
"""

import errno
import os

SPLICE_F_NONBLOCK = 2
_tee = None


def _load_tee():
    global _tee
    if _tee is None:
        from ..unix import ffi
        from ..unix.libc import libc

        try:
            function = libc()["tee"]
        except AttributeError:
            _tee = False
            return None
        function.argtypes = (ffi.c_int, ffi.c_int, ffi.c_size_t, ffi.c_uint)
        function.restype = ffi.c_ssize_t
        _tee = (function, ffi)
    return _tee or None


def is_available():
    return _load_tee() is not None


class PeekReader:
    """Reads the pipe ``fd`` (non-blocking) by copy: ``peek`` then ``consume``.

    One scratch pipe serves every reader of a process (``scratch``: its (read, write) fds,
    both non-blocking); it is empty between calls.
    """

    __slots__ = ("fd", "scratch_r", "scratch_w")

    def __init__(self, fd, scratch):
        self.fd = fd
        self.scratch_r, self.scratch_w = scratch

    def peek(self, limit):
        """Up to ``limit`` bytes from the head of the pipe, left in it: ``None`` when it is
        empty (more may come), ``b""`` at end of input (empty, and no writer left)."""
        function, ffi = _load_tee()
        copied = function(self.fd, self.scratch_w, limit, SPLICE_F_NONBLOCK)
        if copied < 0:
            number = ffi.get_errno()
            if number == errno.EAGAIN:
                return None
            if number == errno.EINTR:
                return self.peek(limit)
            raise OSError(number, os.strerror(number))
        if copied == 0:
            return b""
        chunks = []
        while copied:
            chunk = os.read(self.scratch_r, copied)
            chunks.append(chunk)
            copied -= len(chunk)
        return b"".join(chunks)

    def consume(self, count):
        """Take ``count`` bytes — ones ``peek`` has shown — out of the pipe."""
        while count:
            taken = len(os.read(self.fd, count))
            if not taken:
                raise OSError(errno.EIO, "pipe shorter than what was peeked")
            count -= taken


GIANT_LINE = 32 * 1024  # an unfinished line this long is taken in pieces (a pipe holds 64 KiB)
# Seconds before each new look at an unfinished line left in the pipe, growing, then it is
# taken as it is; the first is the loop's next turn, time enough for a writer on another CPU to refill it.
RECHECK_DELAYS = (0, 0.0005, 0.002, 0.008, 0.03)


class LineTaker:
    """Moves a pipe's content into a logger, as whole lines when it can.

    ``take(limit, feed)`` feeds at most ``limit`` bytes and returns what happened: ``"fed"``,
    ``"empty"`` (nothing to take now: wait for the pipe's next edge, or for ``wake``), or
    ``"eof"``. With a PeekReader only whole lines are taken, and consumed only after ``feed``
    returned; an unfinished line is left in the pipe unless it is giant, the logger wants one
    byte at a time (svlogd finishing a line after TERM), no writer is left, or it is still
    unfinished after the rechecks: ``wake()`` is called from ``call_later`` for each (the
    caller takes again when it may read). Without a PeekReader, plain reads.
    """

    __slots__ = ("fd", "reader", "_call_later", "_wake", "_rechecks", "_recheck")

    def __init__(self, fd, scratch=None, call_later=None, wake=None):
        self.fd = fd
        self.reader = None if scratch is None else PeekReader(fd, scratch)
        self._call_later, self._wake = call_later, wake
        self._rechecks = 0      # of the unfinished line now waiting in the pipe
        self._recheck = None    # the timer of the next one

    def take(self, limit, feed):
        if self.reader is None:
            try:
                data = os.read(self.fd, limit)
            except (BlockingIOError, InterruptedError):
                return "empty"
            if not data:
                return "eof"
            feed(data)
            return "fed"
        data = self.reader.peek(limit)
        if data is None:
            self._forget_unfinished()
            return "empty"
        if not data:
            return "eof"
        if limit > 1:
            cut = data.rfind(b"\n") + 1
            if cut:
                data = data[:cut]
            elif (len(data) < GIANT_LINE and not is_hung_up(self.fd)
                  and self._wait_for_the_rest()):
                return "empty"  # an unfinished line waits in the pipe for its newline
        self._forget_unfinished()
        feed(data)
        self.reader.consume(len(data))
        return "fed"

    def _wait_for_the_rest(self):
        """True while an unfinished line may wait in the pipe (a recheck is due), False once
        the rechecks are spent (take it as it is)."""
        if self._recheck is not None:
            return True
        if self._rechecks == len(RECHECK_DELAYS) or self._call_later is None:
            return False
        self._recheck = self._call_later(RECHECK_DELAYS[self._rechecks], self._recheck_due)
        self._rechecks += 1
        return True

    def _recheck_due(self):
        self._recheck = None
        self._wake()

    def _forget_unfinished(self):
        self._rechecks = 0
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None


def is_hung_up(fd):
    """True when no writer is left on the pipe ``fd`` (what is in it is all there will be)."""
    import select
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return any(events & select.POLLHUP for _, events in poller.poll(0))


def scratch_pipe():
    """A scratch pipe for PeekReaders (non-blocking, close-on-exec)."""
    return os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
