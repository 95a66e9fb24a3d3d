"""runtime/unix: each tool shows its runit name to ``ps``, ``pidof`` and ``/proc/PID/comm``.

Started as a Python program, a tool's ``argv[0]`` is the interpreter (``python3
/usr/local/bin/runsvdir /etc/service``) and, when run with ``python -m``, its task name is
``python3`` too — so ``pidof runsvdir`` finds nothing, and Debian's LSB hook
(``/lib/lsb/init-functions.d/40-runit``, which asks ``pidof runsvdir`` when runit is not
process 1) would not forward ``service NAME stop`` to ``sv``. ``show_runit_name`` rewrites the
argument area the kernel shows (``/proc/PID/cmdline``, between ``arg_start`` and ``arg_end`` of
``/proc/self/stat``) to ``NAME ARGS…``, padding the freed bytes with NULs at the end (``ps``
and ``pidof`` ignore them), and sets the task name. Written through ``/proc/self/mem``: no
ctypes, so ``sv status`` pays a few system calls, not an import. Python keeps its own copy of
argv and never reads the area again.
"""

import os

from .processes import stat_fields

_COMM_MAX = 15  # TASK_COMM_LEN - 1


def argv_bounds():
    """``(arg_start, arg_end)`` of this process's argument area (``/proc/self/stat`` fields
    48 and 49, Linux 3.5)."""
    fields = stat_fields()
    return int(fields[48 - 3]), int(fields[49 - 3])


def renamed_area(area, name, args):
    """The argument area showing ``name`` then ``args``, or None when ``area`` does not end
    with exactly ``args`` (then it is not the area we think it is). Same length as ``area``.

    >>> shown = renamed_area(b"/usr/bin/python3\\0/usr/bin/sv\\0status\\0web\\0", b"sv",
    ...                      [b"status", b"web"])
    >>> shown.rstrip(b"\\0"), len(shown)
    (b'sv\\x00status\\x00web', 40)
    >>> renamed_area(b"python3\\0x\\0", b"sv", [b"status"]) is None
    True
    """
    tail = b"".join(arg + b"\0" for arg in args)
    body = area.rstrip(b"\0") + b"\0"
    if not body.endswith(tail) or len(body) <= len(tail):
        return None
    shown = name + b"\0" + tail
    if len(shown) > len(area):
        return None
    return shown + b"\0" * (len(area) - len(shown))


def show_program(argv, tool):
    """At a program's start, with ``argv`` = ``sys.argv``: show ``argv[0]`` as it was exec'd
    (``/usr/bin/sv``, an LSB link's ``/etc/init.d/web``, chpst's ``envdir``) — or, under
    ``python -m``, where ``argv[0]`` is the module's file, ``tool``."""
    name = argv[0] if argv and argv[0] and not argv[0].endswith(".py") else tool
    show_runit_name(name, argv[1:])


def whole_area(area, name, args):
    """The argument area showing ``name`` then ``args`` whatever it held before, cut to fit.

    >>> shown = whole_area(b"python3\\0/x/runsvdir\\0/etc/service\\0", b"svlogd", [b"(a b)"])
    >>> shown.rstrip(b"\\0"), len(shown)
    (b'svlogd\\x00(a b)', 33)
    >>> whole_area(b"py\\0x\\0", b"svlogd", [b"(a b)"])
    b'svlog'
    """
    shown = b"".join(word + b"\0" for word in [name] + list(args))[:len(area)]
    return shown + b"\0" * (len(area) - len(shown))


def show_runit_name(name, args, whole=False):
    """Show this process as ``name`` with ``args`` (its own arguments, without argv[0]).

    ``whole``: whatever the area held (a process forked from a tool, showing another one),
    cut to the area's length. Best effort and silent: a kernel without ``/proc/self/mem``
    writes, or an area that does not hold ``args`` where expected, leaves the process as it
    was.
    """
    encoded = os.fsencode(name)
    try:
        fd = os.open("/proc/self/comm", os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        pass
    else:
        try:
            os.write(fd, encoded.rsplit(b"/", 1)[-1][:_COMM_MAX])
        except OSError:
            pass
        finally:
            os.close(fd)
    try:
        start, end = argv_bounds()
        fd = os.open("/proc/self/mem", os.O_RDWR | os.O_CLOEXEC)
    except (OSError, ValueError, IndexError):
        return
    try:
        area = os.pread(fd, end - start, start)
        encoded_args = [os.fsencode(arg) for arg in args]
        shown = (whole_area if whole else renamed_area)(area, encoded, encoded_args)
        if shown is not None and shown != area:
            os.pwrite(fd, shown, start)
    except OSError:
        pass
    finally:
        os.close(fd)
