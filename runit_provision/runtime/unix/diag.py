"""runtime: runit's djb-style diagnostics — ``PROG: fatal: MSG: ERRSTR`` — written unbuffered.

Messages go straight to fd 2 with one ``write()`` each, so they interleave with the output of
children sharing that descriptor exactly as the C tools' do. ERRSTR is runit's text
(``protocol.errstr``), never strerror().
"""

import os

from ...protocol.errstr import oserror_str


def with_errstr(message, exc=None):
    """``MESSAGE: ERRSTR`` when an OSError is given, else the message alone."""
    if exc is None:
        return message
    return "%s: %s" % (message, oserror_str(exc))


def write_line(fd, text):
    """Write one line in one ``write()``; a closed or full descriptor is not our problem."""
    write_bytes(fd, (text + "\n").encode("utf-8", "surrogateescape"))


def write_bytes(fd, data):
    """Write ``data`` in one ``write()`` (a usage text is written as it is), errors ignored."""
    try:
        os.write(fd, data)
    except OSError:
        pass


def warn(prefix, message, exc=None, fd=2):
    """``PREFIX: warning: MESSAGE[: ERRSTR]`` on stderr (or ``fd``)."""
    write_line(fd, "%s: warning: %s" % (prefix, with_errstr(message, exc)))


def fatal(prefix, message, exc=None, fd=2):
    """``PREFIX: fatal: MESSAGE[: ERRSTR]`` on stderr (or ``fd``); the caller picks the exit
    code."""
    write_line(fd, "%s: fatal: %s" % (prefix, with_errstr(message, exc)))
