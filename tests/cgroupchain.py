"""A chain of directories as a user makes one in a cgroup handed to them: one ``mkdir`` and one
step down at a time, so neither its depth nor its whole path (past PATH_MAX) stops it."""

import contextlib
import os
from pathlib import Path

from runit_provision.runtime.unix.cgroup import remove_cgroup_tree

DEEP = 1500  # past the interpreter's recursion limit; a user makes it in seconds
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def make_chain(top, depth=DEEP, name="a"):
    """``depth`` directories ``name`` below ``top``, one in the other."""
    fd = os.open(str(top), _DIR)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            below = os.open(name, _DIR, dir_fd=fd)
            os.close(fd)
            fd = below
    finally:
        os.close(fd)


@contextlib.contextmanager
def chain(top, depth=DEEP, name="a"):
    """``make_chain``, its deepest directory given (its path must fit PATH_MAX), and the
    chain removed after — pytest's own clean-up of old temporary directories recurses."""
    make_chain(top, depth, name)
    try:
        yield Path(str(top), *[name] * depth)
    finally:
        assert remove_cgroup_tree(os.path.join(str(top), name))
