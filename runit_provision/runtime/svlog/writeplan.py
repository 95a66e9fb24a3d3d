"""runtime/svlog: how much of what a log directory has queued goes into ``current`` before a
rotation — runit's rules of ``svlogd.c`` (rotate after a line once ``current`` is within
``-l`` of its size ``s``; a line that does not fit starts the next file; only a line longer
than a whole file is cut), decided from lengths and counts, pure.

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

