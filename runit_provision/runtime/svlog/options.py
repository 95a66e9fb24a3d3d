"""runtime/svlog: svlogd's command line — ``Options`` and runit's ``parse_args``.

Shared by the svlogd program and by a runsvdir tree that hosts a canonical logger: the tree
parses its ``log/run``'s arguments exactly as svlogd would (docs/svlogd.md).
"""

import os

from ...errors import UsageError
from ..unix.scan import scan_ulong
from ..unix.sgetopt import sgetopt


class Options:
    """svlogd's command-line settings (runit's defaults)."""

    __slots__ = ("timestamp", "replace_char", "replace_set", "line_max", "buf_len", "verbose")

    def __init__(self, timestamp=0, replace_char=None, replace_set=b"", line_max=1000,
                 buf_len=1024, verbose=False):
        self.timestamp = timestamp        # 0 none, 1 -t TAI64N, 2 -tt, 3 -ttt
        self.replace_char = replace_char  # one byte, or None
        self.replace_set = replace_set
        self.line_max = line_max
        self.buf_len = buf_len
        self.verbose = verbose


# -- the command line (svlogd's, and a hosted logger's log/run) ------------------------------
# runit prints its argv[0] in the usage line and sgetopt argv[0]'s basename; we print "svlogd"
# for both (our argv[0] is the console script's path, and a hosted logger has none).
PROGNAME = "svlogd"
USAGE = b"usage: svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n"
VERSION = b"$Id: 5e55a90e0a1b35ec47fed3021453c50675ea1117 $\n"  # Debian's 2.1.2, for -V


def parse_args(args):
    """``(Options, directories)`` from argv without argv[0], as runit's sgetopt ``R:r:l:b:tvV``.

    Raises UsageError (svlogd exits 111).

    >>> options, dirs = parse_args(["-ttv", "-l", "20", "-b21", "-r", "_", "main"])
    >>> (options.timestamp, options.verbose, options.line_max, options.buf_len, dirs)
    (2, True, 20, 21, ['main'])
    """
    options = Options()
    pairs, index = sgetopt(args, "R:r:l:b:tvV", PROGNAME)
    for letter, value in pairs:
        if letter == "?":
            raise UsageError(USAGE, value)
        if letter == "V":
            raise UsageError(USAGE, VERSION)
        _option(options, letter, None if value is None else os.fsencode(value))
    names = args[index:]
    if not names or options.buf_len <= options.line_max:
        raise UsageError(USAGE)
    return options, names


def _option(options, letter, value):
    if letter == "t":
        options.timestamp = min(options.timestamp + 1, 3)
    elif letter == "v":
        options.verbose = True
    elif letter == "R":
        options.replace_set = value
        options.replace_char = options.replace_char or b"_"
    elif letter == "r":
        if len(value) != 1:
            raise UsageError(USAGE)
        options.replace_char = value
    elif letter == "l":
        options.line_max = scan_ulong(value)[0] or 1000
    else:
        options.buf_len = scan_ulong(value)[0] or 1024
