"""cli: ``runit-provision metrics`` — what ``status`` reads, as Prometheus metrics
(health/metrics.py), on standard output or written atomically for node_exporter's textfile
collector (docs/failures.md). Data that cannot be read does not stop it: what is supervised
is exported as ``status`` lists it then, with ``runit_data_valid 0``, and it exits 1."""

import argparse
import os
import sys
import tempfile

from ..errors import ProvisionError
from ..shown import prefixed_lines, shown_text
from .arguments import ACCOUNTS_HELP, ONLY_HELP

EXIT_OK, EXIT_ERROR = 0, 1
TEXTFILE = "runit.prom"

DESCRIPTION = """\
Every declared service (system and users'), and every other one linked in their service
directories, as Prometheus metrics (runit_service_*, runit_service_log_*; labels service, tree
and declared; runit_service_as_wanted: status's verdict, 0 where status exits 3), on standard
output, or written atomically to DIR/%s for node_exporter's textfile collector.
runit_data_valid is 1 when the data was read; 0 when it cannot be: then what is supervised is
still exported (in /etc/service), every service declared="false", the error is said and the
exit code is 1.
""" % TEXTFILE


def add_parser(sub):
    from .inputs import add_input_arguments

    parser = sub.add_parser(
        "metrics", help="every supervised service's state and deaths as Prometheus metrics",
        description=DESCRIPTION, epilog=ACCOUNTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser, root_help="read the trees under DIR (users from "
                                          "DIR/etc/passwd)")
    parser.add_argument("--only", metavar="NAME", nargs="+", help=ONLY_HELP)
    parser.add_argument("--textfile", metavar="DIR",
                        help="write DIR/%s (a new file renamed over the old: the collector "
                             "never reads half of one)" % TEXTFILE)
    return parser


def run(args):
    from ..health.metrics import data_valid, exposition
    from .inputs import config_or_unread
    from .status import read_rows, unread_line, unread_lines

    try:
        config, data_unread = config_or_unread(args)
        if data_unread is not None:  # said first; what runs is still measured
            sys.stderr.write(unread_lines("metrics", data_unread))
        rows = read_rows(args, config, data_unread)
        text = exposition(rows) + data_valid(data_unread is None)
        for item in rows.unread:  # nothing to measure there: said, not hidden
            sys.stderr.write("runit-provision metrics: %s\n" % unread_line(item))
        if args.textfile:
            write_atomically(args.textfile, TEXTFILE, text.encode("utf-8"))
        else:
            sys.stdout.write(text)
    except BrokenPipeError:
        raise  # a closed output: cli/main's rule
    except (ProvisionError, OSError) as exc:
        sys.stderr.write(prefixed_lines("runit-provision metrics: ", shown_text(
            "%s: %s" % (exc.filename, exc.strerror)
            if isinstance(exc, OSError) and exc.filename else str(exc))))
        return EXIT_ERROR
    return EXIT_OK if data_unread is None else EXIT_ERROR


def write_atomically(directory, name, data):
    """``directory/name`` replaced whole: written as a hidden temporary file in the same
    directory (node_exporter skips names not ending in ``.prom``), then renamed. An OSError
    names ``directory`` when no file can be made there (missing, not writable), else
    ``directory/name``: never the temporary file, which nobody sees."""
    try:
        fd, temporary = tempfile.mkstemp(prefix="." + name + ".", dir=directory)
    except OSError as exc:  # its message would name the temporary file, never seen
        raise OSError(exc.errno, exc.strerror, directory) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.rename(temporary, os.path.join(directory, name))
    except BaseException as exc:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(exc, OSError):  # named by the file it was for, not the temporary one
            raise OSError(exc.errno, exc.strerror, os.path.join(directory, name)) from exc
        raise
