"""runtime/supervision/loggers: what processes of other identities say on the tree's stderr —
the messages of the loggers an identity host runs — reach it through one pipe the tree reads
(``OthersOutput``).

Such a logger is the user's to break: one that cannot open the user's log directory fails
at every restart, and said so again on root's stderr each time, for ever; the user also
decides what a logger says (its ``config``, its processor's output). So the tree reads that
pipe as untrusted bytes — bounded, line by line, control bytes shown as ``?`` — and says a
line only when it is new (``Allowance``): a failure that goes on is said once, and all of
them together never more than ``PER_WINDOW`` lines a window. What the tree reads is bounded
too (``READ_PER_WINDOW``): past it, the pipe is left unread until the window ends — its
writers' lines are lost meanwhile, never waited for — so a flood costs the tree nothing.
Whether the logger keeps failing is its log side's to tell (its tally: ``status`` says ``its
logger is crash-looping``), not the stderr's.
"""

import os

LINE_MAX = 1024  # a longer line is cut: svlogd's messages are a path and a few words
READ_MAX = 65536  # read from the pipe at one readiness: what is left raises it again
PER_WINDOW = 20  # new lines said a window, all identities together
WINDOW = 60.0  # seconds
QUIET_FOR = 3600.0  # a line not seen again for this long is said again when it comes back
REMEMBERED = 64  # lines remembered: a new one beyond forgets the one seen longest ago
READ_PER_WINDOW = 256 * 1024  # bytes read a window: a logger failing each second says ~12 KiB
_CONTROL = bytes(range(32)).replace(b"\t", b"") + b"\x7f"
_SHOWN = bytes.maketrans(_CONTROL, b"?" * len(_CONTROL))


class Allowance:
    """Which lines are said: pure, the time given. A line seen within ``QUIET_FOR`` of its
    last sighting is not said again (each sighting starts its quiet anew: a failure that
    repeats is said once); of the rest, ``PER_WINDOW`` a window, then the window's one
    notice (``held_back``).

    >>> allowance = Allowance(per_window=2)
    >>> [allowance.admit(line, now) for line, now in (
    ...     (b"a", 0), (b"a", 1), (b"b", 2), (b"c", 3), (b"d", 4), (b"e", 61), (b"a", 9000))]
    ['say', None, 'say', 'held_back', None, 'say', 'say']
    """

    __slots__ = ("per_window", "_seen", "_window_start", "_said_in_window")

    def __init__(self, per_window=PER_WINDOW):
        self.per_window = per_window
        self._seen = {}  # line -> when last seen, the one seen longest ago first
        self._window_start = None
        self._said_in_window = 0

    def admit(self, line, now):
        """``"say"`` the line, ``"held_back"`` (say the window's notice instead), or None."""
        last = self._seen.pop(line, None)
        self._seen[line] = now
        if len(self._seen) > REMEMBERED:
            del self._seen[next(iter(self._seen))]
        if last is not None and now - last < QUIET_FOR:
            return None
        if self._window_start is None or now - self._window_start >= WINDOW:
            self._window_start, self._said_in_window = now, 0
        self._said_in_window += 1
        if self._said_in_window <= self.per_window:
            return "say"
        self._seen.pop(line, None)  # not said: it is new when it comes again
        return "held_back" if self._said_in_window == self.per_window + 1 else None


def lines_of(pending, data):
    """``(whole lines, what is left)`` of ``pending + data``: each line without its newline
    and cut at LINE_MAX; a rest longer than that is a line of its own.

    >>> lines_of(b"par", b"tial\\nnext\\nrest")
    ([b'partial', b'next'], b'rest')
    >>> [len(line) for line in lines_of(b"", b"x" * 2500)[0]]
    [1024, 1024]
    """
    *lines, rest = (pending + data).split(b"\n")
    while len(rest) > LINE_MAX:
        lines.append(rest[:LINE_MAX])
        rest = rest[LINE_MAX:]
    return [line[:LINE_MAX] for line in lines], rest


class OthersOutput:
    """The pipe other identities' processes write their messages to (``write_fd``, made on
    first use), read on ``loop`` into ``stderr_fd`` as the Allowance lets; ``label`` names
    the tree in its notices."""

    __slots__ = ("loop", "stderr_fd", "label", "allowance", "_read_fd", "_write_fd",
                 "_pending", "_window_start", "_read_in_window", "_resume")

    def __init__(self, loop, stderr_fd, label):
        self.loop, self.stderr_fd, self.label = loop, stderr_fd, label
        self.allowance = Allowance()
        self._read_fd = self._write_fd = None
        self._pending = b""
        self._window_start, self._read_in_window = None, 0
        self._resume = None  # the timer that reads again after a flood's window

    @property
    def write_fd(self):
        """The end handed to a process of another identity as its stderr: non-blocking, so
        that none of them ever waits for the tree (a line that does not fit is lost)."""
        if self._write_fd is None:
            self._read_fd, self._write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
            self.loop.add_reader(self._read_fd, self._read)
        return self._write_fd

    def _read(self):
        try:
            data = os.read(self._read_fd, READ_MAX)
        except (BlockingIOError, InterruptedError):
            return
        now = self.loop.monotonic()
        if self._window_start is None or now - self._window_start >= WINDOW:
            self._window_start, self._read_in_window = now, 0
        self._read_in_window += len(data)
        lines, self._pending = lines_of(self._pending, data)
        for line in lines:
            said = self.allowance.admit(line, now)
            if said == "say":
                self._write(line.translate(_SHOWN) + b"\n")
            elif said == "held_back":
                self._notice("more than %d new lines from loggers of other users in %d s: "
                             "the rest held back" % (PER_WINDOW, WINDOW))
        if self._read_in_window >= READ_PER_WINDOW:
            self._pause(self._window_start + WINDOW - now)

    def _pause(self, seconds):
        """Leave the pipe unread for ``seconds`` (the window's rest): a flood."""
        self._notice("more than %d bytes from loggers of other users in %d s: not read for "
                     "%d s" % (READ_PER_WINDOW, WINDOW, seconds))
        self.loop.remove_reader(self._read_fd)

        def resume():
            self._resume = None
            self._window_start = None
            self.loop.add_reader(self._read_fd, self._read)
        self._resume = self.loop.call_later(seconds, resume)

    def _notice(self, message):
        self._write(("%s: warning: %s\n" % (self.label, message)).encode())

    def _write(self, data):
        try:
            os.write(self.stderr_fd, data)
        except OSError:
            pass  # a closed or full stderr is not the tree's problem

    def close(self):
        if self._resume is not None:
            self._resume.cancel()
            self._resume = None
        if self._read_fd is not None:
            self.loop.remove_reader(self._read_fd)
            os.close(self._read_fd)
            os.close(self._write_fd)
            self._read_fd = self._write_fd = None
