"""protocol: path names joined, split and made absolute as ``posixpath`` makes them, a name's
bytes as ``os.fsencode`` gives them, and the file-type bits of a ``stat``'s ``st_mode``.

These repeat ``os.path``, ``os.fsencode`` and ``stat``; ``tests/protocol/test_without_os.py``
holds them to those answers until their callers use the public modules directly.
"""

import os
import sys

SEP = "/"
# stat's: a st_mode's file type (S_IFMT's bits) and the two mode bits the views test
S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFIFO = 0o170000, 0o040000, 0o100000, 0o120000, 0o010000
S_ISGID, S_ISVTX = 0o2000, 0o1000


def is_directory(mode):
    """``stat.S_ISDIR``."""
    return mode & S_IFMT == S_IFDIR


def is_regular(mode):
    """``stat.S_ISREG``."""
    return mode & S_IFMT == S_IFREG


def is_link(mode):
    """``stat.S_ISLNK``."""
    return mode & S_IFMT == S_IFLNK


def join(first, *rest):
    """``posixpath.join``: an absolute part starts the path again.

    >>> join("/etc/sv", "web"), join("/etc/sv/", "web", "log"), join("a", "/b", "c"), join("", "x")
    ('/etc/sv/web', '/etc/sv/web/log', '/b/c', 'x')
    """
    path = os.fspath(first)
    for part in rest:
        part = os.fspath(part)
        if part.startswith(SEP):
            path = part
        elif not path or path.endswith(SEP):
            path += part
        else:
            path += SEP + part
    return path


def dirname(path):
    """``posixpath.dirname``: everything before the last ``/``, its trailing slashes gone
    unless that is all there is.

    >>> [dirname(path) for path in ("/etc/sv/web", "/etc/sv/", "/web", "web", "//x")]
    ['/etc/sv', '/etc/sv', '/', '', '//']
    """
    path = os.fspath(path)
    head = path[:path.rfind(SEP) + 1]
    if head and head != SEP * len(head):
        head = head.rstrip(SEP)
    return head


def normpath(path):
    """``posixpath.normpath``: no empty, ``.`` or resolvable ``..`` component; one leading
    slash, or two (POSIX leaves the meaning of ``//`` to the system), never three.

    >>> [normpath(path) for path in ("/a//b/./c/../d/", "../x/..", "", "///a", "//a")]
    ['/a/b/d', '..', '.', '/a', '//a']
    """
    path = os.fspath(path)
    if not path:
        return "."
    slashes = 0
    if path.startswith(SEP):
        slashes = 2 if path.startswith(SEP * 2) and not path.startswith(SEP * 3) else 1
    kept = []
    for part in path.split(SEP):
        if part in ("", "."):
            continue
        if part != ".." or (not slashes and not kept) or (kept and kept[-1] == ".."):
            kept.append(part)
        elif kept:
            kept.pop()
    return (SEP * slashes + SEP.join(kept)) or "."


def abspath(path):
    """``posixpath.abspath``: joined to the working directory, normalized."""
    path = os.fspath(path)
    if not path.startswith(SEP):
        path = join(os.getcwd(), path)
    return normpath(path)


def exists(path):
    """``os.path.exists``: ``stat`` (links followed) succeeds."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def environ():
    """The environment: ``os.environ`` (a caller may have changed it since the start: tests do)."""
    return os.environ


def fsencode(name):
    """``os.fsencode``: a name's bytes (an undecodable byte was kept as a surrogate).

    >>> fsencode("caf\\xe9"), fsencode("bad\\udcffname"), fsencode(b"raw")
    (b'caf\\xc3\\xa9', b'bad\\xffname', b'raw')
    """
    name = os.fspath(name)
    if isinstance(name, bytes):
        return name
    return name.encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
