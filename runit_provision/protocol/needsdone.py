"""protocol: ``needs-done`` — the one-shots a service's ``./run`` waits for (``needs:`` of
one-shots, docs/jobs.md), their service directories a line each, written by render beside the
guard at the head of ``./run`` (templates/needs-done.j2) — and which of them it waits for now,
as the views tell it (health/verdict.py: ``waiting for setup``).

A dependent waits in one of two ways: our tree holds its ``./run`` (it is down, wanted up),
or its guard runs (it is ``run``: the C runsv's way, and ours once a hold ran out). Either way
it waits for a one-shot that is not done (the guard passes on a record of exit 0 alone). One
that runs waits if it started at or after the one-shot's run began, or if the one-shot runs
now with no run done before (at boot both start side by side).

Timing alone cannot always tell whether a running dependent's guard passed, so the guard
says so: ``needs-passed 1 pid=PID boot=ID`` in the service directory, written by ./run as it
goes on. A dependent passed its guard when that record names its pid in this boot
(``guard_passed``); without a record, the timing above decides.

Both files are the service owner's: ``needs-done``'s lines are only looked at (absolute
paths, at most ``NEEDS_MAX``), ``needs-passed`` only compared with the status's pid, and only
the one-shots' names and words are shown.
"""

from .lastrun import DONE, NEVER_RUN

NEEDS_DONE_MAX = 4096  # bytes of the file read
NEEDS_MAX = 64  # directories looked at
NEEDS_PASSED_MAX = 256  # bytes of needs-passed read: the line is ~60


def needed_lines(data):
    """The absolute directories a ``needs-done`` file's bytes name, in order, as bytes: what
    our tree's start holds look at (runtime/supervision/tree/startholds.py) and the views.

    >>> needed_lines(b"/etc/sv/setup\\nrelative\\n\\n/etc/sv/migrate\\n")
    [b'/etc/sv/setup', b'/etc/sv/migrate']
    """
    return [line for line in data[:NEEDS_DONE_MAX].split(b"\n")[:NEEDS_MAX]
            if line.startswith(b"/") and b"\0" not in line]


def needed_dirs(data):
    """``needed_lines`` as str."""
    from os import fsdecode

    return [fsdecode(line) for line in needed_lines(data)]


def waited_for(dependent, needed, word=None, boot=None):
    """``[(name, job)]``: which of ``needed`` — ``(name, SideState)`` of each one-shot the
    dependent needs — the dependent (the SideState of its service side) waits for now (the
    module says when), with the one-shot's job word (``running``, ``never run``,
    ``failed``); empty when it waits for none. ``word``: the bytes of the dependent's
    ``needs-passed`` (None: none), taken by ``guard_passed`` for a dependent that runs;
    ``boot``: this boot's id (None: not known), which a record of the one-shot's must name
    for its guard to take it, as the guard's word must."""
    status = dependent.status
    if status is None or not dependent.is_want_up:
        return []
    state = dependent.state.value
    if state not in ("run", "down"):
        return []
    passed = guard_passed(dependent, word, boot) if state == "run" else None
    if passed is not None:
        if passed:
            return []  # its guard let this run through
        return [(name, NEVER_RUN if oneshot.job == DONE else oneshot.job)
                for name, oneshot in needed if not _taken(oneshot, boot)]
    started_ns = status.stamp_ns
    found = []
    for name, oneshot in needed:
        job = oneshot.job
        if job in (None, "done"):
            continue
        if state == "run" and started_ns < _began_ns(oneshot) and _was_done(oneshot):
            continue  # it passed its guard before this run of the one-shot
        found.append((name, job))
    return found


def guard_passed(dependent, data, boot):
    """Whether the running dependent passed its guard, by its ``needs-passed`` record's bytes
    (``data``; None: no file): True when it names the dependent's pid in this boot (``boot``),
    False when it names another run (a pid or a boot before: this run waits in its guard),
    None when nothing can be told — no record, not one, or no boot id on either side.

    >>> from .sidestate import SideState
    >>> from .status import Status, State
    >>> web = SideState(True, Status(0, 0, 42, False, "u", False, State.RUN))
    >>> [guard_passed(web, record, "b1") for record in (
    ...     b"needs-passed 1 pid=42 boot=b1\\n", b"needs-passed 1 pid=41 boot=b1\\n",
    ...     b"needs-passed 1 pid=42 boot=b0\\n", b"needs-passed 1 pid=42 boot=unknown\\n",
    ...     b"garbage", None)]
    [True, False, False, None, None, None]
    """
    if data is None or dependent.status is None:
        return None
    fields = data[:NEEDS_PASSED_MAX].split(b"\n", 1)[0].split(b" ")
    if fields[:2] != [b"needs-passed", b"1"]:
        return None
    from .bounds import PID_MAX, whole

    try:
        values = dict(field.split(b"=", 1) for field in fields[2:] if field)
        pid, said_boot = whole(values[b"pid"], "pid", 0, PID_MAX), values[b"boot"].decode(
            "ascii")
    except (KeyError, ValueError):  # UnicodeDecodeError is one
        return None
    if not boot or boot == "unknown" or said_boot == "unknown":
        return None  # pids at boot repeat: a pid alone may be a boot before's
    return said_boot == boot and pid == dependent.status.pid


def _taken(oneshot, boot):
    """Whether the guard passes on the one-shot's state (templates/needs-done.j2): done, by
    a record of this boot — any, for a one-shot marked down (it is run once), or one that
    names no boot."""
    if oneshot.job != DONE:
        return False
    said = oneshot.last_run.boot if oneshot.last_run is not None else None
    return not oneshot.is_normally_up or said is None or boot is None or said == boot


def waiting_words(found):
    """The views' words for ``waited_for``'s answer: ``setup``, ``setup, migrate (failed)``.

    >>> waiting_words([("setup", "running"), ("migrate", "failed"), ("x", "never run")])
    'setup, migrate (failed), x'
    """
    return ", ".join(name + (" (failed)" if job == "failed" else "") for name, job in found)


def _was_done(oneshot):
    """Whether a dependent started before the one-shot's present or last run began can have
    passed its guard: a one-shot that runs must have a record of a run done before it (its
    record is the run before's until this one ends); of one that failed, the run before is
    no longer known — it is taken to have passed, as a guard once let it."""
    if oneshot.job == "running":
        return oneshot.last_run is not None and oneshot.last_run.is_done
    return True


def _began_ns(oneshot):
    """When the one-shot's present or last run began (unix ns): its status's stamp while it
    runs, else its record's; 0 when it never ran."""
    if oneshot.job == "running" and oneshot.status is not None:
        return oneshot.status.stamp_ns
    last = oneshot.last_run
    return last.started_ns if last is not None else 0
