"""protocol: what the daily views take of ``os`` beyond ``posix``'s functions — path names
joined, split and made absolute as ``posixpath`` makes them, the environment as
``os.environ`` has it, a name's bytes as ``os.fsencode`` gives them — without importing
``os`` — and the file-type bits of a ``stat``'s ``st_mode`` as ``stat`` has them, without
importing it.

``os`` re-exports ``posix``'s functions, and its import (``_collections_abc``, ``posixpath``,
which imports ``os``, and ``os.environ``) costs 6.4 M instructions: 0.23x a bare interpreter's
start (27.7 M, callgrind), half of what ``status NAME`` and ``logs NAME`` may add to it
(docs/design.md, *Start-up*). So
the modules on their path (``cli/main``, ``cli/logs``, ``cli/status``,
``host/fsread``, ``logs/``, ``model/units``…) call ``posix`` and this module;
``tests/protocol/test_without_os.py`` holds these to ``posixpath``'s answers. ``stat`` (~0.36 M
instructions, ~0.09 ms, with its C half ``_stat``) was loaded for three tests of a mode: the
views' modules take its numbers from here, ``tests/protocol/test_without_os.py`` holds them to
``stat``'s.
"""

import posix
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
    path = posix.fspath(first)
    for part in rest:
        part = posix.fspath(part)
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
    path = posix.fspath(path)
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
    path = posix.fspath(path)
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
    path = posix.fspath(path)
    if not path.startswith(SEP):
        path = join(posix.getcwd(), path)
    return normpath(path)


def exists(path):
    """``os.path.exists``: ``stat`` (links followed) succeeds."""
    try:
        posix.stat(path)
    except (OSError, ValueError):
        return False
    return True


def environ():
    """The environment, as ``os.environ`` has it: ``os.environ`` itself once something has
    loaded ``os`` (a caller may have changed it since the start: tests do), else the start-up
    environment decoded as ``os`` decodes it."""
    loaded = sys.modules.get("os")
    if loaded is not None:
        return loaded.environ
    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    return {key.decode(encoding, errors): value.decode(encoding, errors)
            for key, value in posix.environ.items()}


def fsencode(name):
    """``os.fsencode``: a name's bytes (an undecodable byte was kept as a surrogate).

    >>> fsencode("caf\\xe9"), fsencode("bad\\udcffname"), fsencode(b"raw")
    (b'caf\\xc3\\xa9', b'bad\\xffname', b'raw')
    """
    name = posix.fspath(name)
    if isinstance(name, bytes):
        return name
    return name.encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
