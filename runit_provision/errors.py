"""The project's one exception tree.

Only ``cli/`` and the runtime tools' ``main()`` turn these into messages and exit codes.
"""


class ProvisionError(Exception):
    """Base of every error runit-provision raises on purpose."""


class ProtocolError(ProvisionError):
    """runit's on-disk contract was violated (a short status file, a bad stamp, …)."""


class UsageError(ProvisionError):
    """A command line a tool cannot accept; the tool prints its usage text."""


class FatalError(ProvisionError):
    """A runtime tool cannot go on; ``str()`` is runit's message without the prefix.

    The tool's ``main()`` prints ``PROG: fatal: MESSAGE`` and exits with its fatal code.
    """


class DataError(ProvisionError):
    """Bad hiera data: the message names file, line, column and key path."""


class RenderError(ProvisionError):
    """A template could not be rendered from a valid model."""


class ApplyError(ProvisionError):
    """The host could not be converged to the rendered tree."""
