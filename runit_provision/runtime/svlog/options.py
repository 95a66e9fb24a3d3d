"""runtime/svlog: svlogd's command line — ``Options`` and runit's ``parse_args``.

Shared by the svlogd program and by a runsvdir tree that hosts a canonical logger: the tree
parses its ``log/run``'s arguments exactly as svlogd would (docs/svlogd.md).
"""

import os

from ...errors import UsageError
from .config import scan_ulong


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
USAGE = b"usage: svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...\n\n"
VERSION = b"$Id: 5e55a90e0a1b35ec47fed3021453c50675ea1117 $\n"  # Debian's 2.1.2, for -V
_WITH_ARGUMENT = "Rrlb"
_FLAGS = "tvV"


def parse_args(args):
    """``(Options, directories)`` from argv without argv[0], as runit's sgetopt ``R:r:l:b:tvV``.

    Raises UsageError whose argument is the whole text runit prints (exit 111).

    >>> options, dirs = parse_args(["-ttv", "-l", "20", "-b21", "-r", "_", "main"])
    >>> (options.timestamp, options.verbose, options.line_max, options.buf_len, dirs)
    (2, True, 20, 21, ['main'])
    """
    options = Options()
    index = 0
    while index < len(args):
        arg = args[index]
        if not arg.startswith("-") or arg == "-":
            break
        index += 1
        if arg.startswith("--"):
            break
        pos = 1
        while pos < len(arg):
            char = arg[pos]
            pos += 1
            if char in _FLAGS:
                _flag(options, char)
                continue
            if char not in _WITH_ARGUMENT:
                raise _complaint("illegal option", char)
            value = arg[pos:]
            if not value:
                if index >= len(args):
                    raise _complaint("option requires an argument", char)
                value = args[index]
                index += 1
            _option(options, char, os.fsencode(value))
            break
    names = args[index:]
    if not names or options.buf_len <= options.line_max:
        raise UsageError(USAGE)
    return options, names


def _complaint(what, char):
    return UsageError(b"svlogd: %s -- %s\n%s" % (what.encode(), os.fsencode(char)[:1], USAGE))


def _flag(options, char):
    if char == "t":
        options.timestamp = min(options.timestamp + 1, 3)
    elif char == "v":
        options.verbose = True
    else:
        raise UsageError(VERSION + USAGE)


def _option(options, char, value):
    if char == "R":
        options.replace_set = value
        options.replace_char = options.replace_char or b"_"
    elif char == "r":
        if len(value) != 1:
            raise UsageError(USAGE)
        options.replace_char = value
    elif char == "l":
        options.line_max = scan_ulong(value)[0] or 1000
    else:
        options.buf_len = scan_ulong(value)[0] or 1024
