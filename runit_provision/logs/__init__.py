"""logs: what svlogd wrote — one service's files or many services' — as one stream of lines
ordered by time, selected by time and content, followed as it grows. Reads only; the ``logs``
verb of the CLI prints it (cli/logs.py, docs/logs.md).

Here, the bounds every reader of the room keeps to (docs/logs.md#bounds) — what one file of a
log directory may cost: ``Limits``, the line cut and marked, DecodeError — which files.py,
decompressing.py and wholelines.py share."""


# -- the bounds: what one file of a log directory — its owner's to fill, read by
# root — may cost a reader. Each is a floor: a log the data declares with a larger line_length
# or size gets that (``Limits``).
#
# A line shown whole: 64 KiB, 65x svlogd's default -l. svlogd writes a line whole into its
# file whatever its -l (runit's and ours: -l cuts only what is matched, alerted or sent by UDP,
# which end in "..."), so a longer line is legitimate but rare: a service that means a line to
# be read keeps it short (a stack trace is many lines). A longer one is shown as its first
# LINE_MAX bytes and CUT_MARK; the rest is skipped up to its newline, never held.
LINE_MAX = 64 * 1024
CUT_MARK = b"...[cut: longer than %d bytes]"
# Bytes read back from one file for a tail (-n, status's lines, -f's start): 160x svlogd's
# default s (99999 bytes), so all of any file an svlogd writes unless its data says a larger
# size. A view newest first and a
# search (-g with -n) read back what the file holds on disk when that is more: a hole counts
# for nothing, what was written is read (blocks_backward's ``whole``).
READ_BACK = 16 << 20
# A compressed rotated file decompressed to at most RATIO times its size, and at least FLOOR:
# above what gzip (svlogd's usual processor) and xz reach on ordinary log lines, below a
# repeated health check's and far below a bomb's (bench/RESULTS.md, row 69). A file of a log
# the data declares holds at most its size (svlogd's s: the bound then), one without size at
# most svlogd's default 99999 bytes: the floor, 10x that, takes a small file's ratio whatever
# it is. What a reader decompresses costs its owner at least a hundredth of it on disk: a
# directory of many bombs costs each its bound, no more.
DECOMPRESSED_RATIO = 100
DECOMPRESSED_FLOOR = 1 << 20


class DecodeError(Exception):
    """A rotated file a processor wrote that cannot be read back (a truncated gzip…), or
    only up to its bound (DECOMPRESSED_RATIO)."""


class Limits:
    """What one log directory's reader holds and reads of a file: ``line`` (longer lines are
    cut), ``read_back`` (bytes read back from one file), ``file`` (the largest file its svlogd
    writes, when the data declares its size: svlogd's ``s``; None). The module's constants,
    or the data's line_length and size when larger."""

    __slots__ = ("line", "read_back", "file")

    def __init__(self, line_length=None, size=None):
        self.line = max(LINE_MAX, line_length or 0)
        self.file = size
        self.read_back = max(READ_BACK, 2 * self.line, size or 0)

    def decompressed(self, compressed):
        """The most a compressed file of ``compressed`` bytes is read to, decompressed."""
        return max(DECOMPRESSED_FLOOR, DECOMPRESSED_RATIO * compressed, self.file or 0)


DEFAULT_LIMITS = Limits()


def cut_line(head, line_max):
    """A line longer than ``line_max`` as it is shown: its first ``line_max`` bytes
    (``head``), marked; no newline.

    >>> cut_line(b"abc", 3)
    b'abc...[cut: longer than 3 bytes]'
    """
    return head + CUT_MARK % line_max
