"""runtime/unix: processes as the kernel shows them and as runit ends them.

``/proc/PID/stat`` and ``status`` (proc(5)) are read with ``os``'s calls, not ``open()``: the io
stack's objects a first ``open()`` touches cost a process forked from the fork server (a user's
tree) its own pages, and a tree scanning ``/proc`` for a killed predecessor's processes reads
one per process. Field 2 of a stat line, the command name in parentheses, may itself hold
spaces and parentheses (a service can name its process anything), so the fields are split
after the line's *last* ``)``.

A job's process group is ended as both runtimes end it (docs/jobs.md, *A job is its whole
process group*): signalled whole, and what remains of it once its leader is gone. Once the
leader is reaped its number names the group only while the group has members (the kernel keeps
a pid allocated while any process uses it as a group id): a live process with that pid means
the group emptied and the number was taken again, and nothing is sent.
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


# -- process groups -----------------------------------------------------------------------------
def signal_group(pgid, signum):
    """``signum`` to every process of group ``pgid``; a group that is gone, or whose members
    we may not signal, is not an error."""
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def signal_leader(pid, signum):
    """``signum`` to the group ``pid`` leads; to ``pid`` alone when the group is empty (the
    leader left it: setsid)."""
    try:
        os.killpg(pid, signum)
        return
    except ProcessLookupError:
        pass
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def has_leftovers(pgid):
    """Group ``pgid``, whose leader is reaped (or a zombie its parent has yet to reap), still
    has members, and is the job's: no other live process has taken its number."""
    fields = _stat_or_none(pgid)
    if fields is None:  # no process has the number: the group, if any, is the job's
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    if fields[:1] != [b"Z"]:
        return False  # the number belongs to a live process: not the job's group any more
    # the leader, not reaped yet by its parent (a job taken over), is a member itself
    return any(int(found[2]) == pgid for pid, found in _processes() if pid != pgid)


def _stat_or_none(pid):
    """``stat_fields(pid)``, or None when there is no such process (or no stat line)."""
    try:
        return stat_fields(pid)
    except (OSError, ValueError):
        return None


def _processes():
    """``(pid, stat fields)`` of every process (a look at all of /proc: the rare path)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_or_none(int(entry))
            if fields is not None and len(fields) > 2:
                yield int(entry), fields


def become_subreaper():
    """prctl(PR_SET_CHILD_SUBREAPER): orphans of our children are re-parented to us (and
    must be reaped by us)."""
    from .libc import errno_error, libc

    PR_SET_CHILD_SUBREAPER = 36
    if libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise errno_error("prctl")
