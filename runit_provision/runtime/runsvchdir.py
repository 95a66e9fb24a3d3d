"""runtime: ``runsvchdir NAME`` — switch runsvdir's ``current`` link to another level, as runit's.

Works in ``/etc/runit/runsvdir``; ``$RUNSVDIR`` overrides it (runit 2.3.0 — Debian's 2.1.2
ignores it). NAME must not start with a dot and must be a directory there. If ``current``
already is NAME (same device and inode) it says ``runsvchdir: NAME: current.``; otherwise it
makes ``current.new -> NAME``, drops ``previous``, renames ``current`` to ``previous`` and
``current.new`` to ``current``, and says ``runsvchdir: NAME: now current.`` (both on stdout).

Exit codes: 0 done, 1 usage, 111 fatal. Diagnostics start with argv[0]'s basename (the C tool
prints argv[0] as given; a console script cannot see it), the stdout lines with ``runsvchdir``.
"""

import errno
import os
import stat
import sys

from ..errors import FatalError
from ..protocol.errstr import oserror_str
from .unix.diag import write_line
from .unix.procname import show_program

DEFAULT_RUNSVDIR = "/etc/runit/runsvdir"


def runsvdir_from_env(environ):
    """The directory to work in: ``$RUNSVDIR`` when set (even empty, as runit's env_get)."""
    value = environ.get("RUNSVDIR")
    return DEFAULT_RUNSVDIR if value is None else value


def _fatal(message, exc):
    return FatalError("%s: %s" % (message, oserror_str(exc)))


def _unlink_if_present(name):
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _fatal("unable to unlink: " + name, exc) from exc


def change_level(new, runsvdir):
    """Make ``current`` point at ``new`` inside ``runsvdir``; return the stdout line.

    Raises FatalError with runit's message (no prefix); the process cwd becomes ``runsvdir``.
    """
    if new.startswith("."):
        raise FatalError(new + ": must not start with a dot.")
    try:
        os.chdir(runsvdir)
    except OSError as exc:
        raise _fatal("unable to chdir: " + runsvdir, exc) from exc
    try:
        wanted = os.stat(new)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise _fatal(new, exc) from exc
        raise _fatal("unable to stat: " + new, exc) from exc
    if not stat.S_ISDIR(wanted.st_mode):
        # runit's fatalx(new, "not a directory.") — no ": " between the two.
        raise FatalError(new + "not a directory.")
    try:
        current = os.stat("current")
    except OSError as exc:
        raise _fatal("unable to stat: current", exc) from exc
    if (current.st_ino, current.st_dev) == (wanted.st_ino, wanted.st_dev):
        return "runsvchdir: %s: current." % new

    _unlink_if_present("current.new")
    try:
        os.symlink(new, "current.new")
    except OSError as exc:
        raise _fatal("unable to create: current.new -> " + new, exc) from exc
    _unlink_if_present("previous")
    try:
        os.rename("current", "previous")
    except OSError as exc:
        raise _fatal("unable to copy: current to previous", exc) from exc
    try:
        os.rename("current.new", "current")
    except OSError as exc:
        # runit warns (with "fatal" in it), puts the old level back, and exits 111 either way.
        message = "unable to move: current.new to current: " + oserror_str(exc)
        try:
            os.rename("previous", "current")
        except OSError as back:
            raise _BackOutFailed(message, _fatal("unable to move previous back to current",
                                                 back)) from back
        raise FatalError(message) from exc
    return "runsvchdir: %s: now current." % new


class _BackOutFailed(FatalError):
    """Both the move and its undo failed: two messages, as runit prints them."""

    def __init__(self, first, second):
        super().__init__(str(second))
        self.first = first


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "runsvchdir")
    progname = argv[0].rsplit("/", 1)[-1] if argv else "runsvchdir"
    if len(argv) < 2:
        os.write(2, ("usage: %s dir\n\n" % progname).encode("utf-8", "surrogateescape"))
        return 1
    try:
        line = change_level(argv[1], runsvdir_from_env(os.environ))
    except _BackOutFailed as exc:
        write_line(2, "%s: fatal: %s" % (progname, exc.first))
        write_line(2, "%s: fatal: %s" % (progname, exc))
        return 111
    except FatalError as exc:
        write_line(2, "%s: fatal: %s" % (progname, exc))
        return 111
    write_line(1, line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
