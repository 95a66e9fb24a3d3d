"""cli: ``runit-provision restart | start | stop | once | hup | term NAME…`` — a declared service driven through sv,
found by the name the data gives it (the one name rule: model/units.py, docs/names.md).

The data says where each service lives, which runtime's sv drives it and how long sv waits:
a caller names the service (``web``, ``alice/notebook``, ``runsvdir-alice``) and computes no
runit path. What each verb does to a daemon, a one-shot and a timer is apply/drive.py's.

Exit codes (docs/exit-codes.md): 0 sv did it for every name; 1 an error (data that does not
load, a name not declared, sv failing); 3 a service restart or start asked for did not stay
up (1 wins when both happen). Under ``--root`` the sv command lines are printed, not run.
"""

import argparse
import sys
import textwrap

from ..apply.drive import drivable, drive
from ..errors import ProvisionError
from ..model.units import declared_units, units_named
from ..shown import prefixed_lines, shown_text
from .arguments import NAME_RULE
from .inputs import ACCOUNTS_HELP, add_input_arguments, identities_for, inputs_from_args

EXIT_OK, EXIT_ERROR, EXIT_NOT_UP = 0, 1, 3
# (sv's command, with --if-running); sv's own words: try-restart restarts only what runs
VERBS = {"restart": ("restart", "try-restart"), "start": ("start", None),
         "stop": ("stop", None), "once": ("once", None), "hup": ("hup", None),
         "term": ("term", None)}
# what the summary says of the services a verb started and watched (apply/drive.WATCHED); of
# a job's run, "run once"
SUMMARY = {"restart": "restarted", "start": "started"}
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
                    WATCH_HELP if verb in SUMMARY else "", EXIT_HELP.get(verb, "")), 95),
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
        units = [drivable(unit) for unit in units_named(declared_units(config), args.names)]
    except (ProvisionError, OSError) as exc:
        sys.stderr.write(prefixed_lines(command + ": ", shown_text(str(exc))))
        return EXIT_ERROR
    always, if_running = VERBS[args.command]
    verb = if_running if getattr(args, "if_running", False) else always
    timeout = args.timeout if args.timeout is not None else config.sv_timeout
    failed, not_up = drive(config, units, args.command, verb, timeout,
                           identities_for(args.passwd, args.group, args.root),
                           args.root is not None, sys.stdout,
                           lambda text: sys.stderr.write("%s: %s\n" % (command, text)))
    if not_up:
        from ..apply.watch import log_dirs_of  # here: only a service not up has lines to show
        from ..logs.last import last_lines_under
        from .output import print_not_up

        print_not_up(not_up, last_lines_under(log_dirs_of(not_up), "/"), command=args.command,
                     verb=SUMMARY.get(args.command, "run once"))
    if failed - {item.label for item in not_up}:
        return EXIT_ERROR
    return EXIT_NOT_UP if not_up else EXIT_OK
