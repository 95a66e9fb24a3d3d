"""apply: running commands — ``sv`` and the init tools — behind one seam.

A runner has one method, ``run(argv, timeout=None, run_as=None) -> Completed``; the unit tier
passes a fake that records argv and answers from a script, the real tier this
``SubprocessRunner``. ``run_as`` is a ``RunAs``: the command runs as that user with no
supplementary groups (a user's services are driven as the user, never with root's rights), in
that user's environment alone (``PATH``, ``HOME``, ``USER``, ``LOGNAME``, ``SHELL``,
``SVDIR``) — nothing of root's: the process is the user's, and so is its
``/proc/PID/environ``.

``sv_command(runtime)`` is the sv that drives the tree ``runtime`` names: ``system`` -> the
host's runit (``/usr/bin/sv``, or ``/sbin/sv`` of the RPM); ``python`` -> ours, installed next
to this interpreter (a virtualenv's or the installed runtime's launcher), else run as a module.
``limits_command()`` is our ``runsv-cgroup``, found the same way, for either runtime.
"""

import os
import sys
from collections import namedtuple

SYSTEM_SV = ("/usr/bin/sv", "/sbin/sv", "/usr/sbin/sv")


class RunAs(namedtuple("RunAs", "uid gid environ")):
    """Who a command runs as: ``uid``, ``gid`` and its whole ``environ`` (a dict)."""

    __slots__ = ()

    @classmethod
    def of_login(cls, ids, login, environ):
        """``login`` as ``ids`` (``accounts.databases.Databases``) know it, in ``environ``
        (the clean environment their tree gives commands) with their own shell; KeyError for
        an unknown login."""
        uid, gid = ids.user(login)
        return cls(uid, gid, dict(environ, SHELL=ids.shell(login)))


class Completed:
    """What a command did: ``argv``, ``returncode``, ``output`` (stdout and stderr, text)."""

    __slots__ = ("argv", "returncode", "output")

    def __init__(self, argv, returncode, output):
        self.argv, self.returncode, self.output = list(argv), returncode, output

    def __repr__(self):
        return "Completed(%r, %r, %r)" % (self.argv, self.returncode, self.output)


OUTPUT_MAX = 64 * 1024  # bytes of a command's output kept; the rest is read and dropped


class SubprocessRunner:
    """Runs commands as child processes, each in a session of its own, stdin from /dev/null,
    stdout and stderr captured — at most ``OUTPUT_MAX`` bytes kept (a user's ``./check``
    that sv runs can write without end: it must not fill root's memory), the rest read and
    dropped so that the command never blocks on a full pipe. At the timeout the command's
    whole process group is killed, as it is when the wait for it is interrupted (Ctrl-C): in a
    session of its own, the terminal's SIGINT never reaches it."""

    def run(self, argv, timeout=None, run_as=None):
        import subprocess  # here: an apply with nothing to run (--root, a no-op) never needs it

        kwargs = {}
        if run_as is not None:
            kwargs = dict(env=run_as.environ, cwd="/")
            if os.geteuid() == 0 and run_as.uid != 0:
                kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True, **kwargs)
        except OSError as exc:
            return Completed(argv, 127, "%s: %s" % (argv[0], exc.strerror))
        with proc:
            try:
                kept, dropped, finished = _read_capped(proc, timeout)
            except BaseException:  # Ctrl-C, the demo stopped: the command must not outlive us
                _kill_group(proc)
                raise
            if not finished:
                _kill_group(proc)
        output = kept.decode("utf-8", "replace")
        if dropped:
            output += "\n(%d more bytes of output not kept)" % dropped
        if not finished:
            return Completed(argv, None, output + "(no answer within %ss)" % timeout)
        return Completed(argv, proc.returncode, output)


def _read_capped(proc, timeout):
    """``(kept bytes, bytes dropped, finished)``: the output up to OUTPUT_MAX, until EOF and
    the process's exit, or until ``timeout`` seconds have passed."""
    import select
    import time
    deadline = None if timeout is None else time.monotonic() + timeout
    fd = proc.stdout.fileno()
    kept, dropped = bytearray(), 0
    while True:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return bytes(kept), dropped, False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return bytes(kept), dropped, False
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        room = OUTPUT_MAX - len(kept)
        kept += chunk[:max(room, 0)]
        dropped += len(chunk) - min(len(chunk), max(room, 0))
    try:  # every writer has closed: the command ends now, or at the deadline
        proc.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    except Exception:  # noqa: BLE001 — subprocess.TimeoutExpired, without importing it here
        return bytes(kept), dropped, False
    return bytes(kept), dropped, True


def _kill_group(proc):
    import signal
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def sv_command(runtime):
    """The argv prefix that runs sv for ``runtime`` (``python`` or ``system``)."""
    if runtime == "system":
        for path in SYSTEM_SV:
            if os.access(path, os.X_OK):
                return [path]
        import shutil

        return [shutil.which("sv") or "sv"]
    return _ours("sv", "runit_provision.runtime.sv")


def limits_command():
    """The argv prefix of our ``runsv-cgroup``, which writes a service's limits into its
    running cgroup under either runtime (the C runsv knows no cgroup): installed next to this
    interpreter, else run as a module."""
    return _ours("runsv-cgroup", "runit_provision.runtime.runsvcgroup")


def _ours(name, module):
    """Our tool ``name``: its launcher next to this interpreter, else ``module`` run as a
    module by this interpreter."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.access(beside, os.X_OK) and _is_script(beside):
        return [beside]
    return [sys.executable, "-m", module]


def _is_script(path):
    """Our console script or launcher starts with ``#!``; the C sv (which a system Python's
    /usr/bin may hold) is an ELF binary."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False
