"""runtime/unix: this process's descriptors — what it inherited, how many it may hold, and
which file one is open on.

runit's runsvdir passes whatever it was started with to every runsv and service. One of those
is the lock of a user's tree: ``chpst -L ~/service/.runsvdir.lock runsvdir ~/service`` holds
it open across the exec, so that a second tree on the same directory fails. Passed on, it is
held by every service of the tree too — and once the tree is killed, its successor (started by
runsv a second later) finds the lock held by the orphaned services and cannot start, so the
services it would take over stay unsupervised. So a tree marks what it inherited
close-on-exec before it starts anything (``close_inherited_on_exec``).

A runsvdir tree holds a few descriptors for every service in one process, where runit spreads
them over a runsv each; so it raises its soft RLIMIT_NOFILE as it grows (never past the hard
one), and near the hard limit counts what it has open before it takes on more.

A descriptor's number says nothing lasting: closed and taken again, the same number names
another file. A tree keys by the file instead (``file_identity``) where it must know whether
two numbers name one file (the log pipes the pipe keeper holds, pipekeeper.py), or whether its
directory is still the one it watches (servicetree.py).
"""

import os
import resource


def close_inherited_on_exec(first=3):
    """Mark every open descriptor from ``first`` on close-on-exec."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return
    for name in names:
        fd = int(name)
        if fd >= first:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass  # the listing's own descriptor, closed by now


def ensure_fd_room(needed):
    """Raise the soft RLIMIT_NOFILE (never beyond the hard one) so ``needed`` fds fit; True
    when they do.

    Raised on demand and by doubling, so a small tree keeps the limit it was started with;
    services inherit the raised limit (``chpst -o`` sets their own).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return True
    target = max(needed, 2 * soft)
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):
            return False
    return needed <= target


def soft_fd_limit():
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_fd_count():
    """How many descriptors this process has open now."""
    return len(os.listdir("/proc/self/fd")) - 1  # the listing's own


def file_identity(fd):
    """The (device, inode) of the file ``fd`` is open on; None when ``fd`` is not open.

    >>> reader, writer = os.pipe()
    >>> file_identity(reader) == file_identity(writer)  # a pipe's two ends: one file
    True
    >>> os.close(reader); os.close(writer); file_identity(reader) is None
    True
    """
    try:
        found = os.fstat(fd)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def path_identity(path):
    """The (device, inode) of the file ``path`` names now (links followed); None when it cannot
    be stat'ed."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
