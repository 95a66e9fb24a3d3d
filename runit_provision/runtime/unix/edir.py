"""runtime: read an environment directory — runit's ``edir`` (``chpst -e``, ``envdir``).

One file per variable, named like the variable. For each entry, in readdir order:

- names starting with ``.`` are skipped;
- a 0-byte file **unsets** the variable;
- otherwise the value is the file's first line, trailing spaces and tabs stripped, NUL bytes
  turned into newlines (so ``printf 'a\\0b'`` gives a two-line value); a file holding just
  ``"\\n"`` sets the variable to the empty string (``protocol/process/envfile.py``: the
  rule, shared with the renderer, the applier and import);
- a subdirectory is fatal (``unable to read DIR/NAME: is a directory``) unless the caller skips
  directories, as ``chpst -e`` does (with a warning under ``-v``).

A deliberate fix over runit: a name whose file cannot be found when it is opened (typically a
dangling symlink) unsets the variable. runit's edir() re-uses its read buffer there, so the
name silently got the value of whichever entry readdir returned before it, plus a newline — a
secret meant for one variable could land in another. See docs/chpst.md.

The result is an ordered dict ``name -> value`` (``None`` = unset), in readdir order; runit
appends the changes to the environment in that order (see ``chpst.environment_for_exec``).
"""

import errno
import os

from ...errors import FatalError
from ...protocol.process.envfile import value_from_bytes
from .diag import with_errstr

# chdir(dir) needs search permission on dir, opendir(".") read permission; opening "dir/."
# with O_PATH checks the first, opening "." in it the second — so runit's two messages stay
# apart without changing our working directory.
_O_PATH = getattr(os, "O_PATH", os.O_RDONLY)
# runit's open_read(): O_RDONLY|O_NDELAY — a FIFO without a writer reads as empty.
_O_READ = os.O_RDONLY | os.O_NONBLOCK
# The longest value read: the kernel refuses a longer environment string at exec anyway
# (MAX_ARG_STRLEN, 32 pages).
VALUE_MAX = 128 * 1024


def _read_file(name, dir_fd, limit=VALUE_MAX):
    """The file's bytes up to its first newline (all edir uses), or ``None`` if it does not
    exist (openreadclose's ENOENT case). A first line longer than ``limit`` is an error
    (EFBIG) — runit reads the whole file; a link to ``/dev/zero`` must not read for ever."""
    try:
        fd = os.open(name, _O_READ, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    try:
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if b"\n" in chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, "first line longer than %d bytes" % limit)
    finally:
        os.close(fd)


def _open_dir(dirname):
    """An fd on the directory, with runit's two messages for chdir() and opendir()."""
    try:
        if not dirname:
            # chdir("") fails with ENOENT; "" + "/." would name the root instead.
            raise FileNotFoundError(2, "empty path")
        path_fd = os.open(dirname + "/.", _O_PATH)
    except OSError as exc:
        raise FatalError(with_errstr("unable to switch to directory: %s" % dirname, exc)) from exc
    try:
        return os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=path_fd)
    except OSError as exc:
        raise FatalError(with_errstr("unable to open directory: %s" % dirname, exc)) from exc
    finally:
        os.close(path_fd)


def read_envdir(dirname, skip_directories=False, warn=None):
    """Read ``dirname``: an ordered dict ``name -> value or None`` (None = unset).

    ``skip_directories``: chpst -e's leniency — a subdirectory is skipped, and reported through
    ``warn(message)`` when given, instead of being fatal. Raises FatalError with runit's text.
    """
    dir_fd = _open_dir(dirname)
    try:
        try:
            names = os.listdir(dir_fd)
        except OSError as exc:
            raise FatalError(with_errstr("unable to read directory: %s" % dirname, exc)) from exc
        changes = {}
        for name in names:
            if name.startswith("."):
                continue
            try:
                data = _read_file(name, dir_fd)
            except OSError as exc:
                message = with_errstr("unable to read %s/%s" % (dirname, name), exc)
                if exc.errno == errno.EISDIR and skip_directories:
                    if warn is not None:
                        warn(message)
                    continue
                raise FatalError(message) from exc
            changes[name] = value_from_bytes(data) if data is not None else None
        return changes
    finally:
        os.close(dir_fd)

