"""The project's one exception tree.

Only ``cli/`` and the runtime tools' ``main()`` turn these into messages and exit codes. The
classes are plain and few, so every process (the runtime's tools included) imports them whole.
"""


class ProvisionError(Exception):
    """Base of every error runit-provision raises on purpose."""


class ProtocolError(ProvisionError):
    """runit's on-disk contract was violated (a short status file, a bad stamp, …)."""


class ProbeError(ProtocolError):
    """A client's step against a runsv's ``supervise/`` failed (``protocol/probe.py``).

    ``str()`` is runit's own words for the step, as sv prints them — ``unable to open
    supervise/ok``, ``unable to read supervise/status: bad format``, ``unable to write to
    supervise/control``, ``runsv not running`` — without the ``: ERRSTR`` runit appends:
    ``errno`` is the failed call's number (0 when no call failed, as for a short read), to be
    turned into runit's text with ``protocol.errstr.oserror_str(exc)``. ``path`` (relative to
    the side's directory) and ``operation`` (``open``, ``read``, ``write``) name the step.
    ``is_not_running``: the FIFO had no reader (ENXIO), i.e. no runsv serves this directory.
    """

    def __init__(self, message, path, operation, errno=0, is_not_running=False):
        super().__init__(message)
        self.path = path
        self.operation = operation
        self.errno = errno
        self.is_not_running = is_not_running


class UsageError(ProvisionError):
    """A command line a runtime tool cannot accept, with what runit's tool prints for it.

    ``usage`` is the tool's usage text (``usage: PROG TEXT\\n\\n``), ``message`` what comes
    before it, possibly nothing: sgetopt's complaint (``PROG: illegal option -- x\\n``) or
    ``-V``'s version line. Both are bytes (a complaint names one byte of argv). The tool's
    ``main()`` writes ``text`` to stderr and exits with its usage code.
    """

    def __init__(self, usage, message=b""):
        super().__init__(usage, message)
        self.usage, self.message = usage, message

    @property
    def text(self):
        return self.message + self.usage

    def __str__(self):
        return self.text.decode("utf-8", "surrogateescape")


class FatalError(ProvisionError):
    """A runtime tool cannot go on; ``str()`` is runit's message without the prefix.

    The tool's ``main()`` prints ``PROG: fatal: MESSAGE`` and exits with its fatal code.
    """


class ScheduleError(ProvisionError, ValueError):
    """A schedule string that cannot be read (``protocol/schedule/``): ``message`` and the
    1-based ``column`` within the string where the fault is (the schema adds it to the
    string's own file:line:col)."""

    def __init__(self, message, column):
        super().__init__("column %d: %s" % (column, message))
        self.message, self.column = message, column


class ApplyError(ProvisionError):
    """The host could not be converged to the rendered tree."""


class UnsafePathError(ApplyError):
    """A path the applier would write through is not safe to follow: a symbolic link owned by
    someone else (a user's planted link), or a way out of ``--root``. ``login`` names the user
    whose tree it is in (None for a system path)."""

    def __init__(self, message, login=None):
        super().__init__(message)
        self.login = login


class LimitError(ApplyError):
    """A directory in a user's part holds more entries, or a tree to remove is deeper, than
    the applier reads (``host/fsread.py``'s ``MAX_ENTRIES``, ``apply/fsroot.py``'s
    ``MAX_DEPTH``): that user is refused, nothing more of it is read."""


class ServiceNameError(ProvisionError):
    """A name on a command line (a verb's NAME, ``--only``) that names no declared service, or
    more than one (``model/units.py``: the one name rule)."""

class DataError(ProvisionError):
    """Bad hiera data: the message names file, line, column and key path."""


class RenderError(ProvisionError):
    """A template could not be rendered from a valid model."""


class LockError(ApplyError):
    """Another apply held the lock for longer than ``--lock-timeout``."""


class CommandError(ApplyError):
    """A command the applier ran (``sv``, an init tool) failed; the message carries its
    output. ``argv`` and ``returncode`` say which and how."""

    def __init__(self, message, argv=(), returncode=None):
        super().__init__(message)
        self.argv = list(argv)
        self.returncode = returncode


class WaitTimeout(ApplyError):
    """runsv did not take up a linked service directory in time; the message names the
    likely cause."""


class InstallError(ProvisionError):
    """The runtime cannot be installed or linked into init as asked: no init system found,
    ``runtime: system`` with no runit on the host, a package file of an unknown kind, …"""


class VerifyError(ProvisionError):
    """A host could not be read for the checks: the probe failed, or its answer (or an
    ``sv status`` line) is not what the checks' parsers accept (``checks/``)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped an apply's execution; ``result`` (``apply.job.Result``) is what it had
    done, where it stopped and the restarts it still owes. A KeyboardInterrupt, not an error:
    nothing that catches errors (a user's part that fails alone) may take it for one, and a
    caller that does not ask for the result still stops."""

    def __init__(self, result):
        super().__init__("interrupted")
        self.result = result


class LoginNameError(ProvisionError):
    """A login on a command line (``logs --user LOGIN``) that the data gives no tree: a usage
    error (``logs`` exits 2, as for a bad option), not a name that names nothing."""


def raised_while(exc, kind):
    """Whether ``exc`` is a ``kind`` or was raised while one was handled. A signal's exception
    (Ctrl-C's ``KeyboardInterrupt``, the demo's stop) lands wherever the program is, and the
    code it cuts short may fail in its own cleanup — argparse's, when it lands while a command
    line is read — so the error that reaches the top is that signal's."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__context__
    return False
