"""runtime/supervision/users: whether a service's ``./run`` is a canonical user tree's — the
one look root's tree takes at every service's ``./run`` before anything else of users/ is
loaded (runsvdir.py's ``nest``): a tree with no user's tree among its services never loads
the room, whose memory would count in root's tree.
"""

from ....protocol.layout import RUN
from ....protocol.canonical import tree_run_from_bytes
from ..engine.servicedir import read_executable

RUN_LIMIT = 4096  # bytes of ./run read to decide: the canonical one is three lines


def tree_run(dir_fd):
    """The TreeRun of the service's ``./run`` (``dir_fd``: its directory, root's own), or None:
    not a user-executable regular file, or not the canonical form. Never blocks."""
    return tree_run_from_bytes(read_executable(RUN, dir_fd, RUN_LIMIT))
