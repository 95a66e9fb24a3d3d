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
    try:
        with open("/proc/%d/stat" % pgid, "rb") as handle:
            state = handle.read(512).rsplit(b")", 1)[-1].split()[:1]
    except FileNotFoundError:
        state = None  # no process has the number: the group, if any, is the job's
    except OSError:
        return False
    if state is not None and state != [b"Z"]:
        return False  # the number belongs to a live process: not the job's group any more
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def become_subreaper():
    """prctl(PR_SET_CHILD_SUBREAPER): orphans of our children are re-parented to us (and
    must be reaped by us)."""
    from .libc import errno_error, libc

    PR_SET_CHILD_SUBREAPER = 36
    if libc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise errno_error("prctl")
