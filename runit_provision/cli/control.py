"""cli: ``runit-provision restart | start | stop | once | hup | term NAME…`` — a declared service driven through sv,
found by the name the data gives it (the one name rule: model/units.py, docs/names.md).

The data says where each service lives, which runtime's sv drives it and how long sv waits:
a caller names the service (``web``, ``alice/notebook``, ``runsvdir-alice``) and computes no
runit path. A user's service is driven as that user, in their tree's clean environment.

A one-shot's ``start``, ``restart`` and ``once`` and a timer's verbs (docs/jobs.md#the-verbs,
``TIMER_VERBS``) read what the job does first and watch the run they asked for to its end: 0
done, 3 failed or still running at the timeout, with its exit and its log's last lines.
``restart`` and ``start`` of a service watch it as ``apply`` does (apply/watch.py): one that
died or never came up is said on stderr with its deaths, last exit and log.

Exit codes (docs/exit-codes.md): 0 sv did it for every name; 1 an error (data that does not
load, a name not declared, sv failing); 3 a service restart or start asked for did not stay
up (1 wins when both happen). Under ``--root`` the sv command lines are printed, not run.
"""

import argparse
import enum
import os
import sys
import textwrap
import time

from ..apply.runnable import fix_for, why_not_runnable
from ..apply.runner import RunAs, SubprocessRunner, sv_command
from ..apply.watch import Outcome, Start, asked_side
from ..errors import ProvisionError
from ..model import user_environment
from ..model.units import declared_units, units_named
from ..protocol.layout import TIMER_STATE_FILE
from ..shown import prefixed_lines, shown_text
from .arguments import NAME_RULE
from .inputs import ACCOUNTS_HELP, add_input_arguments, identities_for, inputs_from_args

EXIT_OK, EXIT_ERROR, EXIT_NOT_UP = 0, 1, 3
# (sv's command, with --if-running); sv's own words: try-restart restarts only what runs
VERBS = {"restart": ("restart", "try-restart"), "start": ("start", None),
         "stop": ("stop", None), "once": ("once", None), "hup": ("hup", None),
         "term": ("term", None)}
# the verbs whose service is watched (apply/watch.py), and what the summary says of them;
# once starts a run that is meant to end, hup and term start nothing of their own
WATCHED = {"restart": (Start.RESTART, "restarted"), "start": (Start.UP, "started")}
HELP = {"restart": "restart declared services (sv -w TIMEOUT restart; a one-shot: run again, "
                   "to its end; a timer: armed anew)",
        "start": "start declared services (sv -w TIMEOUT start; a one-shot: run, to its end; "
                 "a timer: armed)",
        "stop": "stop declared services (sv -w TIMEOUT stop; a timer: disarmed)",
        "once": "run declared services once, not again when they exit (sv once; a one-shot "
                "or a timer: waited for to its end, exit 3 when it failed)",
        "hup": "send declared services SIGHUP (sv hup)",
        "term": "send declared services SIGTERM (sv term: runsv starts it again if up)"}
# what each verb does to a timer and a one-shot (docs/jobs.md#the-verbs: the table)
JOBS_HELP = {
    "restart": "A one-shot: a run under way ended, then run again and waited for to its end. "
               "A timer: armed anew at once — waiting, its schedule read again (sv hup); a "
               "run under way is left to end; never waits for a run.",
    "start": "A one-shot: run, and waited for to its end. A timer: armed (want up), exit 0 "
             "as soon as its runsv took it; never waits for a run.",
    "stop": "A timer: disarmed, a run under way ended (TERM, CONT). A one-shot: a run under "
            "way ended.",
    "once": "A one-shot: run once and waited for to its end. A timer: its job run now (sv 1 "
            "while it waits; sv once while it is off) and waited for to its end, or a run "
            "under way waited for — the schedule left as it was (armed stays armed, off stays "
            "off).",
    "hup": "A timer waiting: armed anew, its schedule read again; a timer or one-shot with no "
           "run under way otherwise: nothing to signal (exit 0); a run under way gets it.",
    "term": "A timer or one-shot with no run under way: nothing to signal (exit 0); a run "
            "under way gets it (a timer then waits for its next elapse).",
}
EXIT_HELP = {
    "restart": ", 3 a service did not stay up (sv may have timed out waiting for it), or a "
               "one-shot's run failed or still ran at the timeout",
    "once": ", 3 a one-shot's or a timer's run failed, or still ran at the timeout (its exit "
            "and its log's last lines said)",
}
EXIT_HELP["start"] = EXIT_HELP["restart"]
ROOT_HELP = "staging: run nothing, print the sv command lines (accounts from DIR/etc/passwd)"
# sv waits up to -w seconds itself; the runner's own limit only catches an sv that hangs
RUNNER_GRACE = 10.0
WATCH_HELP = (" Then, as apply does, the service is watched until its run is half a second "
              "old (the timeout at most): one that dies or never comes up is said with its "
              "deaths, its last exit and its last log lines.")


def add_parser(sub):
    for verb in VERBS:
        parser = sub.add_parser(
            verb, help=HELP[verb],
            description=textwrap.fill(
                "%s%s. %s NAME as the data names it: %s. The service directory, the "
                "runtime's sv and its timeout come from the data; a user's service is driven "
                "as that user.%s Exit codes: 0 done, 1 an error (an unknown or ambiguous "
                "name, sv failed or timed out)%s." % (
                    HELP[verb][0].upper(), HELP[verb][1:], JOBS_HELP[verb], NAME_RULE,
                    WATCH_HELP if verb in WATCHED else "", EXIT_HELP.get(verb, "")), 95),
            epilog=ACCOUNTS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
        add_input_arguments(parser, root_help=ROOT_HELP)
        parser.add_argument("names", metavar="NAME", nargs="+", help="a declared service")
        parser.add_argument("--timeout", metavar="SECONDS", type=int,
                            help="sv -w: how long to wait (default: the data's sv_timeout)")
        if VERBS[verb][1] is not None:
            parser.add_argument("--if-running", action="store_true",
                                help="only a service that runs is restarted; one that is "
                                     "down stays down (sv try-restart: what a Puppet "
                                     "refresh wants); a timer or a one-shot: nothing, "
                                     "exit 0")
    return parser


def run(args):
    command = "runit-provision %s" % args.command
    try:
        config, _ = inputs_from_args(args, accounts_must_exist=True)
        units = [_drivable(unit) for unit in units_named(declared_units(config), args.names)]
    except (ProvisionError, OSError) as exc:
        sys.stderr.write(prefixed_lines(command + ": ", shown_text(str(exc))))
        return EXIT_ERROR
    always, if_running = VERBS[args.command]
    verb = if_running if getattr(args, "if_running", False) else always
    timeout = args.timeout if args.timeout is not None else config.sv_timeout
    ids = identities_for(args.passwd, args.group, args.root)
    runner = SubprocessRunner()
    failed = set()  # the labels of the units something failed for
    asked = []  # the sides to watch (apply/watch.Watched)
    began = time.time()
    for unit in units:
        looked = time.time()  # a run under way now ends after this
        doing = None if args.root is not None else job_doing(unit)
        argvs, said = job_argvs(sv_command(config.runtime), verb, unit, timeout, doing)
        if said is not None and (args.root is None or not argvs):  # staged: not done
            sys.stdout.write("ok: %s: %s\n" % (unit.label, said))
        if not argvs:
            if unit.is_timer and args.command == "once":  # a run under way: its end is awaited
                asked.append(asked_side(unit, Start.RUN, looked, time.time()))
            continue
        if args.root is not None:
            sys.stdout.writelines("would run: %s\n" % " ".join(argv) for argv in argvs)
            continue
        try:
            run_as = _run_as(ids, config, unit)
        except KeyError:
            sys.stderr.write("%s: %s: login %r is not known on this host\n"
                             % (command, unit.label, unit.login))
            failed.add(unit.label)
            continue
        blocked = _not_runnable(argvs[0], run_as)
        if blocked is not None:
            sys.stderr.write("%s: %s: %s\n" % (command, unit.label, blocked))
            failed.add(unit.label)
            continue
        began_asking = time.time()
        if unit.is_timer and argvs[0][-2] == "1":
            _await_waiter(unit, timeout)
        for argv in argvs:
            since = time.time()
            done = runner.run(argv, timeout=timeout + RUNNER_GRACE, run_as=run_as)
            sys.stdout.write(done.output)
            if done.returncode != 0:
                sys.stderr.write("%s: %s: sv %s failed (exit %s)\n"
                                 % (command, unit.label, argv[-2], done.returncode))
                failed.add(unit.label)
                break
        start = watched_start(args.command, verb, unit)
        if unit.is_timer and args.command == "once":
            since = began_asking  # the run asked for ends after the first sv was started
        if start is not None:  # whatever sv said: a timeout may be a crash loop
            asked.append(asked_side(unit, start, since, time.time()))
    sys.stdout.flush()
    not_up = _not_up(asked, timeout, began, failed)
    if not_up:
        from ..apply.watch import log_dirs_of  # here: only a service not up has lines to show
        from ..logs.last import last_lines_under
        from .output import print_not_up

        print_not_up(not_up, last_lines_under(log_dirs_of(not_up), "/"), command=args.command,
                     verb=WATCHED.get(args.command, (None, "run once"))[1])
    if failed - {item.label for item in not_up}:
        return EXIT_ERROR
    return EXIT_NOT_UP if not_up else EXIT_OK


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
    ("once", Doing.WAITING): ("1", "a timer: its job runs now; the schedule stays armed"),
    ("once", Doing.RUNNING): (None, "a timer: a run is under way: waiting for its end"),
    ("once", Doing.OFF): ("once", "a timer: its job runs now; the timer stays off"),
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
    ([['sv', '1', '/etc/sv/tick']], 'a timer: its job runs now; the schedule stays armed')
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
    from ..apply.watch import look_side
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
    from ..apply.watch import RECHECK, look_side
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
    return WATCHED[command][0] if command in WATCHED and not unit.is_oneshot else None


def _not_up(asked, seconds, began, failed):
    """The sides of ``asked`` that did not stay up (apply/watch.watch, read as status reads
    them, with our runtime's tally), but one whose sv failed and that no runsv serves: sv's
    own output said so (``runsv not running``)."""
    if not asked:
        return []
    from ..host.fsread import FsReader
    from ..host.sides import probe_side
    from ..apply.watch import look_side, watch

    with FsReader("/") as fs:
        def look(path):
            return look_side(fs, path, lambda where: probe_side(fs, where))

        found = watch(asked, look, seconds, began)
        _say_done(asked, found, look)
    return [item for item in found
            if not (item.outcome is Outcome.GONE and item.label in failed)]


def _say_done(asked, not_done, look):
    """``ok: setup: done (exit 0, at …, took …)`` on stdout for each one-shot (or timer:
    ``once``) whose run asked for ended done (the C sv says nothing of a run it was not
    asked to wait for)."""
    from ..protocol.lastrun import DONE, job_words
    from ..protocol.tally import exit_text

    left = {item.label for item in not_done}
    for watched in asked:
        if (watched.unit.is_oneshot or watched.start is Start.RUN) \
                and watched.label not in left:
            live = look(watched.path)
            if live.job == DONE or (watched.start is Start.RUN and live.last_run.is_done):
                sys.stdout.write("ok: %s: %s\n" % (watched.label, job_words(
                    DONE, live.last_run, exit_text)))
    sys.stdout.flush()


def _drivable(unit):
    """``unit``, when the data has it present and enabled; ProvisionError otherwise."""
    if unit.is_absent:
        raise ProvisionError("%s: the data says ensure: absent" % unit.label)
    if not unit.is_enabled:
        raise ProvisionError("%s: the data says enabled: false (not linked)" % unit.label)
    return unit


def _not_runnable(argv, run_as):
    """Why the user ``run_as`` names cannot run this sv (apply.runnable), or None — said
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
