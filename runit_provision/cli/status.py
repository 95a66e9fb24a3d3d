"""cli: ``runit-provision status [NAME…]`` — every supervised service (the data's, system and
users', and what else is linked in their service directories, marked "not in the data"), or
those named, as runsv shows it: state, pid, uptime, normally up/down, want, and its log side;
under the table, the last lines of the log of each declared service that is not as wanted (the
reason is usually there: ``fatal: db unreachable``), as ``systemctl status`` shows them.

A table on a terminal (coloured when it is one), ``--json`` for machines. Exit codes as LSB's
``status``: 3 when a wanted service is not running — declared or not — or a service directory
cannot be listed, 0 otherwise, 1 on an error. Data that cannot be read is an error that still
shows what is supervised: the error first, then every service of the default service
directory, as not in the data; exit 1.
"""

import sys

from ..health.status import statuses_named
from ..health.verdict import CRASH_LOOPING, GAVE_UP, NOT_READY, WAITING_FOR
from ..host.owed import owed_line
from ..protocol.lastrun import DONE, FAILED
from ..protocol.sidestate import Condition
from ..protocol.tally import CRASH_LOOP, exit_hint, exit_text
from ..errors import ProvisionError
from ..shown import prefixed_lines, shown_name, shown_text
from .arguments import names_chosen
from .inputs import config_or_unread
from .table import duration, print_json, print_table as output_table, size_text

EXIT_OK, EXIT_ERROR, EXIT_NOT_RUNNING = 0, 1, 3
DEFAULT_LOG_LINES = 10  # under each service not as wanted, without --logs (systemctl's -n)
COLUMNS = ("SERVICE", "STATE", "PID", "UPTIME", "NORMALLY", "WANT", "LOG")


DESCRIPTION = """\
Every declared service (system and users'), or those named, with its state, pid, uptime,
normally up/down, want and its log side, read from the supervise files; then every other
service linked in their service directories, marked "not in the data" (wanted up unless a down
file says otherwise). Under the table, the last %d lines of the log of each declared service
that is not as wanted (--logs N: N lines of every one listed; --logs 0: none). Exit 3 when
anything listed is not as wanted, declared or not: a wanted service not running (LSB),
crash-looping, still starting (readiness), its logger down, a restart owed; 0 otherwise.
Data that cannot be read: its error first, then what is supervised (in /etc/service), as
not in the data; exit 1.

NAME: as --only's (both add up): status web is status --only web.""" % DEFAULT_LOG_LINES


def add_parser(sub):
    import argparse

    from .arguments import add_name_arguments, line_count  # as argparse: only for the parser
    from .inputs import ACCOUNTS_HELP, add_input_arguments

    parser = sub.add_parser(
        "status", help="what every supervised service is doing",
        description=DESCRIPTION,
        epilog=ACCOUNTS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_name_arguments(parser)
    add_input_arguments(parser, root_help="read the trees under DIR (users from "
                                          "DIR/etc/passwd)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--fact", action="store_true",
                        help="print JSON of the values that stay the same while nothing "
                             "changes (no pid, uptime or time; deaths in buckets): the "
                             "Puppet module's runit_services fact")
    parser.add_argument("--logs", metavar="N", type=line_count, default=None,
                        help="the last N lines of every listed service's log under the table "
                             "(default: the last %d under each service not as wanted; 0: "
                             "none; runit-provision logs: docs/logs.md)" % DEFAULT_LOG_LINES)
    return parser


def read_rows(args, config, unread=None):
    """What each service of ``config`` (the inputs' data: ``inputs.config_or_unread``'s)
    — those the command line names, or all and what else is supervised — is doing
    (health/status.statuses_named's Rows); ``unread``: None, or the data's
    ``inputs.Unread`` when it cannot be read: then the rows are what is supervised
    where ``config`` (the defaults) says, none declared. ProvisionError or
    OSError when they cannot be read."""
    return statuses_named(config, names_chosen(args), args.root, declared=unread is None)


def unread_lines(command, unread):
    """What a view says first when the data cannot be read: its error, then where it looked
    instead (each line safe to print)."""
    prefix = "runit-provision %s: " % command
    return prefixed_lines(prefix, shown_text(str(unread.error))) + \
        "%sthe data cannot be read: shown is what is supervised in %s, as not in the data\n" % (
            prefix, shown_name(unread.where))


def run(args):
    try:
        config, data_unread = config_or_unread(args)
        if data_unread is not None:  # said first: what is listed is only what runs anyway
            sys.stderr.write(unread_lines("status", data_unread))
            sys.stderr.flush()
        rows = read_rows(args, config, data_unread)
    except (ProvisionError, OSError) as exc:
        sys.stderr.write(prefixed_lines("runit-provision status: ", shown_text(str(exc))))
        return EXIT_ERROR
    stopped = [row.label for row in rows if row.verdict.is_stopped]
    unread = [{"tree": item.login, "path": item.path, "why": item.why}
              for item in rows.unread]
    # anything not as wanted, not only what does not run: a crash loop caught between two
    # deaths, a service still starting, a logger down (health/verdict.py), a restart owed
    wrong = unread or any(not row.verdict.is_as_wanted or row.owed for row in rows)
    verdict = EXIT_ERROR if data_unread is not None else EXIT_NOT_RUNNING if wrong else EXIT_OK
    error = {} if data_unread is None else {"data_error": str(data_unread.error)}
    if args.fact:
        print_json(dict({"services": [row.as_fact() for row in rows], "not_running": stopped,
                         "unread": unread}, **error))
        return verdict
    shown = units_with_logs_shown(config, rows, args.logs)
    logs = {}
    if shown:  # none to show (all as wanted, or --logs 0): the log readers are not imported
        from ..logs.sources import tails

        logs = tails(config, shown, DEFAULT_LOG_LINES if args.logs is None else args.logs,
                     args.root, raw=args.json)
    if args.json:
        services = [row.as_json() for row in rows]
        for service in services:
            if service["service"] in logs:
                service["logs"] = [line.decode("utf-8", "replace")
                                   for line in logs[service["service"]].splitlines()]
        if rows.cgroups_unavailable is not None:
            error["cgroups_unavailable"] = rows.cgroups_unavailable
        print_json(dict({"services": services, "not_running": stopped, "unread": unread},
                        **error))
    else:
        print_table(rows)
        for row in rows:
            if logs.get(row.label):
                sys.stdout.write("\n%s:\n" % row.label)
                sys.stdout.flush()
                sys.stdout.buffer.write(b"".join(b"  " + line + b"\n"
                                                 for line in logs[row.label].splitlines()))
                sys.stdout.buffer.flush()
    return verdict


def units_with_logs_shown(config, rows, count):
    """The declared units whose last log lines are shown: with ``--logs N`` (``count``),
    every one listed (none for 0); without, those the verdict finds wrong (not only their
    logger: health/verdict.py)."""
    if count == 0:
        return []
    from ..model.units import declared_units
    labels = {row.label for row in rows if row.declared and (
        count is not None or row.verdict.is_service_wrong)}
    return [unit for unit in declared_units(config) if unit.label in labels]


def print_table(rows, stream=None):
    """The rows as one table (cli/output.print_table), each row's first cell marked — ok:
    running, bad: wanted and not, dim: not wanted — with its notes and what an apply owes
    it under it, then the service directories that could not be listed."""
    table, marks, below = [], [], []
    for row in rows:
        main = row.main
        state = main.state if row.enabled else "disabled" + (
            "" if main.state is Condition.NOT_SUPERVISED else " (%s)" % main.state)
        if main.readiness is not None:
            state += ", " + main.readiness.state  # run, ready / run, starting
        if row.enabled and main.job is not None:
            state = main.job  # a one-shot: running, done, failed, never run (docs/jobs.md)
        doing = main.timer_doing if row.enabled else None
        if doing is not None:  # a timer: scheduled, running, failed, off… (docs/jobs.md#timers)
            state = doing.kind
        if main.unreadable:  # a record of it cannot be read: what it says is not shown
            state = "unreadable"
        table.append((row.label if row.declared else shown_name(row.label), state,
                      str(main.pid) if main.pid else "-",
                      # disabled: no runsvdir starts it, whatever its down file says
                      duration(main.uptime), main.normally if row.enabled else "-",
                      main.want or "-", _log_text(row.log)))
        mark = "ok" if row.is_running or main.job == DONE else \
            "bad" if row.is_wanted or row.verdict.is_stopped else "dim"
        if doing is not None:  # a timer waits between its runs: ok while as wanted
            mark = "bad" if not row.verdict.is_as_wanted else \
                "dim" if doing.kind == "off" else "ok"
        if main.unreadable:  # never green: what its records say cannot be told
            mark = "bad"
        marks.append(mark)
        below.append([(mark, note) for note in notes_of(row)]
                     + [("bad", owed_line(entry)) for entry in row.owed])
    after = [("bad", unread_line(item))  # health/status.Rows; a plain list has none
             for item in getattr(rows, "unread", ())]
    if getattr(rows, "cgroups_unavailable", None) is not None:  # once, not per service
        after.append(("dim", cgroups_line(rows.cgroups_unavailable)))
    output_table(COLUMNS, table, stream, marks, below, after)


def notes_of(row):
    """The lines under a row: its "not in the data" mark, why its state was not read, why it
    is not running as wanted — each safe to print (a name from a home is escaped)."""
    found = [shown_name(row.mark)] if row.mark else []
    if row.note:  # it says why better than an exit nobody could read
        return found + [shown_name(row.note)]
    found += unreadable_lines(row)
    killed, held = cgroup_lines(row)
    if row.main.timer_doing is not None:  # its runs, its next one, what it skipped (one
        # whose state cannot be told, or that no runsv serves, is told as any service)
        return found + timer_lines(row.main) + killed + held
    why = why_not_running(row)
    if why:
        found.append(why)
    # right under its deaths: "last signal 9 (KILL)" then who sent it
    found += killed
    if why:
        hint = exit_hint(row.main.tally.last_exit) if row.main.tally is not None else None
        if hint:  # exit 0, and a crash loop all the same: runsv restarts what ends
            found.append(hint)
    restart = row.main.restart_text
    if restart:  # restarting in 4 s (step 2 of 6): the back-off's wait
        found.append(restart)
    readiness = readiness_line(row.main)
    if readiness:
        found.append(readiness)
    return found + held


def cgroups_line(why):
    """The one line for a host whose services' cgroups cannot be read at all."""
    return "cgroups: unavailable (%s)" % shown_name(why)


def cgroup_lines(row):
    """``(killed, held)``: the lines of what the service's cgroup says (health/status.py's
    ``cgroup``, protocol.cgroupfs.Usage) — its deaths by the OOM killer; then what it holds
    (memory now, at its peak, against its limit; tasks against theirs) and the processes that
    outlive its main process. A figure not known is not said; no record, nothing."""
    from ..health.status import outliving

    usage = row.cgroup
    if usage is None:
        return [], []
    if usage.unreadable is not None:
        return [], ["cgroup: not read: %s" % usage.unreadable]
    killed = []
    if usage.oom_kills:
        limit = " (memory_max %s)" % size_text(usage.memory_max) \
            if usage.memory_max is not None else ""
        killed.append("killed by the OOM killer%s, %s" % (limit, _times(usage.oom_kills)))
    figures = []
    if usage.memory is not None:
        figures.append("memory %s%s%s" % (
            size_text(usage.memory),
            " (peak %s)" % size_text(usage.memory_peak) if usage.memory_peak is not None
            else "",
            " of %s" % size_text(usage.memory_max) if usage.memory_max is not None else ""))
    if usage.tasks is not None:
        figures.append("tasks %d%s" % (usage.tasks, " of %d" % usage.tasks_max
                                       if usage.tasks_max is not None else ""))
    held = [", ".join(figures)] if figures else []
    left = outliving(usage, row.main)
    if left:
        held.append("%d process%s the main process" % (
            left, " outlives" if left == 1 else "es outlive"))
    return killed, held


def _times(count):
    return "once" if count == 1 else "%d times" % count


def unreadable_lines(row):
    """``unreadable: supervise/tally: …`` under a row for each side with a record that
    cannot be read (protocol.sidestate.SideState.unreadable_text), escaped."""
    found = []
    for prefix, side in (("", row.main), ("its logger: ", row.log)):
        if side is not None and side.unreadable:
            found.append("%sunreadable: %s" % (prefix, shown_name(side.unreadable_text)))
    return found


def timer_lines(side):
    """The lines under a timer (protocol/timerwords.py): its schedule, its last run (start,
    duration, exit), its next run, runs skipped for overlap and timed out — or why its
    records cannot be read; each safe to print."""
    from ..protocol.tally import exit_text
    from ..protocol.timerwords import (OFF, RUNNING, missed_of, run_took, skipped_of,
                                       timed_out_of, utc_text)

    read, doing, last = side.timer, side.timer_doing, side.last_run
    if read.unreadable is not None:
        return ["unreadable: %s" % shown_name(read.unreadable)]
    found = []
    if read.spec is not None:
        found.append("schedule: %s" % shown_name(str(read.spec.when)))
    if doing is not None and doing.kind == RUNNING:
        found.append("running since %s" % utc_text(doing.since_ns))
    start_ns = 0 if doing is None else doing.last_start_ns
    if last is None:
        found.append("last run: none yet")
    else:
        took = run_took(last, start_ns)
        found.append("last run: %s, %s, %s" % (
            "started " + utc_text(start_ns) if start_ns else "start unknown",
            "took " + _ran_text(int(took * 1e9)) if took is not None else "duration unknown",
            exit_text(last.end)))
    next_ns = None if doing is None else doing.next_ns
    if doing is not None and doing.kind == OFF:
        found.append("next run: none (off: sv up turns it on)")
    elif next_ns:
        found.append("next run: %s" % utc_text(next_ns))
    elif next_ns == 0:
        found.append("next run: none (the schedule has no more elapses)")
    else:
        found.append("next run: unknown (its waiter has written no record yet)")
    record = read.record
    if skipped_of(record):
        found.append("skipped for overlap: %d (a run was still going)" % skipped_of(record))
    if timed_out_of(record):
        limit = getattr(read.spec, "time_limit", None)
        found.append("timed out: %d%s" % (timed_out_of(record), " (time_limit %gs)" % limit
                                          if limit else ""))
    if missed_of(record):
        found.append("the last run was a missed elapse, caught up (persistent)")
    return found


def readiness_line(side):
    """The line under a service that declares readiness: ``not ready after 31 s`` while it
    starts, then what it last said (``STATUS=``) — escaped, as the service wrote it."""
    found = side.readiness
    if found is None:
        return None
    said = (": " + shown_name(found.status)) if found.status else ""
    if found.failed:  # runsv ended this run or the last one: ready_timeout, watchdog
        said += " (runsv ended a run: %s)" % shown_name(found.failed)
    if found.state == "starting":
        waited = max(0, side.now_ns - found.started_ns) / 1e9 if side.now_ns else 0
        return "not ready after %s%s" % (_ran_text(int(waited * 1e9)), said)
    if found.state == "ready":
        latency = side.ready_latency
        return ("ready after %s" % _ran_text(int(latency * 1e9)) if latency is not None
                else "ready") + said
    return found.state + said


def unread_line(item):
    """The line for a service directory that could not be listed (host/supervised.py)."""
    return shown_name("%s: not listed, what runs there cannot be told: %s" % (
        "system" if item.login is None else item.login, item.why))


def why_not_running(row):
    """The line under a service that is not running as wanted — or that keeps dying while
    it is: ``crash-looping: 37 deaths in 60 s, last exit 3 after 0.02 s`` — from our runtime's
    tally (``unknown`` under C runit, which keeps none); None when there is nothing to say."""
    verdict, main = row.verdict, row.main
    if not verdict.is_service_wrong or NOT_READY in verdict.words:
        return None  # nothing, or readiness_line's to say
    if GAVE_UP in verdict.words:
        return "%s: %s; sv up starts it again" % (GAVE_UP, _deaths_and_last(main))
    if main.state is Condition.NOT_SUPERVISED:
        return None
    if main.unknown is not None:  # why its state cannot be told says more than its exits
        return shown_name(main.unknown)
    if main.unreadable:  # unreadable_lines said why: its account is not there to tell more
        return None
    if main.job == FAILED:  # its finish's record: under the C runit too
        from ..protocol.lastrun import job_words

        return job_words(FAILED, main.last_run, exit_text)
    if main.waiting_for:  # the cause while it waits, before any count of its guard's ends
        return waiting_line(main)
    tally = main.tally
    if tally is None:
        return "last exit unknown (no account of exits: not our runtime)"
    if not tally.died_at_ns:
        return None
    if CRASH_LOOPING in verdict.words:
        return "%s: %s" % (CRASH_LOOPING, _deaths_and_last(main))
    return "%s (%s)" % (_last(tally), _deaths(main))


def waiting_line(side):
    """``waiting for setup (failed)``: the one-shots ``side``'s ./run waits for (the
    verdict's word), then, where our runtime counts them, its ends within the window — each
    its guard giving up after sv_timeout, started again."""
    from ..protocol.needsdone import waiting_words

    said = WAITING_FOR % waiting_words(side.waiting_for)
    tally = side.tally
    if tally is None or not tally.died_at_ns or not side.deaths_in_window:
        return said
    return "%s; %s (%s)" % (said, _last(tally), _deaths(side))


def _deaths(side):
    count = side.deaths_in_window
    return "%d death%s in %d s" % (count, "" if count == 1 else "s", CRASH_LOOP[1])


def _last(tally):
    return "last %s after %s" % (exit_text(tally.last_exit), _ran_text(tally.ran_ns))


def _deaths_and_last(side):
    return "%s, %s" % (_deaths(side), _last(side.tally))


def _ran_text(ran_ns):
    if ran_ns is None:
        return "an unknown time"
    seconds = ran_ns / 1e9
    if seconds < 10:
        return "%.2f s" % seconds
    return duration(int(seconds))


def _log_text(log):
    if log is None:
        return "-"
    if log.state is not Condition.RUN:
        return log.state
    return "run (pid %d) %s" % (log.pid, duration(log.uptime))
