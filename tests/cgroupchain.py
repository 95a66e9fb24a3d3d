"""A chain of directories as a user makes one in a cgroup handed to them: one ``mkdir`` and one
step down at a time, so neither its depth nor its whole path (past PATH_MAX) stops it."""

import os

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
