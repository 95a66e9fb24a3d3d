"""runtime/unix: which file a descriptor is open on, as a key — its (device, inode).

A descriptor's number says nothing lasting: closed and taken again, the same number names
another file. A tree keys by the file instead where it must know whether two numbers name one
file (the log pipes the pipe keeper holds, pipekeeper.py), or whether its directory is still
the one it watches (servicetree.py).
"""

import os


def file_identity(fd):
    """The (device, inode) of the file ``fd`` is open on; None when ``fd`` is not open.

    >>> reader, writer = os.pipe()
    >>> file_identity(reader) == file_identity(writer)  # a pipe's two ends: one file
    True
    >>> os.close(reader); os.close(writer); file_identity(reader) is None
    True
    """
    try:
        found = os.fstat(fd)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def path_identity(path):
    """The (device, inode) of the file ``path`` names now (links followed); None when it cannot
    be stat'ed."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
