"""runtime: ``runit-init 0|6`` — ask runit (PID 1) to halt or reboot; as PID 1, become runit.

* As PID 1 it execs ``runit`` (argv ``["runit"]``), found on ``$PATH`` — or on
  ``/sbin:/usr/sbin:/bin:/usr/bin`` when the kernel gave init no PATH. On failure:
  ``init: fatal: unable to start runit: ERRSTR``, exit 111.
* ``runit-init 0``: create ``stopit`` with mode 0100, chmod ``reboot`` to 0 (a missing one is
  fine), ``kill -CONT 1``.
* ``runit-init 6``: create ``stopit`` and ``reboot``, both mode 0100, ``kill -CONT 1``.
* Only the argument's first character counts (runit switches on ``**argv``); ``-V`` prints
  runit 2.1.2's ``$Id`` line first; anything else prints ``usage: runit-init 0|6`` and —
  runit's quirk — exits 0. A file it cannot create or chmod is fatal, exit 111.

Paths are Debian's, ``/run/runit.stopit`` and ``/run/runit.reboot`` (upstream uses
``/etc/runit/stopit`` and ``/etc/runit/reboot``). For tests, ``$RUNIT_STOPIT`` and
``$RUNIT_REBOOT`` replace them. The signal always goes to PID 1: tests run runit-init inside
a PID namespace whose init is a shell of theirs.
"""

import os
import signal
import sys

from ..errors import FatalError
from ..protocol.errstr import oserror_str
from ..protocol.layout import runit_flag_paths
from .unix.diag import write_line
from .unix.environ import original_environ
from .unix.pathexec import find_program
from .unix.procname import show_program

VERSION = "$Id: f075d98bf7dd17c893021f9572cbb970cdad8dcf $"
FATAL = "init: fatal: "
# The kernel starts init without PATH; Python's default path would miss /sbin.
INIT_PATH = "/sbin:/usr/sbin:/bin:/usr/bin"


def action_for(argv):
    """``"halt"``, ``"reboot"``, ``"version"`` or ``"usage"`` for argv (with argv[0])."""
    arg = argv[1] if len(argv) > 1 else ""
    if arg[:1] == "0":
        return "halt"
    if arg[:1] == "6":
        return "reboot"
    if arg[:2] == "-V":
        return "version"
    return "usage"


def _create_executable(path):
    # runit's open_trunc(): O_WRONLY|O_NDELAY|O_TRUNC|O_CREAT, 0644; then chmod 0100.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NDELAY | os.O_TRUNC | os.O_CREAT, 0o644)
    except OSError as exc:
        raise FatalError("unable to create %s: %s" % (path, oserror_str(exc))) from exc
    os.close(fd)
    _chmod(path, 0o100)


def _chmod(path, mode, missing_ok=False):
    try:
        os.chmod(path, mode)
    except FileNotFoundError:
        if not missing_ok:
            raise FatalError("unable to chmod %s: file does not exist" % path) from None
    except OSError as exc:
        raise FatalError("unable to chmod %s: %s" % (path, oserror_str(exc))) from exc


def request(action, stopit, reboot):
    """Set the flag files for ``"halt"`` or ``"reboot"`` and send CONT to PID 1."""
    _create_executable(stopit)
    if action == "reboot":
        _create_executable(reboot)
    else:
        _chmod(reboot, 0, missing_ok=True)
    try:
        os.kill(1, signal.SIGCONT)
    except OSError:
        pass  # runit ignores kill()'s result


def exec_runit(environ):
    """Replace this process with runit; returns only on failure (the OSError)."""
    path = environ.get("PATH") or INIT_PATH
    runit = find_program("runit", path)
    if runit is None:
        return FileNotFoundError(2, "runit not found")
    try:
        os.execve(runit, ["runit"], dict(environ))
    except OSError as exc:
        return exc


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "runit-init")
    progname = argv[0].rsplit("/", 1)[-1] if argv else "runit-init"
    if os.getpid() == 1:
        # The environment this process was exec'd with: under the C locale the interpreter
        # adds LC_CTYPE=C.UTF-8 to os.environ (PEP 538), which runit must not inherit.
        exc = exec_runit(original_environ())
        write_line(2, "%sunable to start runit: %s" % (FATAL, oserror_str(exc)))
        return 111
    action = action_for(argv)
    if action in ("halt", "reboot"):
        stopit, reboot = runit_flag_paths(os.environ)
        try:
            request(action, stopit, reboot)
        except FatalError as exc:
            write_line(2, FATAL + str(exc))
            return 111
        return 0
    text = "usage: %s 0|6\n\n" % progname
    if action == "version":
        text = VERSION + "\n\n" + text
    try:
        os.write(2, text.encode("utf-8", "surrogateescape"))
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
