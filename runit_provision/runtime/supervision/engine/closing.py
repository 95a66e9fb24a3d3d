"""runtime/supervision/engine: the steps of an end, each taken whatever the others did.

A supervisor's or a tree's end releases many things — a cgroup, descriptors, a lock, the
callback that tells its tree — and one that fails must not keep the rest: a descriptor left
open holds ``supervise/lock`` against the next runsv, a callback skipped holds up the tree.
"""


def close_each(steps, warn):
    """Call each of ``steps`` in order; one that raises is said through ``warn`` and the next
    is called all the same."""
    for step in steps:
        try:
            step()
        except Exception as exc:  # noqa: BLE001 — said, and the rest must still run
            warn("unable to close cleanly, continuing: %s: %s" % (type(exc).__name__, exc))
