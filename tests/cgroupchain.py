"""A chain of directories as a user makes one in a cgroup handed to them: one ``mkdir`` and one
step down at a time, so neither its depth nor its whole path (past PATH_MAX) stops it.

``python3 tests/cgroupchain.py TOP DEPTH`` makes one as whoever runs it (tests/vm/ runs it as
a user) and says how deep it got: ``made N``, or ``made N refused ERRNO``.
"""

import contextlib
import errno
import os
import sys
from pathlib import Path

DEEP = 1500  # past the interpreter's recursion limit; a user makes it in seconds
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def make_chain(top, depth=DEEP, name="a"):
    """``depth`` directories ``name`` below ``top``, one in the other; how many were made
    before a ``mkdir`` was refused (``depth``: none was)."""
    fd = os.open(str(top), _DIR)
    made = 0
    try:
        while made < depth:
            os.mkdir(name, dir_fd=fd)
            below = os.open(name, _DIR, dir_fd=fd)
            os.close(fd)
            fd = below
            made += 1
    except OSError as exc:
        exc.made = made
        raise
    finally:
        os.close(fd)
    return made


@contextlib.contextmanager
def chain(top, depth=DEEP, name="a"):
    """``make_chain``, its deepest directory given (its path must fit PATH_MAX), and the
    chain removed after — pytest's own clean-up of old temporary directories recurses."""
    from runit_provision.runtime.unix.cgroup import remove_cgroup_tree
    make_chain(top, depth, name)
    try:
        yield Path(str(top), *[name] * depth)
    finally:
        assert remove_cgroup_tree(os.path.join(str(top), name))


if __name__ == "__main__":
    try:
        print("made %d" % make_chain(sys.argv[1], int(sys.argv[2])))
    except OSError as refused:
        print("made %d refused %s" % (refused.made, errno.errorcode[refused.errno]))
