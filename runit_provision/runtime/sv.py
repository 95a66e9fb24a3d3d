"""runtime: ``sv`` — control and inspect services supervised by runsv, as runit's sv.

Output, exit codes and LSB init-script mode follow runit 2.1.2's ``sv.c`` (Debian 2.1.2-54:
default SVDIR ``/etc/service/``), docs/runit-protocol.md §3. This module is the command line
(options, ``$SVDIR``/``$SVWAIT``, the exit code); its parts are runtime/control/:

* ``commands.py``: the command table as data — word → bytes to send, wait letters, when to
  wait, kill on timeout;
* ``waits.py``: one pure "is this wait over?" predicate per letter over the decoded Status, a
  ``Baseline`` captured before sending, a lazily run ``./check``, the job words, readiness;
* ``session.py``: the effects — chdir into services, the status read and control send
  (through ``protocol/probe.py``), ``./check``, stdout buffered and flushed where sv.c
  flushes, exit-code counting, and the wait;
* ``wakers.py``: what wakes the wait — a FIFO of sv's own in each ``supervise/event/`` that our
  runsv writes to (``protocol/eventdir.py``), else inotify on each ``supervise/``.

Deliberate differences from the C sv (stale reads fixed, event-driven waits, 2.3.0's ``check``
and LSB ``status``), each with its reason: docs/compatibility.md.

``sv status`` has a start-up budget (SPEC §6), so what only a wait needs (select, the event
directory, inotify, the check-script machinery) is imported by the code paths that wait. Each
runit tool is one program (``main(argv)``), sharing the protocol room and never another tool's
module (docs/layout.md): control/ is sv's alone.
"""

import os
import sys
import time

from ..errors import FatalError, UsageError
from .control.commands import ALWAYS, STATUS, VERBOSE, command_for
from .control.session import LsbExit, Pending, Session, write_all
from .control.waits import Baseline
from .unix.procname import show_program

USAGE = " [-v] [-w sec] command service ..."
USAGE_LSB = " [-w sec] command"
# runit 2.1.2's sv.c, which Debian still ships; the C sv prints exactly this for -V.
VERSION = "$Id: 900314260c6d52c986c5357673bea2f3bd3f4698 $"
DEFAULT_SVDIR = "/etc/service/"  # Debian's; upstream 2.1.2 has /service/
DEFAULT_WAIT = 7
EXIT_USAGE, EXIT_FATAL = 100, 100
EXIT_USAGE_LSB, EXIT_FATAL_LSB = 2, 151
MAX_RC = 99


# ---------------------------------------------------------------------------------------------
# Small pure helpers for the command line and the exit code.

def seconds_from(text):
    """``-w``'s or ``$SVWAIT``'s seconds: runit's scan_ulong, imported only when there is one."""
    from .unix.scan import scan_ulong

    return scan_ulong(text)[0]


def exit_code(count):
    """The number of fail/warning/timeout/kill events, capped at 99."""
    return min(count, MAX_RC)


def usage_text(progname):
    """sv's usage text; a name other than ``sv`` is an LSB init script and gets that form."""
    text = USAGE_LSB if progname != "sv" else USAGE
    return b"usage: " + os.fsencode(progname) + text.encode() + b"\n\n"


def parse_args(args, progname):
    """runit's sgetopt over ``w:vV``: returns (index of the command, wait or None, verbose).

    ``-w`` also turns on ``-v`` (sv.c falls through). Problems and ``-V`` raise UsageError.
    """
    if not args or args[0][:1] != "-":
        return 0, None, False  # no option to read: sgetopt (and its import) is not needed
    from .unix.sgetopt import sgetopt

    wait = None
    verbose = False
    pairs, index = sgetopt(args, "w:vV", progname)
    for letter, value in pairs:
        if letter == "w":
            wait = seconds_from(value)
        elif letter == "V":
            raise UsageError(usage_text(progname), VERSION.encode() + b"\n")
        elif letter == "?":
            raise UsageError(usage_text(progname), value)
        verbose = True
    return index, wait, verbose


# ---------------------------------------------------------------------------------------------

def run(argv, environ):
    """sv proper; returns the exit code, raises UsageError/FatalError/LsbExit."""
    progname = argv[0].rsplit("/", 1)[-1] if argv else "sv"
    lsb = progname != "sv"
    svdir = environ.get("SVDIR", DEFAULT_SVDIR)
    wait = DEFAULT_WAIT
    if "SVWAIT" in environ:
        wait = seconds_from(environ["SVWAIT"])
    args = argv[1:]
    index, wait_option, verbose = parse_args(args, progname)
    if wait_option is not None:
        wait = wait_option
    if index >= len(args):
        raise UsageError(usage_text(progname))
    action = args[index]
    services = [progname] if lsb else args[index + 1:]
    if not services:
        raise UsageError(usage_text(progname))
    start_ns = time.time_ns()
    start_mono = time.monotonic()
    command = command_for(action, lsb)
    session = Session(command or STATUS, svdir, wait, lsb, start_ns, start_mono)
    session.open_curdir()  # sv.c opens "." before it looks at the command word
    if command is None:
        raise UsageError(usage_text(progname))

    waits = command.waits == ALWAYS or (command.waits == VERBOSE and verbose)
    try:
        pending = []
        for name in services:
            if session.enter(name):
                if command is STATUS:
                    session.show_status(name)
                elif not command.sends:
                    pending.append(Pending(name, Baseline(start_ns)))
                else:
                    result, before = session.send(name, command.acts)
                    if result >= 0:
                        pending.append(Pending(name, Baseline(start_ns, before),
                                                sent_unread=before is None))
            session.leave()
        if waits and pending:
            session.wait(pending)
    finally:
        session.close_curdir()
    return exit_code(session.rc)


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "sv")
    progname = argv[0].rsplit("/", 1)[-1] if argv else "sv"
    lsb = progname != "sv"
    try:
        return run(argv, os.environ)
    except UsageError as exc:
        write_all(2, exc.text)
        return EXIT_USAGE_LSB if lsb else EXIT_USAGE
    except FatalError as exc:
        Session.stderr("fatal: %s\n" % exc)
        return EXIT_FATAL_LSB if lsb else EXIT_FATAL
    except LsbExit as exc:
        return exc.code
    except KeyboardInterrupt:
        _die_of_sigint()
        return 130


def _die_of_sigint():
    # Die of SIGINT as the C sv would, not with a traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)

if __name__ == "__main__":
    # ``python -m`` puts this file's path in argv[0], which would look like an LSB link.
    sys.exit(main(["sv"] + sys.argv[1:]))
