"""runtime/unix: a job's process group, as both runtimes end it (docs/jobs.md, *A job is
its whole process group*): signalled whole, and what remains of it once its leader is gone.

Once the leader is reaped its number names the group only while the group has members (the
kernel keeps a pid allocated while any process uses it as a group id): a live process with
that pid means the group emptied and the number was taken again, and nothing is sent.
"""

import os


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
    fields = _stat_fields(pgid)
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


def _stat_fields(pid):
    """``/proc/PID/stat`` from its state on (a list of bytes), or None when there is none."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            return handle.read(1024).rsplit(b")", 1)[-1].split()
    except OSError:
        return None


def _processes():
    """``(pid, stat fields)`` of every process (a look at all of /proc: the rare path)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields is not None and len(fields) > 2:
                yield int(entry), fields


def become_subreaper():
    """prctl(PR_SET_CHILD_SUBREAPER): orphans of our children are re-parented to us (and
    must be reaped by us)."""
    from .libc import errno_error, libc

    PR_SET_CHILD_SUBREAPER = 36
    if libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise errno_error("prctl")
