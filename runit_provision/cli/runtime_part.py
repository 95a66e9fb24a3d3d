"""cli: the one call into the init room — for ``apply``, ``install-runtime`` and ``verify``.

``initsys.desired_runtime(config, root, observe)`` answers what the host under ``root`` should
hold for the runtime and its link into init; ``observe(path)`` reads a file under the root
through the applier's ``FsRoot`` (read-only: no link a user planted is followed) and returns
an ``apply.observe.Actual``. The applier plans and converges the answer like rendered files
(``apply/job.py``: observe, plan, execute, observe again); ``verify`` turns it into checks.

What ``init: none`` means here (docs/apply.md "init: none"): init — and so the runtime started by
it — is somebody else's. ``apply`` then asks nothing of the init room: neither the runtime's
installation nor a link into init is converged (the demo, tests and containers run the
runtime they bring, and never write ``/usr/local``); ``install-runtime --init none`` is the
way to install the runtime without linking it (an image whose entrypoint is ``runsvdir``).
"""

from ..apply.observe import observe_path


def observer(fs):
    """``observe(path, kind="file") -> Actual`` under ``fs``'s root, for the init room."""
    def observe(path, kind="file"):
        return observe_path(fs, path, kind)
    return observe


def ask_initsys(config, root, fs=None, options=None):
    """The init room's ``Runtime`` for ``config`` under ``root`` — read through ``fs`` (an
    ``FsRoot``) when given, else directly (``verify``: nothing is written either way)."""
    from .. import initsys  # only when asked: init: none never loads it

    observe = observer(fs) if fs is not None else None
    if options is None:
        return initsys.desired_runtime(config, root, observe)
    return initsys.desired_runtime(config, root, observe, options=options)


def is_runtime_managed(config):
    """Whether ``apply`` converges the runtime and its link into init: not for ``init:
    none``."""
    return config.init != "none"


def runtime_part(config, root, fs):
    """``(entries, commands, notes)`` of the runtime and its link into init for ``apply``;
    nothing for ``init: none``."""
    if not is_runtime_managed(config):
        return (), (), ()
    part = ask_initsys(config, root, fs)
    return list(part.entries), list(part.commands), list(part.notes)
