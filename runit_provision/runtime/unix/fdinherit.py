"""runtime/unix: descriptors a tree inherited stay the tree's, never its services'.

runit's runsvdir passes whatever it was started with to every runsv and service. One of those
is the lock of a user's tree: ``chpst -L ~/service/.runsvdir.lock runsvdir ~/service`` holds
it open across the exec, so that a second tree on the same directory fails. Passed on, it is
held by every service of the tree too — and once the tree is killed, its successor (started by
runsv a second later) finds the lock held by the orphaned services and cannot start, so the
services it would take over stay unsupervised. So a tree marks what it inherited
close-on-exec before it starts anything.
"""

import os


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
