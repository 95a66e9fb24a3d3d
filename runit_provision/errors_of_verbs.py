"""The part of the project's exception tree (``errors.py``: its root, and the classes the
daily views and ``sv`` raise) that only the verbs which read the data, render, write or check
raise: never the daily views (``status``, ``logs``) nor ``sv``, which import ``errors.py``
alone — a class made at import is ~0.1 M instructions of their start. Import these from here
(``from ..errors_of_verbs import DataError``); this module builds on ``errors``, which knows
nothing of it.
"""

from .errors import ApplyError, ProvisionError


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
