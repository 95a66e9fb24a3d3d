"""runtime/supervision/tree: runsvdir's ``log`` argument — runit's readproctitle status area, shown
by ``ps``.

runit's runsvdir makes a non-blocking pipe its stderr and rolls every byte it reads from it
into its own argv, in the bytes of the ``log`` argument: the first five characters (``log: ``)
stay, the rest scrolls left by one per byte, NULs dropped, newlines kept (runsvdir.c,
docs/runit-protocol.md §2). Every 900 s it adds a ``.`` so that old messages scroll away.

Two decisions differ from runit, both listed in docs/compatibility.md:

- Only the tree's own diagnostics reach the area (``runsv NAME: warning: …``, exec failures,
  runsvdir's warnings) — they are written by this process to its fd 2, which is the pipe.
  Services and their hooks get runsvdir's original stderr instead, so no service output ends up
  in argv where ``pkill -f`` matches it (void-linux/runit#14).
- The ``.`` is added only while the area still shows a message, so an idle tree never wakes up.

The area is written in place: ``/proc/self/stat`` gives the address of argv (``arg_start``,
``arg_end``, Linux ≥ 3.5) and the log argument is its last string, so the bytes after
``log: `` are overwritten through ``/proc/self/mem`` (as unix/procname.py renames a tool),
exactly the bytes runit would change; the interpreter keeps its own copy of argv and never
reads these. Where that is impossible the ``setproctitle``
package (optional) rewrites the whole command line instead; without either the area stays as
exec'd and a warning says so.
"""

import os

from ...unix.procname import argv_bounds

DOT_SECONDS = 900.0  # runsvdir.c: a '.' every 900 s
KEEP = 5  # "log: " — the first five characters are never scrolled
MIN_LENGTH = 7  # runsvdir: "log must have at least seven characters."
_READ_CHUNK = 4096
_DOT = ord(".")


def rolled(area, data):
    """``area`` after runit's byte-by-byte shift of ``data`` into its tail (NULs dropped).

    >>> rolled(b"......", b"ab\\0c")
    b'...abc'
    """
    data = data.replace(b"\0", b"")
    if len(data) >= len(area):
        return data[len(data) - len(area):]
    return area[len(data):] + data


def has_message(area):
    """True while something other than the filler dots is still visible."""
    return any(byte != _DOT for byte in area)


# -- where the area is shown ------------------------------------------------------------------
class ArgvInPlace:
    """The log argument's own bytes in this process's argv memory (what ``ps`` reads), written
    through ``/proc/self/mem`` as every rename of a tool is (unix/procname.py), on a descriptor
    opened once."""

    def __init__(self, mem_fd, address, size):
        self._fd = mem_fd
        self._address = address
        self._size = size

    @classmethod
    def for_last_argument(cls, argument):
        """The writer for ``argument`` (bytes), which must be argv's last string; or None."""
        try:
            start, end = argv_bounds()
            fd = os.open("/proc/self/mem", os.O_RDWR | os.O_CLOEXEC)
        except (OSError, ValueError, IndexError):
            return None
        try:
            # After show_runit_name the freed bytes are NULs at the end: the argument is the
            # last string before them.
            body = os.pread(fd, end - start, start).rstrip(b"\0")
        except OSError:
            body = b""
        if not (body == argument or body.endswith(b"\0" + argument)):
            os.close(fd)
            return None
        address = start + len(body) - len(argument)
        return cls(fd, address + KEEP, len(argument) - KEEP)

    def show(self, area):
        try:
            os.pwrite(self._fd, area[:self._size], self._address)
        except OSError:
            pass  # the area stays as it was: ps shows an older message


class WholeTitle:
    """setproctitle: the original command line with the area in place of the log argument."""

    def __init__(self, setproctitle, prefix):
        self._setproctitle = setproctitle
        self._prefix = prefix

    @classmethod
    def for_argv(cls, argv):
        try:
            from setproctitle import setproctitle
        except ImportError:
            return None
        return cls(setproctitle, " ".join(argv[:-1] + [argv[-1][:KEEP]]))

    def show(self, area):
        self._setproctitle(self._prefix + area.decode("utf-8", "replace"))


# -- the area on a loop ---------------------------------------------------------------------------
class StatusArea:
    """The pipe that is this process's stderr, read on the loop and rolled into ``display``.

    ``open()`` returns the descriptor children should get as their stderr: the original one.
    """

    def __init__(self, loop, log_argument, display, dot_seconds=DOT_SECONDS):
        self.loop = loop
        self.area = log_argument[KEEP:]
        self.display = display
        self.dot_seconds = dot_seconds
        self._read_fd = -1
        self._dot_timer = None

    def open(self):
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            original = os.dup(2)  # close-on-exec: children get it only through dup2 at spawn
        except OSError:
            original = os.open("/dev/null", os.O_WRONLY | os.O_CLOEXEC)
        os.dup2(write_fd, 2)  # runit: dup2(logpipe[1], 2); non-blocking, so we never stall on it
        os.close(write_fd)
        self._read_fd = read_fd
        self.loop.add_reader(read_fd, self._on_readable)
        return original

    def _on_readable(self):
        while True:
            try:
                data = os.read(self._read_fd, _READ_CHUNK)
            except BlockingIOError:
                return
            if not data:  # fd 2 was closed behind our back: nothing more can arrive
                self.loop.remove_reader(self._read_fd)
                return
            self.add(data)

    def add(self, data):
        self.area = rolled(self.area, data)
        self.display.show(self.area)
        if self._dot_timer is None and has_message(self.area):
            self._dot_timer = self.loop.call_later(self.dot_seconds, self._add_dot)

    def _add_dot(self):
        self._dot_timer = None
        self.add(b".")
