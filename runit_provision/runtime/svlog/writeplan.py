"""runtime/svlog: how much of what a log directory has queued goes into ``current`` before a
rotation — runit's rules of ``svlogd.c`` (rotate after a line once ``current`` is within
``-l`` of its size ``s``; a line that does not fit starts the next file; only a line longer
than a whole file is cut), decided from lengths and counts, pure. ``Raw``: lines not yet
rendered (each behind its stamp and the config's prefix), which a user's agent renders where
it writes them (dirwork.rendered): their plan is made without rendering them, so that root's
tree spends no time on each line of a user's (docs/security.md).

The state machine that acts on these plans — the queue, the steps, rotation, the processor —
is logdir.py's; tests/runtime/svlog/test_svlogd_pure.py and the doctests hold the rules.
"""


def plan_write(data, size, size_max, line_max, at_line_start):
    """How much of ``data`` to write to a ``current`` of ``size`` bytes, and whether to
    rotate after that: ``(count, rotate)``.  ``count == 0`` with ``rotate`` means rotate first.

    runit's rules, without its line splitting: rotate after a line once ``size`` reaches
    ``size_max - line_max`` (never when ``line_max >= size_max``); a line that does not fit
    starts the next file; only a line longer than ``size_max`` (or the rest of a line begun
    in this file) is cut at ``size_max``.

    >>> plan_write(b"ab\\ncd\\n", 0, 100, 10, True)         # far from full
    (6, False)
    >>> plan_write(b"ab\\ncd\\nef\\n", 0, 14, 10, True)     # size 6 >= 14-10 after "cd"
    (6, True)
    >>> plan_write(b"abcdef\\n", 5, 10, 20, True)           # does not fit: rotate first
    (0, True)
    >>> plan_write(b"abcdefghijkl\\n", 0, 10, 20, True)     # longer than s: cut
    (10, True)
    """
    n = len(data)
    if fits_whole(n, size, size_max, line_max):
        return n, False
    room = size_max - size
    threshold = size_max - line_max if size_max > line_max else None
    if threshold is not None:
        end = data.find(b"\n", max(threshold - size - 1, 0)) + 1
        if 0 < end <= room:
            return end, True
    if room <= 0:
        return 0, True  # already full (an appended current, or s lowered): rotate first
    if n <= room:
        return n, False
    start = data.rfind(b"\n", 0, room) + 1  # where the line that does not fit begins
    if start:
        return start, True
    if at_line_start and size:
        return 0, True
    return room, True


def rendered_length(head, block):
    """``len(dirwork.rendered(head, block))``, counted, not rendered.

    >>> rendered_length(b"T ", b"a\\nb\\n"), rendered_length(b"T ", b"half"), rendered_length(b"", b"x")
    (8, 6, 1)
    """
    if not head or not block:
        return len(block) + (len(head) if block else 0)
    heads = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
    return len(block) + heads * len(head)


def _first_at(head, block, target):
    """The first raw position whose byte lands at or after ``target`` once rendered (each
    line behind ``head``): a binary search over counts, never a loop over lines."""
    width = len(head)
    low, high = 0, len(block)
    while low < high:
        middle = (low + high) // 2
        if middle + width * (1 + block.count(b"\n", 0, middle)) >= target:
            high = middle
        else:
            low = middle + 1
    return low


def plan_write_raw(head, block, size, size_max, line_max, at_line_start):
    """``plan_write`` of ``dirwork.rendered(head, block)``, in raw bytes: ``(count,
    rotate)`` — how many bytes of ``block`` to render and write before a rotation. Decided
    from counts alone: what a user's service logs is rendered by the user's agent, and root's
    tree must not spend its time on each of its lines (docs/security.md).

    >>> plan_write_raw(b"T ", b"ab\\ncd\\n", 0, 100, 10, True)
    (6, False)
    >>> plan_write_raw(b"T ", b"ab\\ncd\\nef\\n", 0, 16, 10, True)    # rendered: rotate after "cd"
    (6, True)
    """
    width = len(head)
    length = rendered_length(head, block)
    if fits_whole(length, size, size_max, line_max):
        return len(block), False
    room = size_max - size
    threshold = size_max - line_max if size_max > line_max else None
    if threshold is not None:
        start = _first_at(head, block, max(threshold - size - 1, 0))
        newline = block.find(b"\n", start)
        if newline >= 0:
            end = newline + width * (1 + block.count(b"\n", 0, newline)) + 1
            if 0 < end <= room:
                return newline + 1, True
    if room <= 0:
        return 0, True
    if length <= room:
        return len(block), False
    newline = block.rfind(b"\n", 0, _first_at(head, block, room))
    if newline >= 0:
        return newline + 1, True
    if at_line_start and size:
        return 0, True
    return max(room - width, 1), True  # a line longer than a whole file: cut


def raw_rest(raw, count):
    """What is left of ``raw`` (a Raw) once ``count`` of its bytes are written: [] when
    nothing is; the rest of a line cut in its middle goes without a head (it was given one).

    >>> [(r.head, r.block) for r in raw_rest(Raw(b"T ", b"ab\\ncd\\n"), 3)]
    [(b'T ', b'cd\\n')]
    >>> [(r.head, r.block) for r in raw_rest(Raw(b"T ", b"abcdef\\ngh\\n"), 2)]
    [(b'', b'cdef\\n'), (b'T ', b'gh\\n')]
    """
    block = raw.block
    if count >= len(block):
        return []
    if not count:
        return [raw]
    if block[count - 1:count] == b"\n" or not raw.head:
        return [Raw(raw.head, block[count:])]
    newline = block.find(b"\n", count)
    if newline < 0:
        return [Raw(b"", block[count:])]
    return [item for item in (Raw(b"", block[count:newline + 1]), Raw(raw.head, block[newline + 1:]))
            if item.block]


def fits_whole(length, size, size_max, line_max):
    """Whether ``length`` more bytes can be written with no rotation among them — the
    common case, decided without looking at the bytes.

    >>> fits_whole(10, 0, 100, 50), fits_whole(60, 0, 100, 50), fits_whole(10 ** 9, 0, 0, 50)
    (True, False, True)
    """
    if not size_max:
        return True
    if length > size_max - size:
        return False
    return size_max <= line_max or size + length < size_max - line_max


class Raw:
    """Lines for ``current`` not yet rendered: each line of ``block`` gets ``head`` (its
    stamp, the config's prefix) where it is written — in the agent of a user's directory,
    whose CPU it is (dirwork.rendered)."""

    __slots__ = ("head", "block")

    def __init__(self, head, block):
        self.head, self.block = head, block

    def __len__(self):
        return rendered_length(self.head, self.block)
