"""runtime/unix: this process's descriptor limit — raised on demand, counted when it is near.

A runsvdir tree holds a few descriptors for every service in one process, where runit spreads
them over a runsv each; so it raises its soft RLIMIT_NOFILE as it grows (never past the hard
one), and near the hard limit counts what it has open before it takes on more.
"""

import os
import resource


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
