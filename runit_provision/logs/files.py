"""logs: one svlogd directory's files, in the order svlogd wrote them, read as plain lines.

svlogd keeps ``current`` and rotated files named ``@`` + TAI64N of the rotation + ``.s``
(``.u`` while a processor is due; ``.t`` is a processor's unfinished output, never a log), so
the names alone order them — ``@….s``/``.u`` oldest first, then ``current`` — and bound their
lines in time: every line of ``@T.s`` was stamped before T (a stamp is taken when a line is
read, the rotation comes after it is written). A processor (``!gzip``, ``!xz``…) rewrites a
rotated file in place of the original: such a file is recognised by its content (the
compressor's magic bytes), never by its name, and read through the matching decompressor.

Every open is of a file in a directory someone else may own: non-blocking (a FIFO planted as
``current`` cannot stall the view), a link refused where a log file is expected.
"""

import posix  # not os, on the daily views' path: protocol/without_os.py says why

from ..protocol.layout import CURRENT
from ..protocol.without_os import is_regular
from .stamps import label_key

_OPEN = posix.O_RDONLY | posix.O_NONBLOCK | posix.O_NOFOLLOW | posix.O_CLOEXEC
_DIR = posix.O_RDONLY | posix.O_DIRECTORY | posix.O_NONBLOCK | posix.O_CLOEXEC
# a block per service in a merge: 20 services hold ~1.3 MiB of lines, which the sort, the
# order and the output's join walk while the processor's cache still holds them (256 KiB
# blocks, ~5 MiB, were a tenth slower)
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


class DecodeError(Exception):
    """A rotated file a processor wrote that cannot be read back (a truncated gzip…)."""


def open_directory(path):
    """A descriptor of log directory ``path`` (links to it followed, as svlogd does; never a
    FIFO's blocking open)."""
    return posix.open(path, _DIR)


def log_files(dir_fd):
    """The files of the directory, oldest first: rotated ones by name, then ``current``."""
    rotated, has_current = [], False
    for name in posix.listdir(dir_fd):
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


def open_log(dir_fd, name):
    """``(raw fd, reader)`` for file ``name``: the reader has ``read(n)`` (a decompressing one
    for a processor's output) and ``seekable`` says whether it is the plain file. OSError for
    a file that is gone, a link, or no regular file."""
    fd = posix.open(name, _OPEN, dir_fd=dir_fd)
    try:
        if not is_regular(posix.fstat(fd).st_mode):
            import errno  # here: a view's start does without (0.26 M instructions)

            raise OSError(errno.EINVAL, "not a regular file", name)
        head = posix.pread(fd, 6, 0)
    except BaseException:
        posix.close(fd)
        raise
    for magic, module in _COMPRESSED:
        if head.startswith(magic):
            # a class made only for a processor's output (a view's start makes none)
            from .decompressing import Decompressing

            return fd, Decompressing(fd, module, name)
    return fd, PlainReader(fd)


class PlainReader:
    """A plain file read through its descriptor."""

    seekable = True

    def __init__(self, fd):
        self.fd = fd

    def read(self, size):
        return posix.read(self.fd, size)


def blocks(reader, start=0, size=BLOCK, stop=None):
    """The file's bytes from ``start`` (up to ``stop``, a plain file's offset) in blocks of
    whole lines (the last block may end without a newline: a line still being written, or
    cut)."""
    if reader.seekable:
        yield from _blocks_at(reader.fd, start, stop, size)
        return
    if start:
        skip = start
        while skip:
            data = reader.read(min(skip, size))
            if not data:
                return
            skip -= len(data)
    yield from _whole_lines(iter(lambda: reader.read(size), b""))


def _blocks_at(fd, start, stop, size):
    """A plain file's whole lines from ``start`` to ``stop`` (None: its end), each block read
    where the last one's last whole line ended — the piece of a line after it is read again
    with the next block, never copied in front of it (a copy of every block, a twentieth of
    a merge's time)."""
    want = size
    while stop is None or start < stop:
        data = posix.pread(fd, want if stop is None else min(want, stop - start), start)
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
        else:  # a line longer than the block: read more of it at once
            want *= 2
            continue
        start += cut
        want = size


def _whole_lines(chunks):
    """``chunks`` of bytes cut after their last newline, the rest carried into the next; what
    is left at the end (a line without its newline) last."""
    rest = b""
    for data in chunks:
        data = rest + data if rest else data
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut] if cut < len(data) else data
            rest = data[cut:]
        else:
            rest = data
    if rest:
        yield rest


def blocks_backward(fd, size=BLOCK, end=None, first=None):
    """A plain file's whole lines from its end (or from ``end``), in blocks: each block's
    lines in file order, the blocks last first. The file's last line may lack its newline.
    ``first``: the first block's size, each next one twice the last, up to ``size`` (the last
    few lines are read without reading a whole block)."""
    end = posix.fstat(fd).st_size if end is None else end
    rest = b""
    step = size if first is None else min(first, size)
    while end > 0:
        start = max(0, end - step)
        step = min(step * 2, size)
        data = posix.pread(fd, end - start, start) + rest
        end = start
        if start == 0:
            yield data
            return
        cut = data.find(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[:cut]
        if cut < len(data):
            yield data[cut:]
    if rest:
        yield rest
