"""apply: drive declared services through sv — what ``restart``, ``start``, ``stop``,
``once``, ``hup`` and ``term`` do to each service the data names (cli/control.py parses and
prints).

Each service is driven by its runtime's sv, as its owner (a user's, in their tree's clean
environment). A daemon gets ``sv -w TIMEOUT VERB``; a one-shot and a timer are read first
(``job_doing``) and get what ``TIMER_VERBS`` and ``sv_argvs`` say (docs/jobs.md#the-verbs).
What ``restart`` and ``start`` started, and the run a job's verb asked for, is then watched
as ``apply`` watches what it started (apply/watch.py). Staged (``--root``): the sv command
lines are written, nothing is run.
"""

import enum
import os
import time

from ..errors import ProvisionError
from ..model import user_environment
from ..protocol.layout import TIMER_STATE_FILE
from .runnable import fix_for, why_not_runnable
from .runner import RunAs, SubprocessRunner, sv_command
from .watch import Outcome, Start, asked_side

# sv waits up to -w seconds itself; the runner's own limit only catches an sv that hangs
RUNNER_GRACE = 10.0
# the side each verb starts and watches (apply/watch.Start); once starts a run that is meant
# to end, hup and term start nothing of their own
WATCHED = {"restart": Start.RESTART, "start": Start.UP}


def drive(config, units, command, verb, timeout, ids, staged, out, warn):
    """Drive ``units`` (model/units: declared, present, enabled) with ``command`` (the
    CLI's verb) as sv's ``verb`` (``restart``, ``try-restart``…), each sv waiting up to
    ``timeout`` seconds; ``ids``: the accounts to run users' sv as; ``staged``: write the
    command lines instead. sv's output and what is said go to ``out``; ``warn(text)`` says
    what failed for a service.
    ``(failed, not_up)``: the labels something failed for, and the watched sides that did
    not stay up (apply/watch.NotUp), but one whose sv failed and that no runsv serves."""
    runner = SubprocessRunner()
    failed = set()
    asked = []  # the sides to watch (apply/watch.Watched)
    notes = {}  # label → what is said of it once its verb is done (job_argvs)
    began = time.time()
    for unit in units:
        looked = time.time()  # a run under way now ends after this
        doing = None if staged else job_doing(unit)
        argvs, said = job_argvs(sv_command(config.runtime), verb, unit, timeout, doing)
        if said is not None and (not staged or not argvs):  # staged: not done
            notes[unit.label] = said
        if not argvs:
            if unit.is_timer and command == "once":  # a run under way: its end is awaited
                asked.append(asked_side(unit, Start.RUN, looked, time.time()))
            continue
        if staged:
            out.writelines("would run: %s\n" % " ".join(argv) for argv in argvs)
            continue
        try:
            run_as = _run_as(ids, config, unit)
        except KeyError:
            warn("%s: login %r is not known on this host" % (unit.label, unit.login))
            failed.add(unit.label)
            continue
        blocked = _not_runnable(argvs[0], run_as)
        if blocked is not None:
            warn("%s: %s" % (unit.label, blocked))
            failed.add(unit.label)
            continue
        began_asking = time.time()
        if unit.is_timer and argvs[0][-2] == "1":
            _await_waiter(unit, timeout)
        for argv in argvs:
            since = time.time()
            done = runner.run(argv, timeout=timeout + RUNNER_GRACE, run_as=run_as)
            out.write(done.output)
            if done.returncode != 0:
                warn("%s: sv %s failed (exit %s)" % (unit.label, argv[-2], done.returncode))
                failed.add(unit.label)
                break
        start = watched_start(command, verb, unit)
        if unit.is_timer and command == "once":
            since = began_asking  # the run asked for ends after the first sv was started
        if start is not None:  # whatever sv said: a timeout may be a crash loop
            asked.append(asked_side(unit, start, since, time.time()))
    out.flush()
    not_up, done = _not_up(asked, timeout, began, failed)
    out.writelines(ok_lines([unit.label for unit in units], notes, done,
                            failed | {item.label for item in not_up}))
    out.flush()
    return failed, not_up


def ok_lines(labels, notes, done, wrong):
    """``ok: LABEL: NOTE`` (what the verb did, where sv does not say it: ``notes``) and ``ok:
    LABEL: done (…)`` (the run it asked for: ``done``) of each label but those in ``wrong``
    (failed, not up): said once the outcome is known, so that no ok line stands beside an
    exit that says not ok.

    >>> ok_lines(["tick", "fail"], {"tick": "a timer: run", "fail": "a timer: run"},
    ...          {"tick": "done (exit 0)"}, {"fail"})
    ['ok: tick: a timer: run\\n', 'ok: tick: done (exit 0)\\n']
    """
    return ["ok: %s: %s\n" % (label, words) for label in labels if label not in wrong
            for words in (notes.get(label), done.get(label)) if words is not None]


# A one-shot's verbs (docs/jobs.md): sv is not asked to wait for a run meant to end — the
# watch waits for its end instead; restart ends a run that is still going first.
ONESHOT_VERBS = {"start": "up", "restart": "up", "once": "once"}


class Doing(enum.Enum):
    """What a timer or a one-shot does when a verb is asked of it (``job_doing``)."""

    WAITING = "waiting"  # a timer armed: waiting for its next elapse
    RUNNING = "running"  # its job (a one-shot's run) runs
    OFF = "off"  # a timer wanted down; a one-shot that does not run


# A timer's verbs (docs/jobs.md#the-verbs, the table): (verb, Doing) → (sv's command, what
# is said; None: nothing). "-w start": sv -w TIMEOUT start (our sv: ok once armed; the C sv:
# once timer-run runs); "1": sv 1 — USR1, which our runsv and timer-run take while waiting
# as "run the job now, keep the schedule"; None: no sv at all. A state that cannot be read
# is taken as waiting.
_NOTHING = "nothing to signal: no job runs"
TIMER_VERBS = {
    ("start", Doing.WAITING): ("-w start", None),
    ("start", Doing.RUNNING): ("-w start", None),
    ("start", Doing.OFF): ("-w start", None),
    ("restart", Doing.WAITING): ("hup", "a timer: armed anew, its schedule read again"),
    ("restart", Doing.RUNNING): ("-w start", "a timer: its run under way is left to end; "
                                             "the schedule is armed"),
    ("restart", Doing.OFF): ("-w start", None),
    ("try-restart", Doing.WAITING): (None, "a timer: not restarted (--if-running: nothing "
                                           "to do; its next run reads what changed)"),
    ("stop", Doing.WAITING): ("-w stop", None),
    ("stop", Doing.RUNNING): ("-w stop", None),
    ("stop", Doing.OFF): ("-w stop", None),
    ("term", Doing.WAITING): (None, "a timer: %s (waiting for its next run)" % _NOTHING),
    ("term", Doing.RUNNING): ("term", None),
    ("term", Doing.OFF): (None, "a timer: %s (off)" % _NOTHING),
    ("hup", Doing.WAITING): ("hup", "a timer: armed anew, its schedule read again"),
    ("hup", Doing.RUNNING): ("hup", None),
    ("hup", Doing.OFF): (None, "a timer: %s (off)" % _NOTHING),
    ("once", Doing.WAITING): ("1", "a timer: its job run at once; the schedule stays armed"),
    ("once", Doing.RUNNING): (None, "a timer: a run was under way: its end waited for"),
    ("once", Doing.OFF): ("once", "a timer: its job run at once; the timer stays off"),
}
for _doing in (Doing.RUNNING, Doing.OFF):
    TIMER_VERBS[("try-restart", _doing)] = TIMER_VERBS[("try-restart", Doing.WAITING)]


def job_argvs(sv, verb, unit, timeout, doing):
    """``(sv command lines, what is said or None)`` for ``verb`` (sv's word: ``restart``,
    ``try-restart``…) of ``unit`` doing ``doing`` (Doing; None: unknown — a timer taken as
    waiting): a timer's from TIMER_VERBS, a one-shot's term or hup of a run that is not
    under way none (nothing to signal), else ``sv_argvs``'s.

    >>> class Unit: path, is_oneshot, is_timer = "/etc/sv/tick", False, True
    >>> job_argvs(["sv"], "once", Unit, 7, Doing.WAITING)
    ([['sv', '1', '/etc/sv/tick']], 'a timer: its job run at once; the schedule stays armed')
    >>> job_argvs(["sv"], "start", Unit, 7, None)
    ([['sv', '-w', '7', 'start', '/etc/sv/tick']], None)
    >>> job_argvs(["sv"], "term", Unit, 7, Doing.WAITING)[0]
    []
    """
    if unit.is_timer:
        command, said = TIMER_VERBS[(verb, doing or Doing.WAITING)]
        if command is None:
            return [], said
        return [sv + command.replace("-w", "-w %d" % timeout).split() + [unit.path]], said
    if unit.is_oneshot and verb in ("term", "hup") and doing is not Doing.RUNNING \
            and doing is not None:
        return [], "a one-shot: %s" % _NOTHING
    argvs = sv_argvs(sv, verb, unit, timeout)
    if not argvs:  # a one-shot's try-restart: a run under way is not ended
        return [], ("a one-shot: not restarted (--if-running restarts what runs on; a run "
                    "under way ends by itself)")
    return argvs, None


def job_doing(unit):
    """What a timer or a one-shot does now (Doing), read from its service directory as
    status reads it; None for a daemon, or when it cannot be told (no runsv serves it, its
    state unreadable)."""
    if not (unit.is_timer or unit.is_oneshot):
        return None
    from .watch import look_side
    from ..host.fsread import FsReader
    from ..host.sides import probe_side
    from ..protocol.timerwords import OFF, RUNNING

    with FsReader("/") as fs:
        live = look_side(fs, unit.path, lambda where: probe_side(fs, where))
    if unit.is_oneshot:
        job = live.job
        return None if job is None else Doing.RUNNING if job == RUNNING else Doing.OFF
    doing = live.timer_doing
    if doing is None:
        return None
    return {RUNNING: Doing.RUNNING, OFF: Doing.OFF}.get(doing.kind, Doing.WAITING)


def sv_argvs(sv, verb, unit, timeout):
    """The sv command lines ``verb`` runs for ``unit``, in order: ``sv -w T verb PATH``; for
    a one-shot's start, restart and once, ``sv up``/``sv once`` (after ``sv -w T down`` for
    restart), without a wait; for its try-restart (``restart --if-running``), none.

    >>> class Unit: path, is_oneshot = "/etc/sv/setup", True
    >>> sv_argvs(["sv"], "restart", Unit, 7)
    [['sv', '-w', '7', 'down', '/etc/sv/setup'], ['sv', 'up', '/etc/sv/setup']]
    >>> sv_argvs(["sv"], "try-restart", Unit, 7)  # --if-running: nothing
    []
    >>> Unit.is_oneshot = False; sv_argvs(["sv"], "restart", Unit, 7)
    [['sv', '-w', '7', 'restart', '/etc/sv/setup']]
    """
    if unit.is_oneshot and verb in ONESHOT_VERBS:
        first = [sv + ["-w", str(timeout), "down", unit.path]] if verb == "restart" else []
        return first + [sv + [ONESHOT_VERBS[verb], unit.path]]
    if unit.is_oneshot and verb == "try-restart":
        return []  # TERM would end a run under way as failed: a Puppet refresh asks nothing
    return [sv + ["-w", str(timeout), verb, unit.path]]


def _await_waiter(unit, seconds):
    """Until the timer can take ``sv 1`` (at most ``seconds``): under our runsv at once;
    under the C runsv once its waiter has started and written its record — the waiter a run
    ended (or a runsv's one-second pause before it) is not yet there to take the signal."""
    from .watch import RECHECK, look_side
    from ..host.fsread import FsReader
    from ..host.sides import probe_side

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with FsReader("/") as fs:
            live = look_side(fs, unit.path, lambda where: probe_side(fs, where))
        if live.tally is not None or live.timer is None or live.status is None:
            return  # ours: nothing of the timer runs while it waits
        record = live.timer.record
        try:
            written = os.stat(os.path.join(unit.path, TIMER_STATE_FILE)).st_mtime_ns
        except OSError:
            written = 0
        if live.state.value == "run" and record is not None and record.started_usec == 0 \
                and written >= live.status.stamp_ns:
            return
        time.sleep(RECHECK)


def watched_start(command, verb, unit):
    """How the side ``command`` asked for is watched (apply/watch.Start); None: it is not
    (stop, hup, term, a daemon's once, a one-shot's try-restart: nothing is started). A
    one-shot's start, restart and once are watched to the run's end."""
    if unit.is_oneshot and verb in ONESHOT_VERBS:
        return Start.UP
    if unit.is_timer and command == "once":
        return Start.RUN
    return WATCHED.get(command) if not unit.is_oneshot else None


def _not_up(asked, seconds, began, failed):
    """``(not_up, done)``: the sides of ``asked`` that did not stay up (apply/watch.watch,
    read as status reads them, with our runtime's tally), but one whose sv failed and that no
    runsv serves: sv's own output said so (``runsv not running``); and ``_done_words``."""
    if not asked:
        return [], {}
    from ..host.fsread import FsReader
    from ..host.sides import probe_side
    from .watch import look_side, watch

    with FsReader("/") as fs:
        def look(path):
            return look_side(fs, path, lambda where: probe_side(fs, where))

        found = watch(asked, look, seconds, began)
        done = _done_words(asked, found, look)
    return [item for item in found
            if not (item.outcome is Outcome.GONE and item.label in failed)], done


def _done_words(asked, not_done, look):
    """``{label: "done (exit 0, at …, took …)"}`` of each one-shot (or timer: ``once``)
    whose run asked for ended done — said on stdout, as the C sv says nothing of a run it
    was not asked to wait for."""
    from ..protocol.lastrun import DONE, job_words
    from ..protocol.tally import exit_text

    left = {item.label for item in not_done}
    done = {}
    for watched in asked:
        if (watched.unit.is_oneshot or watched.start is Start.RUN) \
                and watched.label not in left:
            live = look(watched.path)
            if live.job == DONE or (watched.start is Start.RUN and live.last_run.is_done):
                done[watched.label] = job_words(DONE, live.last_run, exit_text)
    return done


def drivable(unit):
    """``unit``, when the data has it present and enabled; ProvisionError otherwise."""
    if unit.is_absent:
        raise ProvisionError("%s: the data says ensure: absent" % unit.label)
    if not unit.is_enabled:
        raise ProvisionError("%s: the data says enabled: false (not linked)" % unit.label)
    return unit


def _not_runnable(argv, run_as):
    """Why the user ``run_as`` names cannot run this sv (runnable.py), or None — said
    before sv is started, with the fix, rather than sv's "Permission denied" (exit 126/127)."""
    if run_as is None or run_as.uid == 0 or os.geteuid() != 0:
        return None
    found = why_not_runnable(argv, run_as.uid, run_as.gid)
    if found is None:
        return None
    path, why = found
    return "the user cannot run %s (%s: %s). Fix: %s" % (argv[0], path, why, fix_for(path))


def _run_as(ids, config, unit):
    """A user's service is driven as that user, in their tree's environment (None: as this
    process)."""
    if unit.login is None or ids is None:
        return None
    return RunAs.of_login(ids, unit.login, user_environment(config.users[unit.login]))
