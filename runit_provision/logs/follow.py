"""logs: following svlogd directories as they grow — ``logs -f`` — event-driven, through
rotation, with no line lost, repeated or reordered.

For each source the follower holds ``current`` open and reads it from where the view stopped
(``start_points``: the inode and offset the historical read is cut at). inotify on the
directory wakes it: a write (``IN_MODIFY``) — read on to the end, whole lines only; a rename
or a new file — svlogd rotated: ``current`` has become ``@….s`` (or ``.u``) under the same
inode, so the held descriptor is read to its end first (the last line, whole or not, is the
file's), then the new ``current`` is opened and read from its start. A processor rewriting
the rotated file later changes nothing: the descriptor holds the original inode. A logger
killed and started again renames a crashed ``current`` to ``@….u`` the same way. A directory
that does not exist yet is waited for through a watch on its nearest existing parent.

Nothing is read on a timer: the process sleeps in ``select`` on the inotify descriptor.

Bounded as the view is (Limits): an unfinished line is held up to the line bound, then
shown cut and the rest of it dropped (a sparse file's holes jumped, not read); where following
begins is looked for at most ``read_back`` bytes back; a rotated file nobody held is read a
block at a time, a compressed one up to its bound.
"""

import os
import select
import time

from ..protocol.layout import CURRENT
from ..runtime.unix import inotify
from . import DecodeError
from .files import LogFile, blocks, next_data, open_log
from .stamps import KINDS, key_from_ns, kind_of
from .view import Batch, _bulk, _close, fill_unstamped, merged, running_max
from .wholelines import WholeLines

_DIR_EVENTS = ("IN_MODIFY", "IN_CREATE", "IN_MOVED_FROM", "IN_MOVED_TO", "IN_DELETE",
               "IN_CLOSE_WRITE", "IN_DELETE_SELF", "IN_MOVE_SELF")
_PARENT_EVENTS = ("IN_CREATE", "IN_MOVED_TO", "IN_DELETE_SELF", "IN_MOVE_SELF")
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


class StartPoint:
    """Where a follower goes on: the rotated files up to ``label`` are before it; the file it
    holds — ``fd``, ``inode`` (None: it holds none yet) — is read by the historical view
    (view.Source.batches' ``stop_at``) up to ``offset``. Here, not in view.py: a view that
    does not follow makes no such class at its start."""

    __slots__ = ("fd", "inode", "offset", "label", "held")

    def __init__(self, fd, inode, offset, label):
        self.fd, self.inode, self.offset, self.label = fd, inode, offset, label
        self.held = LogFile(CURRENT, None)


def _mask(names):
    mask = 0
    for name in names:
        mask |= getattr(inotify, name)
    return mask


class _Tail:
    """Where one source is read: its directory, the ``current`` held (descriptor, inode),
    the offset read to, its whole lines (``lines``: the unfinished last line held, bounded),
    the last key (what an unstamped line inherits); ``floor``: the newest rotated label when
    following began (the historical read's), and ``done``: the later labels already read (or
    the held file's, once svlogd rotated it) — any other later label is a file nobody read
    yet. A set, not a bound: a
    listing taken while svlogd renames may miss an entry, and the next one shows it."""

    __slots__ = ("source", "dir_fd", "fd", "inode", "offset", "lines", "last", "kind",
                 "top", "floor", "done")

    def __init__(self, source):
        self.source, self.dir_fd, self.fd, self.inode = source, None, None, None
        self.offset, self.last, self.top = 0, None, None
        self.lines = WholeLines(source.limits.line)
        self.kind = source.kind if source.kind in KINDS else None
        self.floor, self.done = "", set()


class Follower:
    """Follows ``sources``: ``start_points()`` for the historical read, then ``wait()`` for
    Merged chunks of new lines, in time order within each wake-up."""

    def __init__(self, sources):
        self.inotify = inotify.Inotify()
        self.tails = [_Tail(source) for source in sources]
        self._watches = {}  # wd -> _Tail (its directory, or a parent it waits in)
        for tail in self.tails:
            self._watch(tail)
            self._open_current(tail, at_end=True)

    def close(self):
        for tail in self.tails:
            for fd in (tail.fd, tail.dir_fd):
                if fd is not None:
                    os.close(fd)
        self.inotify.close()

    # -- set-up ---------------------------------------------------------------------------
    def _watch(self, tail):
        """A watch on the source's directory — through the descriptor opened for it, so
        that a link planted on the way is refused as the view refuses it — or on its nearest
        existing parent until it appears."""
        try:
            tail.dir_fd = tail.source.opener(tail.source.path)
        except FileNotFoundError:
            parent = os.path.dirname(tail.source.path.rstrip("/"))
            while parent and parent != "/" and not os.path.isdir(parent):
                parent = os.path.dirname(parent)
            try:
                self._watches[self.inotify.add_watch(parent or "/",
                                                     _mask(_PARENT_EVENTS))] = tail
            except OSError:
                pass
            return
        except OSError as exc:
            tail.source._problem("%s: %s" % (tail.source.path, exc.strerror or exc))
            return
        wd = self.inotify.add_watch("/proc/self/fd/%d" % tail.dir_fd, _mask(_DIR_EVENTS))
        self._watches[wd] = tail

    def _open_current(self, tail, at_end):
        """Hold ``current`` — at its last whole line when ``at_end`` (following begins: the
        historical read covers what is before it) — and return the batches of the files
        rotated before it that nobody read (read first: they are older); None when there is
        no ``current``."""
        if tail.dir_fd is None:
            return None
        if at_end:
            tail.floor = max(_labels(tail.dir_fd), default="")
        try:
            fd = os.open(CURRENT, _READ, dir_fd=tail.dir_fd)
        except OSError:
            return None
        info = os.fstat(fd)
        tail.fd, tail.inode = fd, info.st_ino
        tail.lines = WholeLines(tail.source.limits.line)
        tail.offset = 0
        if at_end:
            tail.offset = _last_line_end(fd, info.st_size, tail.source.limits.read_back)
            if tail.offset is None:  # no line starts that near the end: in a line cut
                tail.offset, tail.lines.skipping = info.st_size, True
        # the files rotated before the one just opened; if it has been rotated already, those
        # after it are newer: read after it, once its rotation is seen
        unread, older = self._unread(tail), []
        for label in unread:
            if _inode_of(tail.dir_fd, label) == tail.inode:
                break
            older.append(label)
        tail.done.update(older)
        unread = older
        if at_end:
            return []  # rotated while it was opened: the historical read takes them
        found = []
        for label in unread:
            found += self._whole(tail, label)
        return found

    def _unread(self, tail):
        return [label for label in _labels(tail.dir_fd)
                if label > tail.floor and label not in tail.done]

    def start_points(self):
        """{source: StartPoint}: where the historical read of each source stops
        (``Source.batches(stop_at=…)``) for the follower to go on without a gap or a repeat:
        the rotated files up to the newest older than the held ``current``, then that file,
        through the follower's own descriptor, up to where the follower begins."""
        return {tail.source: StartPoint(tail.fd, tail.inode if tail.fd is not None else None,
                                        tail.offset, max([tail.floor] + list(tail.done)))
                for tail in self.tails if tail.dir_fd is not None}

    # -- following ------------------------------------------------------------------------
    def wait(self, timeout=None):
        """Sleep until something changes; the Merged chunks of the new lines (maybe none)."""
        ready, _, _ = select.select([self.inotify.fd], [], [], timeout)
        if not ready:
            return []
        touched = []
        for wd, _mask_value, _cookie, _name in self.inotify.read_events():
            tail = self._watches.get(wd)
            if tail is None:  # the queue overflowed (wd -1): look at every source
                touched = list(self.tails)
                break
            if tail not in touched:
                touched.append(tail)
        streams = []
        for tail in touched:
            batches = self._advance(tail)
            if batches:
                streams.append((tail.source, batches))
        return list(merged(streams))

    def poll_all(self):
        """Read every source on (after the historical read, before the first wait)."""
        streams = []
        for tail in self.tails:
            batches = self._advance(tail)
            if batches:
                streams.append((tail.source, batches))
        return list(merged(streams))

    def _advance(self, tail):
        """Whatever the source has that was not read: the held file to its end; if svlogd
        rotated it, each file rotated after it (held by nobody: read whole, by name), then
        the new ``current``."""
        if tail.dir_fd is None:
            self._watch(tail)
            if tail.dir_fd is None:
                return []
            return self._from_start(tail)  # a directory that appeared: all of it is new
        if tail.fd is None:
            return self._from_start(tail)
        found = self._read_on(tail)
        while _current_inode(tail.dir_fd) not in (tail.inode, None):
            found += self._read_on(tail, final=True)  # rotated: the rest of it is whole
            own = self._own_label(tail)
            if own is not None:
                tail.done.add(own)
            os.close(tail.fd)
            tail.fd = None
            opened = self._open_current(tail, at_end=False)
            if opened is None:
                return found
            found += opened + self._read_on(tail)
        return found

    def _own_label(self, tail):
        """The label the held file was rotated to: found by its inode (listings taken while
        svlogd renames may miss it: looked for again); a processor may have replaced it by
        its output already — then it is the oldest unread label."""
        for _ in range(3):
            unread = self._unread(tail)
            for label in unread:
                if _inode_of(tail.dir_fd, label) == tail.inode:
                    return label
        return unread[0] if unread else None

    def _whole(self, tail, label):
        """A rotated file no descriptor of ours held, by its label (whichever of ``.s`` and
        ``.u`` is there; a processor's output is read by content), a block at a time."""
        limits = tail.source.limits
        for suffix in (".s", ".u"):
            try:
                fd, reader = open_log(tail.dir_fd, label + suffix, limits)
            except OSError:
                continue
            found = []
            try:
                for block in blocks(reader, line_max=limits.line):
                    found.append(self._batch(tail, block if block.endswith(b"\n")
                                             else block + b"\n"))
            except DecodeError as exc:  # its name in it, as the view says it
                tail.source._problem(str(exc))
            except Exception as exc:  # noqa: BLE001 — a broken file is said, the rest goes on
                tail.source._problem("%s/%s%s: %s" % (tail.source.path, label, suffix, exc))
            finally:
                _close(reader)
                os.close(fd)
            return found
        tail.source._problem("%s/%s: rotated and gone before it could be read (pruned)"
                             % (tail.source.path, label))
        return []

    def _from_start(self, tail):
        opened = self._open_current(tail, at_end=False)
        if opened is None:
            return []
        return opened + self._read_on(tail)

    def _read_on(self, tail, final=False):
        batches, lines = [], tail.lines
        while True:
            if lines.skipping:  # the rest of a cut line: a hole holds no newline, jumped
                offset = next_data(tail.fd, tail.offset)
                tail.offset = os.fstat(tail.fd).st_size if offset is None else offset
            data = os.pread(tail.fd, _CHUNK, tail.offset)
            if not data:
                break
            tail.offset += len(data)
            for block in lines.feed(data):
                batches.append(self._batch(tail, block))
        if final:
            rest = lines.rest()
            if rest:
                batches.append(self._batch(tail, rest + b"\n"))
        return batches

    def _batch(self, tail, block):
        lines = block.split(b"\n")
        lines.pop()
        if tail.kind is None and tail.source.kind != "none":
            tail.kind = next((kind for kind in map(kind_of, lines[:20]) if kind), None)
        stamped = None
        if tail.kind is None:
            now = key_from_ns(time.time_ns())
            keys = [now] * len(lines)
            stamped = [False] * len(lines)
        else:
            keys = _bulk(tail.kind).keys(lines)
            if None in keys:
                stamped = fill_unstamped(keys, tail.last if tail.last is not None
                                         else key_from_ns(time.time_ns()))
        tail.last = keys[-1]
        merge = running_max(keys, tail.top)
        tail.top = merge[-1]
        return Batch(lines, keys, merge, stamped, LogFile(CURRENT, None), tail.kind)


def _labels(dir_fd):
    """The labels (``@`` + 24 hex digits) of the rotated files, oldest first."""
    return sorted({name[:25] for name in os.listdir(dir_fd)
                   if len(name) == 27 and name[0] == "@" and name[25:] in (".s", ".u")})


def _inode_of(dir_fd, label):
    """The inode of the rotated file ``label`` (``.u`` or ``.s``), or None."""
    for suffix in (".u", ".s"):
        try:
            return os.stat(label + suffix, dir_fd=dir_fd, follow_symlinks=False).st_ino
        except OSError:
            continue
    return None


def _current_inode(dir_fd):
    try:
        return os.stat(CURRENT, dir_fd=dir_fd, follow_symlinks=False).st_ino
    except OSError:
        return None


def _last_line_end(fd, size, read_back):
    """The offset just after the last newline at or before ``size`` (0 if none); None when
    there is none in the last ``read_back`` bytes and the file goes on before them."""
    if size == 0:
        return 0
    start, floor = size, max(0, size - read_back)
    while start > floor:
        begin = max(floor, start - 65536)
        data = os.pread(fd, start - begin, begin)
        cut = data.rfind(b"\n")
        if cut >= 0:
            return begin + cut + 1
        start = begin
    return None if floor else 0
