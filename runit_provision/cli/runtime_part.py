"""cli: the one call into the init room — for ``apply``, ``install-runtime`` and ``verify``.

``initsys.desired_runtime(config, fs)`` answers what the host under ``fs``'s root should hold
for the runtime and its link into init, reading it through that ``FsReader`` alone (the one
view of the host, host/fsread.py: the applier's own ``FsRoot``, or a reader opened here for
``verify``; no link a user planted is followed, no read is unbounded). The applier plans and
converges the answer like rendered files (``apply/job.py``: observe, plan, execute, observe
again); ``verify`` turns it into checks.

What ``init: none`` means here (docs/apply.md "init: none"): init — and so the runtime started by
it — is somebody else's. ``apply`` then asks nothing of the init room: neither the runtime's
installation nor a link into init is converged (the demo, tests and containers run the
runtime they bring, and never write ``/usr/local``); ``install-runtime --init none`` is the
way to install the runtime without linking it (an image whose entrypoint is ``runsvdir``).
"""

from ..host.fsread import FsReader


def ask_initsys(config, fs, options=None):
    """The init room's ``Runtime`` for ``config`` under ``fs``'s root (an ``FsReader``: the
    applier's ``FsRoot``, only read through)."""
    from .. import initsys  # only when asked: init: none never loads it

    if options is None:
        return initsys.desired_runtime(config, fs)
    return initsys.desired_runtime(config, fs, options=options)


def ask_initsys_at(config, root):
    """``ask_initsys`` on a root of its own (``verify``: no applier holds one)."""
    with FsReader(root) as fs:
        return ask_initsys(config, fs)


def is_runtime_managed(config):
    """Whether ``apply`` converges the runtime and its link into init: not for ``init:
    none``."""
    return config.init != "none"


def runtime_part(config, fs):
    """``(entries, commands, notes)`` of the runtime and its link into init for ``apply``;
    nothing for ``init: none``."""
    if not is_runtime_managed(config):
        return (), (), ()
    part = ask_initsys(config, fs)
    return list(part.entries), list(part.commands), list(part.notes)
