"""cli: ``runit-provision logs`` — the svlogd logs of the declared services (or of any log
directory) as one time-ordered view: selected, merged, formatted, followed (docs/logs.md).

Exit codes: 0 when everything selected was read; 1 when something could not be (an unreadable
directory, a rotated file that cannot be decoded — each said once on stderr, the rest still
shown — or bad data, at its file:line:column); 2 on bad usage.
"""

import os
import sys

from ..errors import LoginNameError, ProvisionError
from ..shown import prefixed_lines, shown_name, shown_text
from .default_data import HIERA_HELP, reads_data

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_FOLLOW_LINES = 10

DESCRIPTION = """\
The svlogd logs of the services the data declares — system services, each user's
runsvdir-LOGIN and their services — or of any log directory (--dir), as one stream ordered by
time: rotated files (@….s/.u, processed ones unpacked) oldest first, then current, every
service's lines interleaved. TAI64N (-t), -tt and -ttt stamps are read and shown in local time
(--utc: UTC); lines without a stamp are placed by their file's time, shown as a bound (≤).

SERVICE: a system service (web), a user's tree (runsvdir-alice), a user's service (alice/app
or ~alice/app; a bare app when only one user's tree has it), or one status lists "not in the
data" (linked by hand: read where its log/run's svlogd writes), given as is or with -u
(journalctl's); --user alice selects all of alice's. Names, -u and --user add up (so does
--dir, again). Default: every declared service with a log.

--grep selects before -n counts: -g ERROR -n 4 is the last 4 lines that match.

TIME (--since, --until): 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]', 'HH:MM[:SS]' (today), 'now',
'today', 'yesterday', '-90s', '-15m', '-2h', '-3d', '-1w' (before now), or '@' and a TAI64N
label.

Exit codes: 0 everything selected was read; 1 something could not be (each said on stderr,
the rest shown), a SERVICE that names nothing (or one without a log), or data that cannot be
read — then its error first, and what is supervised (in /etc/service) is read as not in the
data; 2 bad usage."""


TIME_OPTIONS = ("-S", "--since", "-U", "--until")


def prepare_argv(argv):
    """``--since -1h`` as ``--since=-1h``: argparse takes a value starting with "-" for an
    option, journalctl's users type it so.

    >>> prepare_argv(["logs", "--since", "-1h", "-U", "-5m", "web"])
    ['logs', '--since=-1h', '-U=-5m', 'web']
    """
    fixed, index = [], 0
    while index < len(argv):
        word = argv[index]
        if word in TIME_OPTIONS and index + 1 < len(argv) and argv[index + 1][:1] in "-+":
            fixed.append(word + "=" + argv[index + 1])
            index += 2
            continue
        fixed.append(word)
        index += 1
    return fixed


def add_parser(sub):
    import argparse

    from .arguments import ACCOUNTS_HELP, line_count

    parser = sub.add_parser("logs", help="the services' svlogd logs as one time-ordered view",
                            description=DESCRIPTION, epilog=ACCOUNTS_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("services", nargs="*", metavar="SERVICE", help="which services")
    parser.add_argument("-u", "--unit", dest="units", metavar="SERVICE", action="append",
                        default=[], help="a service, as SERVICE (journalctl's -u; again for "
                                         "more)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="FILE", help="one YAML data file")
    source.add_argument("--hiera", metavar="FILE", help=HIERA_HELP)
    source.add_argument("--dir", metavar="LOGDIR", nargs="+", action="extend",
                        help="svlogd directories, without data (each named by its service: "
                             "NAME of …/NAME/log/main, …/NAME/log or …/NAME; again for more)")
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--root", metavar="DIR", help="read the logs under DIR (a staged root)")
    parser.add_argument("--passwd", metavar="FILE", help="a passwd(5) file to take logins from")
    parser.add_argument("--group", metavar="FILE", help="a group(5) file to take groups from")
    parser.add_argument("--user", metavar="LOGIN", action="append", default=[],
                        help="every service of LOGIN's tree (again for more users)")
    parser.add_argument("-o", "--output", choices=("short", "cat", "json"), default="short",
                        help="short: time, service and line (default); cat: the line only; "
                             "json: one object a line")
    # after -o: its default ("short") is the one argparse keeps for the shared dest
    parser.add_argument("--json", dest="output", action="store_const", const="json",
                        help="the same as -o json (as every other command's --json)")
    reads_data(parser)
    parser.add_argument("--utc", action="store_true", help="times in UTC, not local time")
    parser.add_argument("--raw", action="store_true",
                        help="short and cat: each line's bytes as written (by default its "
                             "control characters but the tab, and bytes that are not UTF-8, "
                             "are shown escaped, \\x1b: what a service logs cannot act on "
                             "the terminal)")
    parser.add_argument("-S", "--since", metavar="TIME", help="lines stamped at TIME or later")
    parser.add_argument("-U", "--until", metavar="TIME", help="lines stamped at TIME or earlier")
    parser.add_argument("-n", "--lines", metavar="N", type=line_count,
                        help="the last N lines of the selection, --grep's matches included "
                             "(with -f: before following; default there 10)")
    parser.add_argument("-g", "--grep", metavar="PATTERN",
                        help="lines whose text (after the stamp) matches PATTERN (a Python "
                             "regular expression), selected before -n counts")
    parser.add_argument("-r", "--reverse", action="store_true", help="newest first")
    parser.add_argument("-f", "--follow", action="store_true",
                        help="go on printing lines as they are written, through rotations, "
                             "until interrupted")
    return parser


def run(args):
    stderr = sys.stderr
    try:
        since, until = _times(args)
        pattern = _pattern(args.grep) if args.grep else None
    except _Usage as exc:
        stderr.write("runit-provision logs: %s\n" % exc)
        return EXIT_USAGE
    if args.follow and args.reverse:
        stderr.write("runit-provision logs: --follow and --reverse do not go together\n")
        return EXIT_USAGE
    config = unread = None
    try:
        if not args.dir:
            from .inputs import config_or_unread

            config, unread = config_or_unread(args)
            if unread is not None:  # said first: what is shown is only what is supervised
                from .status import unread_lines

                stderr.write(unread_lines("logs", unread))
                stderr.flush()
        sources, said = _sources(args, config, unread is None)
    except (_Usage, LoginNameError) as exc:
        stderr.write("runit-provision logs: %s\n" % exc)
        return EXIT_USAGE
    except ProvisionError as exc:
        stderr.write(prefixed_lines("runit-provision logs: ", shown_text(str(exc))))
        return EXIT_ERROR
    code = _show(args, sources, since, until, pattern, said)
    return EXIT_ERROR if unread is not None else code


class _Usage(Exception):
    pass


def _pattern(text):
    """--grep's compiled pattern (``re`` is imported only for it); _Usage, naming the option
    and the pattern, when it is not one."""
    import re

    try:
        return re.compile(os.fsencode(text))
    except re.error as exc:
        raise _Usage("-g/--grep %s: not a regular expression (Python's): %s"
                     % (shown_name(repr(text)), exc)) from exc


def _times(args):
    """The keys of --since and --until (None: not given). logs.timespec is imported only
    when one is: ``logs -n 10 web`` starts without it."""
    if not args.since and not args.until:
        return None, None
    from ..logs.timespec import TimeError, key_of_time
    try:
        return (key_of_time(args.since) if args.since else None,
                key_of_time(args.until) if args.until else None)
    except TimeError as exc:
        raise _Usage(str(exc)) from exc


def _sources(args, config, declared=True):
    """``(sources, said)`` of the command line: ``--dir``'s directories (logs/declared.py), or
    the services named (SERVICE, -u, --user) of ``config`` (logs/sources.py); ``declared``
    False: the data could not be read, everything is what is supervised."""
    if args.dir:
        if args.services or args.units or args.user:
            raise _Usage("--dir names the directories itself: no SERVICE, -u or --user with "
                         "it")
        from ..logs.declared import sources_of_directories

        return sources_of_directories(args.dir), ()
    from ..logs.sources import selected_sources

    return selected_sources(config, args.services + args.units, args.user, args.root,
                            declared)


# -- showing ------------------------------------------------------------------------------------
def _show(args, sources, since, until, pattern, said=()):
    from ..logs.formats import Formatter
    from ..logs.selection import first_of, guarded, last_of, matching
    from ..logs.view import ReadProblem, merged

    formatter = Formatter(args.output, utc=args.utc, raw=args.raw)
    out = sys.stdout.buffer
    failed = []

    def problem(text):
        if text not in failed:
            failed.append(text)
            # a file name in a log directory is a user's choice: shown escaped
            sys.stderr.write("runit-provision logs: %s\n" % shown_name(text))
            sys.stderr.flush()

    def write(chunk):
        if len(chunk):
            out.write(formatter.chunk(chunk))

    def write_new(chunk):  # the follower's lines: --grep's selection is made here
        write(chunk if pattern is None else matching(chunk, pattern))

    for text in said:  # what could not be told of a logger: the rest is still shown
        problem(text)
    follower = None
    try:
        if args.follow:
            from ..logs.follow import Follower
            follower = Follower(sources)
            points = follower.start_points()
        streams = []
        for source in sources:
            try:
                streams.append((source, _selection(args, source, since, until,
                                                   points.get(source) if follower else None,
                                                   timed=len(sources) > 1
                                                   or args.output != "cat", match=pattern)))
            except ReadProblem as exc:
                problem("%s: %s" % (source.label, exc))
        count = _count_of(args, since)
        chunks = merged(guarded(streams, problem))
        if count is not None:
            chunks = first_of(chunks, count) if args.reverse else last_of(chunks, count)
        for chunk in chunks:
            write(chunk)
        _report_problems(sources, problem)
        out.flush()
        if follower is not None:
            write_all(follower.poll_all(), write_new)
            out.flush()
            while True:
                write_all(follower.wait(), write_new)
                out.flush()
                _report_problems(sources, problem)
    except KeyboardInterrupt:
        if follower is None:
            raise  # a read cut short: cli/main's rule (one line, 130)
        # Ctrl-C is how a follow ends (docs/logs.md): everything asked for was shown
    finally:  # `logs -f | head`: a closed output ends the follow (cli/main's rule)
        if follower is not None:
            follower.close()
    _report_problems(sources, problem)
    out.flush()
    return EXIT_ERROR if failed else EXIT_OK


def write_all(chunks, write):
    for chunk in chunks:
        write(chunk)


def _count_of(args, since):
    """How many lines to show at most (None: all): -n, or 10 before following."""
    if args.lines is None and args.follow and since is None:
        return DEFAULT_FOLLOW_LINES
    return args.lines


def _selection(args, source, since, until, stop_at, timed=True, match=None):
    """The batches of ``source`` the options select, in the order they are shown."""
    from ..logs.selection import selected
    return selected(source, since, until, _count_of(args, since), args.reverse, stop_at,
                    timed=timed, match=match)


def _report_problems(sources, problem):
    for source in sources:
        for text in source.problems:
            problem("%s: %s" % (source.label, text))
