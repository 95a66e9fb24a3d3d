"""protocol: ``needs-done`` — the one-shots a service's ``./run`` waits for (``needs:`` of
one-shots, docs/jobs.md), their service directories a line each, written by render beside the
guard at the head of ``./run`` (templates/needs-done.j2) — and which of them it waits for now,
as the views tell it (health/verdict.py: ``waiting for setup``).

A dependent waits in one of two ways: our tree holds its ``./run`` (it is down, wanted up),
or its guard runs (it is ``run``: the C runsv's way, and ours once a hold ran out). Either way
it waits for a one-shot that is not done — running, never run, or failed: the guard passes on
a record of exit 0 alone. A dependent that runs waits if it started at or after the one-shot's
run began; one that started before it passed its guard then — a one-shot run again later, or
failed later, stops nothing that runs — unless the one-shot runs now and has no record of a
run done before this one: at boot, the C runsvdir starts the dependent's runsv and the
one-shot's side by side, and the dependent's guard, started first, waits for that first run.

The file is the service owner's: its lines are only looked at (absolute paths, at most
``NEEDS_MAX``) and only the one-shots' names and words are shown.
"""

NEEDS_DONE_MAX = 4096  # bytes of the file read
NEEDS_MAX = 64  # directories looked at


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


def waited_for(dependent, needed):
    """``[(name, job)]``: which of ``needed`` — ``(name, SideState)`` of each one-shot the
    dependent needs — the dependent (the SideState of its service side) waits for now (the
    module says when), with the one-shot's job word (``running``, ``never run``,
    ``failed``); empty when it waits for none."""
    status = dependent.status
    if status is None or not dependent.is_want_up:
        return []
    state = dependent.state.value
    if state not in ("run", "down"):
        return []
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
