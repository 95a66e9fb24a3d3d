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
"""

import os
import sys

SYSTEM_SV = ("/usr/bin/sv", "/sbin/sv", "/usr/sbin/sv")


class RunAs(tuple):
    """Who a command runs as: ``uid``, ``gid`` and its whole ``environ`` (a dict)."""

    __slots__ = ()

    def __new__(cls, uid, gid, environ):
        return tuple.__new__(cls, (uid, gid, environ))

    uid = property(lambda self: self[0])
    gid = property(lambda self: self[1])
    environ = property(lambda self: self[2])


class Completed:
    """What a command did: ``argv``, ``returncode``, ``output`` (stdout and stderr, text)."""

    __slots__ = ("argv", "returncode", "output")

    def __init__(self, argv, returncode, output):
        self.argv, self.returncode, self.output = list(argv), returncode, output

    def __repr__(self):
        return "Completed(%r, %r, %r)" % (self.argv, self.returncode, self.output)


class SubprocessRunner:
    """Runs commands as child processes, output captured, stdin from /dev/null."""

    def run(self, argv, timeout=None, run_as=None):
        import subprocess  # here: an apply with nothing to run (--root, a no-op) never needs it

        kwargs = {}
        if run_as is not None:
            kwargs = dict(env=run_as.environ, cwd="/")
            if os.geteuid() == 0 and run_as.uid != 0:
                kwargs.update(user=run_as.uid, group=run_as.gid, extra_groups=[])
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout, **kwargs)
        except subprocess.TimeoutExpired as exc:
            output = (exc.output or b"").decode("utf-8", "replace")
            return Completed(argv, None, output + "(no answer within %ss)" % timeout)
        except OSError as exc:
            return Completed(argv, 127, "%s: %s" % (argv[0], exc.strerror))
        return Completed(argv, proc.returncode, proc.stdout.decode("utf-8", "replace"))


def sv_command(runtime):
    """The argv prefix that runs sv for ``runtime`` (``python`` or ``system``)."""
    if runtime == "system":
        for path in SYSTEM_SV:
            if os.access(path, os.X_OK):
                return [path]
        import shutil

        return [shutil.which("sv") or "sv"]
    beside = os.path.join(os.path.dirname(sys.executable), "sv")
    if os.access(beside, os.X_OK) and _is_script(beside):
        return [beside]
    return [sys.executable, "-m", "runit_provision.runtime.sv"]


def _is_script(path):
    """Our console script or launcher starts with ``#!``; the C sv (which a system Python's
    /usr/bin may hold) is an ELF binary."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False
