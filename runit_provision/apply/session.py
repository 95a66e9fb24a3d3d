"""apply: one converge of a host, start to end — the one path ``apply``, ``plan`` and
``install-runtime`` take.

Open the root (``FsRoot``), take the lock (exclusive to change, shared to look), plan once,
show the plan (``on_plan``: the CLI prints it before anything changes), execute exactly it
unless only checking, release the lock. What the host should hold is ``desire(fs)``
(``apply.job``): the rendered services with the init room's part, or that part alone
(``desired.services_desire``, ``converge_runtime``).

One staging rule for every command: ``--root DIR`` stages — paths under DIR, nothing started,
no command run — whatever DIR is: ``--root /`` writes this host's files in place and starts
nothing (an image built in a chroot, the pure tests); without ``--root``, the host itself.
"""

from .desired import runtime_desire
from .fsroot import FsRoot
from .job import Job
from .lock import release_lock, take_lock
from .runner import SubprocessRunner


def is_staging(root):
    """``root``: the ``--root`` given (None: the host itself, which is not staged)."""
    return root is not None


def converge(root, desire, sv_dir, check, lock_timeout, identities=None, runner=None,
             sv=("sv",), wait_seconds=15.0, on_plan=None, staging=None):
    """``(plan, result)``: the plan made first and the ``job.Result`` of executing it (None
    when ``check``). ``sv_dir``: whose parent holds the lock (``lock.py``); ``identities``:
    owners to set (None: left alone); ``runner``: commands' runner; ``staging``: the rule above
    unless given (a test's temporary root treated as a live host). ApplyError, LockError or
    OSError when the root cannot be opened, the lock not taken or the plan not made."""
    staging = is_staging(root) if staging is None else staging
    with FsRoot(root or "/") as fs:
        lock = None
        try:
            lock = take_lock(fs, sv_dir, lock_timeout, exclusive=not check)
            job = Job(desire, fs, identities=identities, runner=runner, sv=sv,
                      wait_seconds=wait_seconds, is_staging=staging)
            plan = job.plan()
            if on_plan is not None:
                on_plan(plan)
            return plan, (None if check else job.execute(plan))
        finally:
            release_lock(lock)


def converge_runtime(config, options, root, check, lock_timeout, identities=None, runner=None,
                     staging=None):
    """The runtime part alone (``install-runtime``) through ``converge``: ``(runtime, plan,
    result)`` — the init room's answer the executed steps came from, the plan made first, and
    the ``job.Result`` (None with ``check``). ``options``: ``initsys.options``; ``runner``:
    the commands' runner (default: run them); the rest as for ``converge``."""
    answers = []
    plan, result = converge(root, runtime_desire(config, options, answers), config.sv_dir,
                            check, lock_timeout, identities=identities,
                            runner=runner or SubprocessRunner(), staging=staging)
    # after prepare commands ran, the steps executed are those of the second answer (none when
    # a prepare command failed: the first is what was asked)
    again = plan.prepared and result is not None and len(answers) > 1
    return answers[1 if again else 0], plan, result
