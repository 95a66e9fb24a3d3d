"""runtime/svlog: a log directory's rotated files — runit's "old files" — by name alone:
what a rotated file is called (``@`` + TAI64N + ``.s``/``.u``/``.t``), which names are one,
and which of them go when svlogd prunes (runit's rmoldest, and a full disk). Pure: the
listing comes from dirwork.py, in whichever process does the directory's file work.
"""

from ...protocol.tai64 import runit_stamp, tai64n_label


def rotated_name(time_ns, suffix):
    """``@`` + TAI64N (runit's microsecond stamp) + ``.s``/``.u``/``.t`` — 27 characters.

    >>> rotated_name(0, "s")
    '@400000000000000a000001f4.s'
    """
    return "%s.%s" % (tai64n_label(*runit_stamp(time_ns)), suffix)


def is_old_file(name):
    """A rotated file's name: ``@``, 27 characters (runit's test in rmoldest)."""
    return len(name) == 27 and name[0] == "@"


def prune_plan(names, keep_max, protected=()):
    """``(leftovers, oldest)``: processor ``.t`` leftovers to delete and, when more than
    ``keep_max`` old files exist, the one oldest file to delete (runit 2.3.0's rmoldest:
    ``.s`` and ``.u`` count; a ``.u`` still due for processing is never picked).

    >>> old = ["@400000006553f10a3ade6964.s", "@400000006553f10a00000000.u", "current"]
    >>> prune_plan(old, 1)
    ([], '@400000006553f10a00000000.u')
    >>> prune_plan(["@400000006553f10a00000000.t"], 0)
    (['@400000006553f10a00000000.t'], None)
    """
    leftovers, count, oldest = [], 0, None
    for name in names:
        if not is_old_file(name):
            continue
        if name.endswith("t"):
            if name not in protected:
                leftovers.append(name)
            continue
        count += 1
        if name not in protected and (oldest is None or name < oldest):
            oldest = name
    if keep_max and count > keep_max and oldest is not None:
        return leftovers, oldest
    return leftovers, None


def full_disk_victim(names, keep_min, protected=()):
    """The oldest old file to delete when the disk is full and more than ``keep_min`` exist.

    >>> full_disk_victim(["@400000006553f10a3ade6964.s", "@400000006553f10a00000000.s"], 1)
    '@400000006553f10a00000000.s'
    >>> full_disk_victim(["@400000006553f10a3ade6964.s"], 1) is None
    True
    """
    old = [name for name in names if is_old_file(name)]
    candidates = [name for name in old if name not in protected]
    if len(old) > keep_min and candidates:
        return min(candidates)
    return None
