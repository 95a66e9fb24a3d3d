"""runtime/unix: ``/proc/PID/stat`` as the kernel writes it (proc(5)).

Field 2, the command name in parentheses, may itself hold spaces and parentheses (a service
can name its process anything), so the fields are split after the line's *last* ``)``.

Read with ``os``'s calls, not ``open()``: the io stack's objects a first ``open()`` touches
cost a process forked from the fork server (a user's tree) about 0.3 MB of its own pages, and a
tree scanning ``/proc`` for a killed predecessor's processes reads it once per process.
"""

import os

_STAT_MAX = 4096  # a stat line is a few hundred bytes; the name in it at most 64


def stat_fields(pid="self"):
    """The fields of ``/proc/PID/stat`` from field 3 (the state) on: proc(5)'s field N is
    ``stat_fields(pid)[N - 3]``. OSError when ``pid`` is gone, ValueError when the text is
    not a stat line.

    >>> fields = stat_fields()
    >>> fields[0] in (b"R", b"S"), int(fields[1]) > 0   # this process: running; a parent
    (True, True)
    """
    fd = os.open("/proc/%s/stat" % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        text = os.read(fd, _STAT_MAX)
    finally:
        os.close(fd)
    _, paren, rest = text.rpartition(b")")
    if not paren:
        raise ValueError("not a /proc/PID/stat line: %r" % text[:40])
    return rest.split()


_STATUS_MAX = 8192  # /proc/PID/status is under 2 kB; its Uid line comes in its first tenth


def real_uid(pid):
    """The real uid of process ``pid`` (``/proc/PID/status``'s ``Uid:`` line, its first
    field): whose process it is, whatever it runs as now — a set-uid program started by a user
    is still that user's, as the kernel judges who may signal it. OSError when ``pid`` is gone,
    ValueError when the text has no such line.

    >>> real_uid("self") == os.getuid()
    True
    """
    return int(status_fields(pid, b"Uid:")[0])


def status_fields(pid, key):
    """The fields of ``/proc/PID/status``'s line ``key`` (``b"Uid:"``). OSError when ``pid``
    is gone, ValueError when the text has no such line."""
    fd = os.open("/proc/%s/status" % pid, os.O_RDONLY | os.O_CLOEXEC)
    try:
        text = os.read(fd, _STATUS_MAX)
    finally:
        os.close(fd)
    for line in text.split(b"\n"):
        if line.startswith(key):
            return line.split()[1:]
    raise ValueError("no %s line in /proc/%s/status" % (key.decode(), pid))


def ns_pids(pid="self"):
    """``/proc/PID/status``'s ``NSpid:``: the process's pid in each PID namespace it is in, from
    that of /proc's mount (which may be an outer one's: ``unshare --pid`` without a /proc of
    its own) to its own. OSError when ``pid`` is gone, ValueError without the line.

    >>> ns_pids()[-1] == os.getpid()
    True
    """
    return [int(field) for field in status_fields(pid, b"NSpid:")]
