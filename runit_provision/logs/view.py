"""logs: the selected lines of many svlogd directories as one stream, ordered by time.

A ``Source`` is one service's log directory. ``Source.batches()`` reads its files in svlogd's
order — ``@….s``/``.u`` oldest first, then ``current`` — as ``Batch``es of whole lines with
their keys (stamps.py); ``merged`` interleaves the batches of many sources by time.

Ordering. Each line's own stamp is what is shown and what ``--since``/``--until`` select by,
but a source is merged by its running maximum of stamps (``merge keys``): a clock stepped
back inside a file keeps that file's lines in the order they were written, and none is
dropped. Equal times keep the sources' order, then file order. Lines with no stamp (svlogd
without ``-t``, or one line without in a stamped file) take the time before them — for a
whole unstamped file, the bound its name gives (``@T.s``: every line before T; ``current``:
its last write) — and are marked inexact.

Selection is cheap where it can be: a file whose name says it ended before ``since`` is not
opened; in the first file that may hold the start, the start is found by bisection on the
stamps (and checked: if any earlier line of that file is stamped later — the clock stepped
back — the file is read from its start); ``--until`` stops at the first file that begins
after it. ``tail(n)`` reads each source from its end. A ``match`` (``--grep``) selects lines
by their text as they are read, before any counting: ``tail(n, match=…)`` is the last n lines
that match, as journalctl's ``-g`` with ``-n``.

Streaming: memory holds a batch per source, never the selection. Bounded whatever a file
holds (``Limits``, logs/__init__.py): a line is cut at the line bound, a file read back at most so
far, a compressed one decompressed at most so much — each bound reached said once, as what
cannot be read is.

Why one module: reading a source and merging many share the batch, its keys and the ordering
rules above; apart, each half would import the other's insides.
"""

import os
from functools import partial
from itertools import accumulate

from ..protocol.layout import CURRENT
from . import DEFAULT_LIMITS, DecodeError
from .files import (LogFile, PlainReader, ReadBackCut, blocks, blocks_backward, log_files,
                    open_directory, open_log)
from .stamps import HUMAN, ISO, KINDS, TAI64N, WIDTH, BulkKeys, kind_of, key_from_ns

# a stamp at a line's start, by kind (compiled on first use — with ``re`` itself, a third of
# a small view's start: the tail of one file needs none)
_STAMP_PATTERNS = {
    TAI64N: rb"@[0-9a-f]{24}(?= )",
    HUMAN: rb"\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.\d{5}(?= )",
    ISO: rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{5}(?= )",
}
_COMPILED = {}
# what a tail's first read allows for each line it wants (svlogd's default -l is 1000 bytes;
# a longer line only takes another, larger read)
_TAIL_LINE = 256


def _stamp_patterns(kind):
    """(the first line's stamp, every later line's): the later ones searched after a newline,
    a literal found as one (memchr), where "(?m)^" is tried at every byte, far slower over a
    large current."""
    found = _COMPILED.get(kind)
    if found is None:
        import re

        found = _COMPILED[kind] = (re.compile(_STAMP_PATTERNS[kind]),
                                   re.compile(b"\n(" + _STAMP_PATTERNS[kind] + b")"))
    return found


class Batch:
    """Whole lines of one file of one source: ``lines`` (bytes, stamp included, no newline),
    ``keys`` (each line's own time, or the time it inherits), ``merge`` (the running maximum
    the source is merged by), ``exact`` (False: some keys are inherited — which ones,
    ``stamped`` says per line), ``file`` (the LogFile) and ``kind`` (its stamps')."""

    __slots__ = ("lines", "keys", "merge", "stamped", "file", "kind")

    def __init__(self, lines, keys, merge, stamped, file, kind):
        self.lines, self.keys, self.merge = lines, keys, merge
        self.stamped, self.file, self.kind = stamped, file, kind


class ReadProblem(Exception):
    """A source, or one of its files, could not be read: the message says which and why."""


class Source:
    """One log directory: ``label`` (how the view names it), ``path`` (the directory, a final
    path), ``tree`` (the login whose tree it is, or None), ``opener(path)`` (gives a directory
    descriptor; by default a plain non-blocking open), ``kind`` (its stamps, when the data
    says: one of stamps.KINDS, "none", or None to find out from each file), ``limits``
    (Limits: the bounds on a line and on what one file costs; the data's, or the
    defaults)."""

    def __init__(self, label, path, tree=None, kind=None, opener=None, limits=None):
        self.label, self.path, self.tree, self.kind = label, path, tree, kind
        self.opener = opener or open_directory
        self.limits = limits or DEFAULT_LIMITS
        self.problems = []  # what could not be read, said once each

    def __repr__(self):
        return "Source(%r)" % self.label

    # -- the files -----------------------------------------------------------------------
    def open(self):
        """``(dir_fd, [LogFile])``; ReadProblem when the directory cannot be read."""
        try:
            dir_fd = self.opener(self.path)
        except FileNotFoundError:
            return None, []
        except (OSError, ValueError) as exc:
            raise ReadProblem("%s: %s" % (self.path, _why(exc))) from exc
        try:
            return dir_fd, log_files(dir_fd)
        except OSError as exc:
            os.close(dir_fd)
            raise ReadProblem("%s: %s" % (self.path, _why(exc))) from exc

    def batches(self, since=None, until=None, stop_at=None, timed=True, match=None):
        """Every line from ``since`` (a key) to ``until``, file by file, in Batches.
        ``stop_at``: a follower's ``StartPoint`` (follow.py) — the rotated files up to its
        label, then the file it holds, through its descriptor, up to its offset; nothing
        newer (that is the follower's). ``timed=False`` (no ``since``/``until``): Batches
        without keys — which lines are stamped, but not when — for a view of this source
        alone that shows no times (its order is the files' order). ``match``: a compiled
        pattern a line's text (after its stamp) must contain, or None."""
        assert timed or (since is None and until is None)
        dir_fd, files = self.open()
        if dir_fd is None:
            return
        try:
            if stop_at is not None:
                files = _before_follower(dir_fd, files, stop_at)
            start = _first_file(files, since)
            state = _Running(files[start - 1].end if start else None)
            for item in files[start:]:
                if until is not None and state.lower is not None and state.lower > until:
                    return
                yield from self._file_batches(dir_fd, item, since, until, state,
                                              stop_at=stop_at, timed=timed, match=match)
                state.lower = item.end
        finally:
            os.close(dir_fd)

    def reversed_batches(self, since=None, until=None, match=None):
        """The selected lines newest first: Batches whose lines run backwards, merged by
        ``merged`` as they come (their merge keys are negated: time runs down)."""
        dir_fd, files = self.open()
        if dir_fd is None:
            return
        try:
            top = None
            for item in reversed(files):
                if since is not None and item.end is not None and item.end < since:
                    return
                try:
                    for batch in self._file_batches(dir_fd, item, since, until, _Running(None),
                                                    backward=True, match=match, whole=True):
                        lines, keys = batch.lines[::-1], batch.keys[::-1]
                        stamped = None if batch.stamped is None else batch.stamped[::-1]
                        merge = running_max([-key for key in keys], top)
                        top = merge[-1]
                        yield Batch(lines, keys, merge, stamped, batch.file, batch.kind)
                except ReadBackCut as exc:  # older lines would leave a gap unseen
                    self._problem(str(exc))
                    return
        finally:
            os.close(dir_fd)

    def _file_batches(self, dir_fd, item, since, until, state, backward=False, stop_at=None,
                      timed=True, match=None, first=None, whole=False):
        """The file's selected lines in Batches (from its end, the last first, when
        ``backward``: ``first``, the size of the first block read, and ``whole``, a read not
        bounded to a tail's, as ``blocks_backward``'s);
        the file a follower holds (``item is stop_at.held``) through its descriptor, up to
        its offset."""
        try:
            if stop_at is not None and item is stop_at.held:
                fd = os.dup(stop_at.fd)
                reader = PlainReader(fd)
            else:
                fd, reader = open_log(dir_fd, item.name, self.limits)
        except FileNotFoundError:
            return  # rotated away or pruned since the listing
        except OSError as exc:
            self._problem("%s/%s: %s" % (self.path, item.name, _why(exc)))
            return
        try:
            info = os.fstat(fd)
            limit = stop_at.offset if stop_at is not None and item is stop_at.held else None
            bound = item.end if item.end is not None else key_from_ns(info.st_mtime_ns)
            kind, started = self._kind_of_file(reader, fd)
            line_max = self.limits.line
            if backward and reader.seekable:
                source = blocks_backward(fd, end=limit, first=first, limits=self.limits,
                                         label="%s/%s" % (self.path, item.name), whole=whole)
            elif started is not None:
                source = started
            else:
                offset = 0
                if since is not None and kind in KINDS and reader.seekable:
                    offset = _start_offset(fd, kind, since, line_max)
                source = blocks(reader, offset, stop=limit, line_max=line_max)
            if backward and not reader.seekable:
                source = _last_first(source)
            pieces = (self._batch(block, item, kind, bound, state, since, until, timed)
                      for block in source)
            if match is not None:
                pieces = (matching(batch, match) for batch in pieces if batch is not None)
            for batch in pieces:
                if batch is not None:
                    yield batch
        except DecodeError as exc:
            self._problem(str(exc))
        finally:
            _close(reader)
            os.close(fd)

    def _kind_of_file(self, reader, fd):
        """The file's stamps — the data's, or those of its first stamped line among its
        first lines — and, for a compressed file read to tell, its blocks from its start:
        the first one read, then the same stream on (a second stream would begin where the
        first one's read ended, after the line it held unfinished); None for a file to read
        from its start."""
        if self.kind in KINDS:
            return self.kind, None
        if self.kind == "none":
            return None, None
        started = None
        if reader.seekable:
            first = os.pread(fd, 65536, 0)
        else:
            stream = blocks(reader, line_max=self.limits.line)
            first = next(stream, b"")
            if first:
                from itertools import chain  # here: a plain file's view needs no itertools

                started = chain((first,), stream)
        for line in first.split(b"\n", 20)[:20]:
            kind = kind_of(line)
            if kind is not None:
                return kind, started
        return None, started

    def _batch(self, block, item, kind, bound, state, since, until, timed=True):
        lines = block.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        if not lines:
            return None
        if not timed:
            stamped = [False] * len(lines) if kind is None else _bulk(kind).stamped(lines)
            return Batch(lines, None, None, stamped, item, kind)
        stamped = None
        if kind is None:
            keys = [bound] * len(lines)
            stamped = [False] * len(lines)
        else:
            bulk = _bulk(kind)
            keys = bulk.all_keys(lines)
            if keys is None:  # some line without a stamp: read each alone, then look
                keys = bulk.line_keys(lines)
                if None in keys:
                    stamped = fill_unstamped(keys, state.last if state.last is not None else (
                        state.lower if state.lower is not None else bound))
            state.last = keys[-1]
        merge = state.merge_keys(keys)
        if since is None and until is None:
            return Batch(lines, keys, merge, stamped, item, kind)
        if merge is keys:  # in time order (running_max): what is kept is one run of lines
            return _run_between(lines, keys, stamped, item, kind, since, until)
        keep = [index for index, key in enumerate(keys)
                if (since is None or key >= since) and (until is None or key <= until)]
        if len(keep) == len(keys):
            return Batch(lines, keys, merge, stamped, item, kind)
        if not keep:
            return None
        return Batch([lines[i] for i in keep], [keys[i] for i in keep],
                     [merge[i] for i in keep],
                     None if stamped is None else [stamped[i] for i in keep], item, kind)

    def _problem(self, message):
        if message not in self.problems:
            self.problems.append(message)

    # -- from the end ----------------------------------------------------------------------
    def tail(self, count, since=None, until=None, stop_at=None, match=None):
        """The last ``count`` selected lines, as Batches in file order (oldest first);
        ``stop_at`` and ``match`` as for ``batches``."""
        dir_fd, files = self.open()
        if dir_fd is None:
            return []
        found, have = [], 0
        try:
            if stop_at is not None:
                files = _before_follower(dir_fd, files, stop_at)
            for item in reversed(files):
                if since is not None and item.end is not None and item.end < since:
                    break
                try:
                    for batch in self._file_batches(dir_fd, item, since, until,
                                                    _Running(None), backward=True,
                                                    stop_at=stop_at, match=match,
                                                    # a search reads on to a rare match,
                                                    # as far as the file holds on disk
                                                    whole=match is not None,
                                                    first=_TAIL_LINE * (count - have) + 1):
                        found.append(batch)
                        have += len(batch.lines)
                        if have >= count:
                            break
                except ReadBackCut as exc:  # older lines would leave a gap unseen
                    self._problem(str(exc))
                    break
                if have >= count:
                    break
        finally:
            os.close(dir_fd)
        found.reverse()
        kept = _last(found, count)
        state = _Running(None)  # merge keys again, in file order across the pieces
        for batch in kept:
            batch.merge = state.merge_keys(batch.keys)
        return kept


def _run_between(lines, keys, stamped, item, kind, since, until):
    """The Batch of the lines from ``since`` to ``until`` (keys, or None) of lines whose
    ``keys`` are in time order — their own merge keys — found by bisection; None when
    none is."""
    from bisect import bisect_left, bisect_right  # here: a view without times needs none

    first = 0 if since is None else bisect_left(keys, since)
    end = len(keys) if until is None else bisect_right(keys, until)
    if first == 0 and end == len(keys):
        return Batch(lines, keys, keys, stamped, item, kind)
    if first >= end:
        return None
    kept = keys[first:end]
    return Batch(lines[first:end], kept, kept, None if stamped is None else stamped[first:end],
                 item, kind)


class _Running:
    """A source's state across its files: the file's lower bound (the previous file's end),
    the last key (what an unstamped line inherits) and the running maximum (merge keys)."""

    __slots__ = ("lower", "last", "top")

    def __init__(self, lower):
        self.lower, self.last, self.top = lower, None, None

    def merge_keys(self, keys):
        merge = running_max(keys, self.top)
        self.top = merge[-1]
        return merge


def running_max(keys, top=None):
    """The merge keys of ``keys`` (non-empty): the running maximum, from ``top`` on (the
    maximum before them, or None)."""
    if (top is None or keys[0] >= top) and keys == sorted(keys):
        return keys  # the clock ran forward: the keys are their own maximum
    if top is None:
        return list(accumulate(keys, max))
    return list(accumulate(keys, max, initial=top))[1:]


def fill_unstamped(keys, last):
    """Each line without a stamp (its key None) takes the time before it — ``last`` before
    the first line; ``keys`` changed in place. Which lines were stamped, per line."""
    stamped = [key is not None for key in keys]
    for index, key in enumerate(keys):
        if key is None:
            keys[index] = last
        else:
            last = key
    return stamped


_BULK = {}


def _bulk(kind):
    found = _BULK.get(kind)
    if found is None:
        found = _BULK[kind] = BulkKeys(kind)
    return found


def _before_follower(dir_fd, files, stop_at):
    """The files a historical read takes when a follower goes on at ``stop_at``: the rotated
    ones up to its label (but the held one), then the held one — read through the follower's
    descriptor, never found by name: a listing taken while svlogd renames it may miss it."""
    kept = [item for item in files if not item.is_current and item.name[:25] <= stop_at.label
            and not _is_inode(dir_fd, item.name, stop_at.inode)]
    if stop_at.fd is not None:
        kept.append(stop_at.held)
    return kept


def _is_inode(dir_fd, name, inode):
    try:
        return inode is not None and os.stat(name, dir_fd=dir_fd,
                                             follow_symlinks=False).st_ino == inode
    except OSError:
        return False


def _first_file(files, since):
    """The index of the first file that may hold a line from ``since`` on: every line of a
    rotated ``@T`` file was stamped before T."""
    if since is None:
        return 0
    from bisect import bisect_left  # here: a view of the last lines needs none

    ends = [item.end for item in files if item.end is not None]
    return bisect_left(ends, since)


def _start_offset(fd, kind, since, line_max):
    """Where the lines from ``since`` on begin in a plain stamped file: a bisection on the
    stamps; 0 when an earlier line is stamped at or after ``since`` (a clock stepped back)."""
    size = os.fstat(fd).st_size
    low, high = 0, size
    while high - low > 4096:
        middle = (low + high) // 2
        line_start, key = _line_at(fd, kind, middle, size)
        if line_start is None or key is None or key >= since:
            high = middle
        else:
            low = line_start + 1
    # from ``low`` on, the first line at or after since; check that nothing before it is
    start = _line_start_at_or_after(fd, low)
    if start and _latest_before(fd, kind, start, line_max) >= _stamp_bytes(kind, since):
        return 0
    return start


def _line_at(fd, kind, offset, size):
    """``(start, key)`` of the first whole line starting after ``offset``."""
    data = os.pread(fd, 8192, offset)
    cut = data.find(b"\n") + 1 if offset else 0
    if offset and cut == 0:
        return None, None
    line = data[cut:data.find(b"\n", cut) if data.find(b"\n", cut) >= 0 else len(data)]
    return offset + cut, _key(kind, line)


def _key(kind, line):
    return _bulk(kind).keys([line])[0]


def _line_start_at_or_after(fd, offset):
    if offset == 0:
        return 0
    data = os.pread(fd, 65536, offset - 1)
    cut = data.find(b"\n")
    return offset + cut if cut >= 0 else offset


def _latest_before(fd, kind, end, line_max):
    """The latest stamp (bytes, sortable within one kind) of the lines before ``end``, read
    a block at a time (what is before ``end`` may be most of a large file)."""
    latest = b""
    for block in blocks(PlainReader(fd), stop=end, line_max=line_max):
        found = _latest_in(block, kind)
        if found > latest:
            latest = found
    return latest


def _latest_in(data, kind):
    """The latest stamp of the whole lines ``data`` (b"" for none)."""
    # The greatest line, when it is stamped, has the latest stamp: stamps are of one width
    # and sort as the lines do (split and max in C, quicker than the search below)
    greatest = max(data.split(b"\n"))
    if kind_of(greatest) == kind:  # the shape _stamp_patterns' first finds, without re
        return greatest[:WIDTH]
    # a greater line without a stamp ("zz…", or "@…" in a -tt file): every stamp, searched
    first_line, later_lines = _stamp_patterns(kind)
    stamps = later_lines.findall(data)
    first = first_line.match(data)
    if first is not None:
        stamps.append(first.group())
    return max(stamps) if stamps else b""


def _stamp_bytes(kind, key):
    """The stamp text of ``key`` in ``kind`` (sortable like the file's own)."""
    from .stamps import ns_from_key
    if kind == TAI64N:
        return b"@%024x" % key
    import time
    time_ns = ns_from_key(key)
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    separator = "_" if kind == HUMAN else "T"
    return (time.strftime("%Y-%m-%d" + separator + "%H:%M:%S", time.gmtime(seconds))
            + ".%05d" % (nanos // 10000)).encode()


def matching(batch, pattern):
    """The lines of ``batch`` whose text — after the stamp, on a stamped line — ``pattern``
    finds, as a Batch; None when none does (``logs --grep``)."""
    # the text sliced off, not searched from an offset: "^" anchors at the text's start
    lines, stamped, start = batch.lines, batch.stamped, WIDTH + 1
    if stamped is None:  # every line stamped
        keep = [index for index, line in enumerate(lines) if pattern.search(line[start:])]
    else:
        keep = [index for index, (line, has_stamp) in enumerate(zip(lines, stamped))
                if pattern.search(line[start:] if has_stamp else line)]
    if len(keep) == len(lines):
        return batch
    if not keep:
        return None

    def kept(items):
        return None if items is None else [items[index] for index in keep]
    return Batch(kept(lines), kept(batch.keys), kept(batch.merge), kept(stamped), batch.file,
                 batch.kind)


def _last(batches, count):
    """The last ``count`` lines of ``batches`` (file order), as Batches."""
    total = sum(len(batch.lines) for batch in batches)
    drop = max(0, total - count)
    kept = []
    for batch in batches:
        if drop >= len(batch.lines):
            drop -= len(batch.lines)
            continue
        if drop:
            batch = Batch(batch.lines[drop:], batch.keys[drop:], batch.merge[drop:],
                          batch.stamped[drop:] if batch.stamped is not None else None,
                          batch.file, batch.kind)
            drop = 0
        kept.append(batch)
    return kept


def _last_first(source):
    """A compressed file's blocks last first: held whole — as bytes, bounded by what it
    decompresses to, not as Batches (~50 bytes more a line) — up to where it cannot be read
    (what it held before shown, then the DecodeError)."""
    held = []
    try:
        for block in source:
            held.append(block)
    except DecodeError as exc:
        failed = exc
    else:
        failed = None
    yield from reversed(held)
    if failed is not None:
        raise failed


def _close(reader):
    close = getattr(reader, "close", None)
    if close is not None:
        close()


def _why(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


# -- many sources as one stream ------------------------------------------------------------
class Merged:
    """Lines of several sources in time order: ``lines`` (bytes), ``sources`` (the Source of
    each), ``keys``, ``exact`` (per line), ``files`` (the LogFile of each) and ``all_exact``.

    A chunk ``merged`` yields is built lazily: its lines are put in order as it is made, the
    other lists only when a format asks for them (``-o cat`` never does) — each is sorted by
    the same merge keys, stably, so equal times keep the sources' order, then file order."""

    __slots__ = ("lines", "sources", "keys", "exact", "files", "all_exact", "_parts", "_merge")

    def __init__(self, lines, sources, keys, exact, files):
        self.lines, self.sources, self.keys = lines, sources, keys
        self.exact, self.files = exact, files
        self.all_exact = all(exact)
        self._parts = self._merge = None

    @classmethod
    def of_parts(cls, parts, merge=None):
        """The lines of ``parts`` — ``(source, batch, start, end)`` — in the order of their
        ``merge`` keys (None: they are in order already)."""
        chunk = cls.__new__(cls)
        chunk._parts, chunk._merge = parts, merge
        if len(parts) == 1:
            _, batch, start, end = parts[0]
            chunk.lines = batch.lines[start:end] if start or end < len(batch.lines) \
                else batch.lines
        else:
            lines = []
            for _, batch, start, end in parts:
                lines += batch.lines[start:end]
            chunk.lines = chunk._ordered(lines)
        chunk.all_exact = all(batch.stamped is None for _, batch, _, _ in parts)
        return chunk

    def __len__(self):
        return len(self.lines)

    def __getattr__(self, name):  # sources, keys, exact, files: made on first use
        if name not in ("sources", "keys", "exact", "files") or self._parts is None:
            raise AttributeError(name)
        found = []
        for source, batch, start, end in self._parts:
            count = end - start
            if name == "sources":
                found.extend([source] * count)
            elif name == "files":
                found.extend([batch.file] * count)
            elif name == "keys":
                found.extend(batch.keys[start:end])
            else:
                found.extend([True] * count if batch.stamped is None
                             else batch.stamped[start:end])
        found = self._ordered(found)
        setattr(self, name, found)
        return found

    def _ordered(self, items):
        """``items`` sorted as the lines are: by the merge keys, stably. The key function
        hands out the merge keys one by one, in the order ``sort`` asks — the items' own
        order — and is ``next`` itself (the item its default, never reached: there are as
        many keys as items), called in C, not a function of ours called once a line."""
        if self._merge is not None:
            items.sort(key=partial(next, iter(self._merge)))
        return items


def as_merged(source, batch):
    return Merged.of_parts([(source, batch, 0, len(batch.lines))])


def merged(streams):
    """Merge ``streams`` — (source, iterator of its Batches) pairs, in the order equal times
    keep — into Merged chunks, in time order by each source's merge keys.

    A chunk is what every source holds up to the least of their batches' last merge keys
    (the bound): nothing later can come before it. A source whose batch ends at the bound
    may go on at it in its next batch (a file's last line and the next file's first stamped
    alike): the sources after it then take only what is before the bound, and their lines
    at it come in the next chunk, after that source's — equal times keep the sources' order,
    then file order, across batches and files too."""
    heads = []
    for source, batches in streams:
        state = _Head(source, batches)
        if state.load():
            heads.append(state)
    while heads:
        if len(heads) == 1:
            head = heads[0]
            while True:
                yield Merged.of_parts([head.take(len(head.batch.lines))])
                if not head.load():
                    return
        from bisect import bisect_left, bisect_right  # here: a view of one source needs none

        bound = min(head.batch.merge[-1] for head in heads)
        parts, merge, cut = [], [], bisect_right
        for head in heads:
            end = cut(head.batch.merge, bound, head.position)
            if end > head.position:
                merge.extend(head.batch.merge[head.position:end])
                parts.append(head.take(end))
            if end == len(head.batch.merge):  # it ended at the bound: the rest wait there
                cut = bisect_left
        yield Merged.of_parts(parts, merge if len(parts) > 1 else None)
        heads = [head for head in heads if head.has_more() or head.load()]


class _Head:
    """One source's place in a merge: its current Batch and how far it was taken."""

    __slots__ = ("source", "batches", "batch", "position")

    def __init__(self, source, batches):
        self.source, self.batches = source, iter(batches)
        self.batch, self.position = None, 0

    def load(self):
        for batch in self.batches:
            if batch.lines:
                self.batch, self.position = batch, 0
                return True
        self.batch = None
        return False

    def has_more(self):
        return self.batch is not None and self.position < len(self.batch.lines)

    def take(self, end):
        """The part of the batch from where it was taken to ``end``."""
        part = (self.source, self.batch, self.position, end)
        self.position = end
        return part
