"""logs: one svlogd directory's files, in the order svlogd wrote them, read as plain lines.

svlogd keeps ``current`` and rotated files named ``@`` + TAI64N of the rotation + ``.s``
(``.u`` while a processor is due; ``.t`` is a processor's unfinished output, never a log), so
the names alone order them — ``@….s``/``.u`` oldest first, then ``current`` — and bound their
lines in time: every line of ``@T.s`` was stamped before T (a stamp is taken when a line is
read, the rotation comes after it is written). A processor (``!gzip``, ``!xz``…) rewrites a
rotated file in place of the original: such a file is recognised by its content (the
compressor's magic bytes), never by its name, and read through the matching decompressor.

Every open is of a file in a directory someone else may own: non-blocking (a FIFO planted as
``current`` cannot stall the view), a link refused where a log file is expected. And what a
file costs a reader is bounded, whatever its owner wrote (docs/logs.md#bounds): a line longer
than the line bound is cut there and marked (the rest of it is skipped, never held), a tail
reads back a bounded amount of a file, and a compressed file is decompressed up to a bound
that grows with its size.
"""

import errno
import os
import stat

from ..protocol.layout import CURRENT
from . import DEFAULT_LIMITS, LINE_MAX, cut_line
from .stamps import label_key

_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC
# a block per service in a merge: small enough that the lines of every service of a merge fit
# the processor's cache while the sort, the order and the output's join walk them
BLOCK = 1 << 16

# magic bytes -> the stdlib module that reads such a stream
_COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\xfd7zXZ\x00", "lzma"))


class LogFile:
    """One file of a log directory: its ``name``, the ``end`` key its lines come before (the
    rotation's, from the name; None for ``current``)."""

    __slots__ = ("name", "end")

    def __init__(self, name, end):
        self.name, self.end = name, end

    @property
    def is_current(self):
        return self.end is None

    def __repr__(self):
        return "LogFile(%r)" % self.name


class ReadBackCut(Exception):
    """A file read back as far as its bound (READ_BACK) with more of it before: nothing
    older is shown for that source — the message says where."""


def open_directory(path):
    """A descriptor of log directory ``path`` (links to it followed, as svlogd does; never a
    FIFO's blocking open)."""
    return os.open(path, _DIR)


def log_files(dir_fd):
    """The files of the directory, oldest first: rotated ones by name, then ``current``."""
    rotated, has_current = [], False
    for name in os.listdir(dir_fd):
        if name == CURRENT:
            has_current = True
            continue
        end = label_key(name)
        if end is not None:
            rotated.append(LogFile(name, end))
    rotated.sort(key=lambda item: item.name)
    if has_current:
        rotated.append(LogFile(CURRENT, None))
    return rotated


def open_log(dir_fd, name, limits=DEFAULT_LIMITS):
    """``(raw fd, reader)`` for file ``name``: the reader has ``read(n)`` (a decompressing one
    for a processor's output, up to ``limits.decompressed`` of its size) and ``seekable`` says
    whether it is the plain file. OSError for a file that is gone, a link, or no regular
    file."""
    fd = os.open(name, _OPEN, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", name)
        head = os.pread(fd, 6, 0)
    except BaseException:
        os.close(fd)
        raise
    for magic, module in _COMPRESSED:
        if head.startswith(magic):
            # a class made only for a processor's output (a view's start makes none)
            from .decompressing import Decompressing

            return fd, Decompressing(fd, module, name, limits.decompressed(info.st_size))
    return fd, PlainReader(fd)


class PlainReader:
    """A plain file read through its descriptor."""

    seekable = True

    def __init__(self, fd):
        self.fd = fd

    def read(self, size):
        return os.read(self.fd, size)


def blocks(reader, start=0, size=BLOCK, stop=None, line_max=LINE_MAX):
    """The file's bytes from ``start`` (up to ``stop``, a plain file's offset) in blocks of
    whole lines (the last block may end without a newline: a line still being written, or
    cut); a line longer than ``line_max`` is cut there and marked (``cut_line``) and the rest
    of it skipped."""
    if reader.seekable:
        yield from _blocks_at(reader.fd, start, stop, size, line_max)
        return
    if start:
        skip = start
        while skip:
            data = reader.read(min(skip, size))
            if not data:
                return
            skip -= len(data)
    # a class made only for a processor's output (a view's start makes none)
    from .wholelines import WholeLines

    lines = WholeLines(line_max)
    for data in iter(lambda: reader.read(size), b""):
        yield from lines.feed(data)
    rest = lines.rest()
    if rest:
        yield rest


def _blocks_at(fd, start, stop, size, line_max):
    """A plain file's whole lines from ``start`` to ``stop`` (None: its end), each block read
    where the last one's last whole line ended — the piece of a line after it is read again
    with the next block, never copied in front of it (a copy of every block, a twentieth of
    a merge's time). A line without a newline in ``line_max`` bytes is read to that bound
    (the read doubling from ``size``), cut, and the rest of it skipped."""
    want = size
    while stop is None or start < stop:
        data = os.pread(fd, want if stop is None else min(want, stop - start), start)
        if not data:
            return
        cut = data.rfind(b"\n") + 1
        if cut == len(data):
            yield data
        elif cut:
            yield data[:cut]
        elif len(data) < want:  # the end of the file (or of stop): a line without newline
            yield data
            return
        elif want > line_max:  # line_max + 1 bytes and no newline: a line too long
            yield cut_line(data[:line_max], line_max) + b"\n"
            start = skip_line(fd, start + len(data), stop)
            if start is None:
                return
            want = size
            continue
        else:  # a line longer than the block: read more of it at once
            want = min(want * 2, line_max + 1)
            continue
        start += cut
        want = size


def skip_line(fd, offset, stop=None):
    """Where the line ``offset`` is in ends in a plain file: just after its newline — or
    ``stop`` when it runs past it, None when it runs to the end. A hole of a sparse file is
    jumped, not read: it holds no newline (``truncate -s 8G current`` costs nothing)."""
    while stop is None or offset < stop:
        offset = next_data(fd, offset)
        if offset is None:
            return None
        if stop is not None and offset >= stop:  # a hole up to the follower's offset
            return stop
        data = os.pread(fd, BLOCK if stop is None else min(BLOCK, stop - offset), offset)
        if not data:
            return None
        found = data.find(b"\n")
        if found >= 0:
            return offset + found + 1
        offset += len(data)
    return stop


def next_data(fd, offset):
    """The first offset at or after ``offset`` that is not in a hole (SEEK_DATA), or None at
    the end; ``offset`` itself where the file system cannot tell."""
    try:
        return os.lseek(fd, offset, os.SEEK_DATA)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # only a hole, or nothing, from offset to the end
            return None
        return offset


def blocks_backward(fd, size=BLOCK, end=None, first=None, limits=DEFAULT_LIMITS, label=None,
                    whole=False):
    """A plain file's whole lines from its end (or from ``end``), in blocks: each block's
    lines in file order, the blocks last first. The file's last line may lack its newline.
    ``first``: the first block's size, each next one twice the last, up to ``size`` (the last
    few lines are read without reading a whole block).

    At most ``limits.read_back`` bytes are read back — or, for a ``whole`` read (a view
    newest first, a search), as many as the file holds on disk when more: a sparse file's
    holes count for nothing, so what a view costs is what its files hold, as when it reads
    forward and jumps them. ReadBackCut (naming ``label``) when the file goes on before
    them. A line longer than ``limits.line`` is cut and marked as ``blocks`` cuts it: of a
    line whose start is not read yet only its first bytes read so far are held, never the
    whole."""
    info = os.fstat(fd)
    end = info.st_size if end is None else end
    line_max, read_back = limits.line, limits.read_back
    if whole:
        read_back = max(read_back, info.st_blocks * 512)
    floor = max(0, end - read_back)
    head, held, longer = [], 0, False  # the known start of a line begun before what was read
    step = size if first is None else min(first, size)
    while end > floor:
        start = max(floor, end - step)
        step = min(step * 2, size)
        data = os.pread(fd, end - start, start)
        end = start
        cut = 0 if start == 0 else data.find(b"\n") + 1  # the file's start begins a line
        if cut == 0 and start:  # all of it the start of that line
            head.insert(0, data)
            held += len(data)
            if held > line_max:  # only its first line_max bytes are ever shown
                longer, head, held = True, _first_bytes(head, line_max), line_max
            continue
        last = data.rfind(b"\n") + 1
        block = data[cut:last] + _whole(data[last:], head, longer, line_max)
        if block:
            yield block
        if start == 0:
            return
        head, held, longer = [data[:cut]], cut, False
    if end > 0:
        raise ReadBackCut("%s: not read further back than %d bytes (the bound on one "
                          "file): what is older not shown" % (label, read_back))


def _whole(data, head, longer, line_max):
    """The line ``data`` starts and ``head`` (its next bytes, maybe only the first of
    them: ``longer``) goes on with, cut as ``blocks`` cuts it."""
    line = data + b"".join(head) if head else data
    if not longer and len(line) - line.endswith(b"\n") <= line_max:
        return line
    return cut_line(line[:line_max], line_max) + b"\n"


def _first_bytes(pieces, count):
    """The first ``count`` bytes of ``pieces`` joined, as one piece in a list."""
    found, have = [], 0
    for piece in pieces:
        found.append(piece[:count - have])
        have += len(found[-1])
        if have >= count:
            break
    return [b"".join(found)]
