"""runtime: chpst — run a program with a changed process state — and its personalities.

``main(argv)`` parses the command line into a ``Plan`` (a pure function, no effects), then
applies the plan's steps in runit's order and execs the program:

 1. ``-P``        setsid()
 2. ``-e dir``    read the envdir (``envdir.read_envdir``); changes are applied at exec
 3. ``-/ root``   chdir(root), chroot(".")
 4. ``-C pwd``    chdir(pwd), inside the new root (runit 2.2.0+)
 5. ``-n inc``    nice(inc)
 6. ``-U spec``   $UID and $GID for the program
 7. ``-u spec``   setgroups(), setgid(), setuid() — no initgroups(), see docs/chpst.md
 8. ``-l|-L f``   open f (O_WRONLY|O_APPEND|O_CREAT, 0600) and flock() it, kept across exec
 9. ``-0 -1 -2``  close stdin, stdout, stderr
10. limits       ``-m -d -o -p -f -c -r -t`` (softlimit: ``-a -c -d -f -l -m -o -p -r -s -t``)
11. exec         PATH search on chpst's *original* environment, ``-b`` replaces argv[0]

Personalities are chosen by the basename of argv[0], a leading ``d`` stripped first:
``envdir``, ``envuidgid``, ``setuidgid``, ``softlimit``, ``setlock``, ``pgrphack``.
Usage errors exit 100, failures print ``chpst: fatal: MSG: ERRSTR`` (every personality uses the
``chpst`` prefix, as runit does) and exit 111. Facts come from runit's chpst.c, uidgid.c,
sgetopt.c, pathexec_run.c and pathexec_env.c; the probes are in tests/runtime/test_chpst.py.

Imports stay light (no argparse, no dataclasses, no subprocess): chpst sits in front of every
service start.
"""

import errno
import os
import resource
import signal
import sys

from ..errors import FatalError, UsageError
from ..protocol.errstr import error_str
from .unix.chpststeps import LockFailed, environment_for_exec, read_env_dir, set_user, take_lock
from .unix.diag import fatal, warn, with_errstr, write_bytes
from .unix.environ import original_environ
from .unix.pathexec import exec_program
from .unix.scan import ULONG as _ULONG, scan_ulong
from .unix.sgetopt import sgetopt
from .unix.procname import show_program
from .unix.userspec import resolve_user

PROG = "chpst"  # runit's FATAL/WARNING prefix, whatever the personality

# runit 2.3.0's usage line: Debian's 2.1.2-54 line plus "[-C pwd]" (docs/chpst.md).
USAGE_MAIN = (" [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root]"
              " [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n]"
              " [-t n] prog")
USAGE_SETUIDGID = " account child"
USAGE_ENVUIDGID = " account child"
USAGE_ENVDIR = " dir child"
USAGE_PGRPHACK = " child"
USAGE_SETLOCK = " [ -nNxX ] file program [ arg ... ]"
USAGE_SOFTLIMIT = (" [-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes]"
                   " [-m membytes] [-o openfiles] [-p processes] [-r residentbytes]"
                   " [-s stackbytes] [-t cpusecs] child")
# -V prints the version stamp of the chpst.c we are byte-compatible with (Debian 2.1.2-54).
VERSION_ID = "$Id: f279d44141c981dd7535a12260efcf1ef7beed26 $"

CHPST_OPTIONS = "u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vP012V"
SETLOCK_OPTIONS = "nNxX"
SOFTLIMIT_OPTIONS = "a:c:d:f:l:m:o:p:r:s:t:"

# Limit letters in the order runit's slimit() applies them, and their resources.
LIMIT_ORDER = "dslaopfcrt"
LIMIT_RESOURCES = {
    "d": "RLIMIT_DATA", "s": "RLIMIT_STACK", "l": "RLIMIT_MEMLOCK", "a": "RLIMIT_AS",
    "o": "RLIMIT_NOFILE", "p": "RLIMIT_NPROC", "f": "RLIMIT_FSIZE", "c": "RLIMIT_CORE",
    "r": "RLIMIT_RSS", "t": "RLIMIT_CPU",
}
HARD = -1  # a limit value meaning "soft = hard" (softlimit's "=", or a negative long in runit)

_STDIO_NAMES = ("stdin", "stdout", "stderr")


class Plan:
    """Everything chpst will do, as parsed; ``None`` means "option not given".

    A plain slotted class rather than a dataclass: chpst starts in front of every service,
    and importing dataclasses would cost more than the rest of its start-up.
    """

    __slots__ = ("setsid", "env_dir", "env_dir_lenient", "verbose", "root", "pwd", "nice",
                 "env_user", "set_user", "user_extended", "lock", "lock_wait", "lock_quiet",
                 "close_fds", "limits", "argv0", "argv", "exec_quiet")

    def __init__(self, **fields):
        self.setsid = False
        self.env_dir = None
        self.env_dir_lenient = True   # chpst -e skips subdirectories; envdir finds them fatal
        self.verbose = False
        self.root = None
        self.pwd = None
        self.nice = 0
        self.env_user = None
        self.set_user = None
        self.user_extended = True     # chpst: [:]user[:group...]; personalities: account only
        self.lock = None
        self.lock_wait = True         # -l waits, -L fails at once
        self.lock_quiet = False       # setlock -x: lock failure exits 0 silently
        self.close_fds = ()
        self.limits = {}              # letter of LIMIT_ORDER -> value (HARD = soft to hard)
        self.argv0 = None             # -b
        self.argv = []                # the program and its arguments
        self.exec_quiet = False       # setlock -x: exec failure exits 0 silently
        for name, value in fields.items():
            setattr(self, name, value)

    def __eq__(self, other):
        return isinstance(other, Plan) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__)

    def __repr__(self):
        return "Plan(%s)" % ", ".join("%s=%r" % (name, getattr(self, name))
                                     for name in self.__slots__)


# --- parsing (pure) ------------------------------------------------------------------------

def personality(argv0):
    """(name runit dispatches on, name getopt complains as): basename, leading "d" stripped.

    >>> personality("/usr/bin/dsetlock")
    ('setlock', 'dsetlock')
    """
    base = argv0.rsplit("/", 1)[-1]
    return (base[1:] if base.startswith("d") else base), base


def as_long(value):
    """An unsigned long stored into a C long (two's complement)."""
    value %= _ULONG
    return value - _ULONG if value >= _ULONG // 2 else value


def _usage(progname, text, message=b""):
    """A UsageError for ``usage: PROG TEXT\\n\\n``, after ``message`` (sgetopt's complaint or
    -V's version line)."""
    return UsageError(b"usage: " + os.fsencode(progname) + text.encode() + b"\n\n", message)


def _number(text, progname):
    """A chpst option number: plain decimal, possibly empty (= 0); else the main usage."""
    value, used = scan_ulong(text)
    if used != len(text):
        raise _usage(progname, USAGE_MAIN)
    return as_long(value)


def _nice(text, progname):
    """-n: ``-5``, ``+5`` or ``5``."""
    if text.startswith("-"):
        return as_long(-_number(text[1:], progname))
    if text.startswith("+"):
        text = text[1:]
    return _number(text, progname)


def plan_from_argv(argv):
    """The Plan for a whole argv (argv[0] picks the personality); raises UsageError."""
    name, optprogname = personality(argv[0] if argv else "")
    args = list(argv[1:])
    parse = _PERSONALITIES.get(name, _parse_chpst)
    return parse(args, name, optprogname)


def _parse_chpst(args, progname, optprogname):
    plan = Plan()
    pairs, first = sgetopt(args, CHPST_OPTIONS, optprogname)
    limits = {}
    for option, value in pairs:
        if option == "?":
            raise _usage(progname, USAGE_MAIN, value)
        if option == "V":
            raise _usage(progname, USAGE_MAIN, VERSION_ID.encode() + b"\n")
        if option == "u":
            plan.set_user = value
        elif option == "U":
            plan.env_user = value
        elif option == "b":
            plan.argv0 = value
        elif option == "e":
            plan.env_dir = value
        elif option == "m":
            number = _number(value, progname)
            for letter in "slad":
                limits[letter] = number
        elif option in "dopfcrt":
            limits[option] = _number(value, progname)
        elif option == "/":
            plan.root = value
        elif option == "C":
            plan.pwd = value
        elif option == "n":
            plan.nice = _nice(value, progname)
        elif option in "lL":
            if plan.lock is not None:
                raise _usage(progname, USAGE_MAIN)
            plan.lock = value
            plan.lock_wait = option == "l"
        elif option == "v":
            plan.verbose = True
        elif option == "P":
            plan.setsid = True
        elif option in "012":
            plan.close_fds = tuple(sorted(set(plan.close_fds) | {int(option)}))
    if first >= len(args):
        raise _usage(progname, USAGE_MAIN)
    plan.limits = limits
    plan.argv = args[first:]
    return plan


def _operands(args, count, progname, usage):
    """The personalities without options: ``count`` leading operands, then the program."""
    if len(args) <= count:
        raise _usage(progname, usage)
    return args[:count], args[count:]


def _parse_setuidgid(args, progname, optprogname):
    (account,), child = _operands(args, 1, progname, USAGE_SETUIDGID)
    return Plan(set_user=account, user_extended=False, argv=child)


def _parse_envuidgid(args, progname, optprogname):
    (account,), child = _operands(args, 1, progname, USAGE_ENVUIDGID)
    return Plan(env_user=account, user_extended=False, argv=child)


def _parse_envdir(args, progname, optprogname):
    (directory,), child = _operands(args, 1, progname, USAGE_ENVDIR)
    return Plan(env_dir=directory, env_dir_lenient=False, argv=child)


def _parse_pgrphack(args, progname, optprogname):
    _, child = _operands(args, 0, progname, USAGE_PGRPHACK)
    return Plan(setsid=True, argv=child)


def _parse_setlock(args, progname, optprogname):
    # Inverted relative to daemontools: the default fails at once, -n waits (runit's chpst.c).
    wait = False
    quiet = False
    pairs, first = sgetopt(args, SETLOCK_OPTIONS, optprogname)
    for option, value in pairs:
        if option == "?":
            raise _usage(progname, USAGE_SETLOCK, value)
        if option in "nN":
            wait = option == "n"
        else:
            quiet = option == "x"
    (lock,), child = _operands(args[first:], 1, progname, USAGE_SETLOCK)
    return Plan(lock=lock, lock_wait=wait, lock_quiet=quiet, exec_quiet=quiet, argv=child)


def _parse_softlimit(args, progname, optprogname):
    limits = {}
    pairs, first = sgetopt(args, SOFTLIMIT_OPTIONS, optprogname)
    for option, value in pairs:
        if option == "?":
            raise _usage(progname, USAGE_SOFTLIMIT, value)
        # runit's getlarg() complains with chpst's usage text, not softlimit's.
        number = HARD if value == "=" else _number(value, progname)
        if option == "m":
            for letter in "dsla":
                limits[letter] = number
        else:
            limits[option] = number
    if first >= len(args):
        raise _usage(progname, USAGE_SOFTLIMIT)
    return Plan(limits=limits, argv=args[first:])


_PERSONALITIES = {
    "setuidgid": _parse_setuidgid,
    "envuidgid": _parse_envuidgid,
    "envdir": _parse_envdir,
    "pgrphack": _parse_pgrphack,
    "setlock": _parse_setlock,
    "softlimit": _parse_softlimit,
}


# --- effects, in runit's order -------------------------------------------------------------

def apply_plan(plan, environ=None):
    """Run every step of ``plan`` and exec; returns an exit code only if it cannot exec.

    ``environ`` is chpst's original environment (default: ``original_environ()``).
    """
    environ = original_environ() if environ is None else environ
    changes = []
    try:
        if plan.setsid:
            step_setsid()
        if plan.env_dir is not None:
            changes.extend(step_envdir(plan).items())
        if plan.root is not None:
            step_chroot(plan.root)
        if plan.pwd is not None:
            step_chdir(plan.pwd)
        if plan.nice:
            step_nice(plan.nice)
        if plan.env_user is not None:
            changes.extend(step_env_user(plan.env_user, plan.user_extended))
        if plan.set_user is not None:
            set_user(plan.set_user, plan.user_extended)
        if plan.lock is not None:
            take_lock(plan.lock, plan.lock_wait)
        for fd in plan.close_fds:
            step_close(fd)
        step_limits(plan.limits)
    except FatalError as exc:
        fatal(PROG, str(exc))
        return 111
    except LockFailed as exc:
        if plan.lock_quiet:
            return 0
        fatal(PROG, str(exc))
        return 111
    argv = list(plan.argv)
    program = argv[0]
    if plan.argv0 is not None:
        argv[0] = plan.argv0
    failure = exec_program(program, argv, environment_for_exec(environ, changes),
                           environ.get("PATH"))
    if plan.exec_quiet:
        return 0
    fatal(PROG, "unable to run: %s: %s" % (argv[0], error_str(failure)))
    return 111


def step_envdir(plan):
    def warning(message):
        warn(PROG, message)

    return read_env_dir(plan.env_dir, plan.env_dir_lenient, warning if plan.verbose else None)


def step_setsid():
    try:
        os.setsid()
    except OSError:
        pass  # runit ignores setsid()'s result: a group leader just stays in its session


def step_chroot(root):
    try:
        os.chdir(root)
    except OSError as exc:
        raise FatalError(with_errstr("unable to change directory: %s" % root, exc)) from exc
    try:
        os.chroot(".")
    except OSError as exc:
        raise FatalError(with_errstr("unable to change root directory", exc)) from exc


def step_chdir(directory):
    try:
        os.chdir(directory)
    except OSError as exc:
        raise FatalError(with_errstr("unable to change directory: %s" % directory, exc)) from exc


def step_nice(increment):
    # nice() takes an int: runit's long is truncated on the way.
    increment %= 1 << 32
    if increment >= 1 << 31:
        increment -= 1 << 32
    try:
        os.nice(increment)
    except OSError as exc:
        raise FatalError(with_errstr("unable to set nice level", exc)) from exc


def step_env_user(spec, extended):
    uid, gids = resolve_user(spec, extended)
    return [("GID", str(gids[0])), ("UID", str(uid))]


def step_close(fd):
    try:
        os.close(fd)
    except OSError as exc:
        raise FatalError(with_errstr("unable to close %s" % _STDIO_NAMES[fd], exc)) from exc


def soft_limit_for(value, hard):
    """runit's limit(): a negative value or one above the hard limit gives the hard limit."""
    hard_unsigned = hard % _ULONG  # RLIM_INFINITY is -1 to Python, ~0UL to C
    if value < 0 or value > hard_unsigned:
        return hard
    return value


def step_limits(limits):
    for letter in LIMIT_ORDER:
        if letter not in limits:
            continue
        which = getattr(resource, LIMIT_RESOURCES[letter])
        try:
            _soft, hard = resource.getrlimit(which)
        except (OSError, ValueError) as exc:
            raise FatalError(_limit_message("unable to getrlimit()", exc)) from exc
        try:
            resource.setrlimit(which, (soft_limit_for(limits[letter], hard), hard))
        except (OSError, ValueError) as exc:
            raise FatalError(_limit_message("unable to setrlimit()", exc)) from exc


def _limit_message(message, exc):
    if isinstance(exc, OSError):
        return with_errstr(message, exc)
    # The resource module turns EPERM and EINVAL into ValueErrors with its own text.
    number = errno.EPERM if "raise maximum" in str(exc) else errno.EINVAL
    return "%s: %s" % (message, error_str(number))


def main(argv=None):
    if argv is None:
        argv = sys.argv
        show_program(argv, "chpst")
    # Die of SIGINT like a C program (a wait for -l is interruptible), no KeyboardInterrupt;
    # an ignored SIGINT (a background job) stays ignored.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        plan = plan_from_argv(argv)
    except UsageError as exc:
        write_bytes(2, exc.text)
        return 100
    return apply_plan(plan)


if __name__ == "__main__":
    sys.exit(main())
