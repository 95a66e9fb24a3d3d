"""host: whether a user may replace a root service's writable sandbox path — the question
``plan`` and ``apply`` ask of the data (schema/sandbox.check_writable_paths), under ``--root``
of the staged tree.

A writable path is bound where it leads at each start; one a user may replace (a component of
it theirs, or in a directory they may write to) could be made to lead to ``/etc``. The walk is
``sandbox-run``'s own (protocol/process/sandbox.open_unreplaceable), from the root's
descriptor (FsReader's), whoever staged a ``--root`` tree trusted as root is.
"""

import os

from ..protocol.process.sandbox import open_unreplaceable
from .fsread import FsReader


def replaceable_question(root=None):
    """``path -> why a user may replace it`` (a sentence) or None, for paths under ``root``
    (None: this host's ``/``). A path that is missing where only root could make it is
    None: its start says so, or makes do without (a ``-`` path)."""
    def why(path):
        with FsReader(root or "/") as fs:
            try:
                fd, _ = open_unreplaceable(fs.dir_fd("/"), path.lstrip("-"), fs.trusted_uids,
                                           {0, os.getegid()})
            except ValueError as exc:
                return str(exc)
            except OSError:
                return None
            os.close(fd)
            return None
    return why
