"""startup: writing the daily views' code bundle (codebundle.py says what it is, where, and who
may read it): after a view's output is out, when a module of ours it imported was not served
from the bundle. Apart from the finder, which every view's start imports the usual way (not
from the bundle): a view whose bundle is complete never imports this, as a ``.pyc`` that
matches is never written again.
"""

import marshal
import os
import stat
import sys

from .codebundle import RACY_NS, bundle_path, header, is_directory_trusted, trusted_owners


def encoded(modules):
    """A bundle's bytes: ``modules`` is name → (source, is a package, st_mtime_ns, st_size,
    marshalled code)."""
    entries, codes, offset = {}, [], 0
    for name, (source, is_package, mtime_ns, size, code) in modules.items():
        entries[name] = (source, is_package, mtime_ns, size, offset, len(code))
        codes.append(code)
        offset += len(code)
    index = marshal.dumps(entries)
    return b"".join([header(), len(index).to_bytes(4, "little"), index] + codes)


def _read_all(fd, size):
    chunks = []
    while True:
        chunk = os.read(fd, size + 1)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def keep(bundle, now_ns=None):
    """Write the package's bundle again when the view imported a module of ours that it did
    not serve: its entries still valid, and every module the view imported. Never raises:
    a bundle not written is only a slower next start. Returns whether it wrote."""
    if sys.dont_write_bytecode:
        return False
    imported = bundle.imported()
    if not set(imported) - bundle.served:
        return False
    path = bundle_path(bundle.package_dir)
    try:
        if path is None:
            return False
        directory = path.rpartition("/")[0]
        if not _may_write(directory, bundle.package_dir):
            return False  # a read-only installation: compiling would be for nothing
        try:
            os.mkdir(directory, 0o755)  # less the umask's bits: never others' to write
        except FileExistsError:
            pass
        if not is_directory_trusted(directory, trusted_owners(), walk=True):
            return False  # a directory on the way another may write: it would not be read
        modules, changed = fresh_modules(bundle, imported, now_ns)
        if not changed:
            return False  # what was missing is too new to put in (racy): a later run will
        return write(path, encoded(modules))
    except (OSError, SyntaxError, ValueError):
        return False


def fresh_modules(bundle, imported, now_ns=None):
    """The modules to write (as ``encoded`` takes them), and whether they differ from the
    bundle's: its own that are still valid and every module imported, compiled from its
    source where the bundle has it stale, damaged or not at all; a source changed within
    RACY_NS of now, or gone, is left out."""
    import time  # here: only when a bundle is written

    now_ns = time.time_ns() if now_ns is None else now_ns
    wanted = {name: (entry[0], entry[1]) for name, entry in bundle.entries.items()}
    wanted.update(imported)
    modules = {}
    changed = False
    for name, (source, is_package) in sorted(wanted.items()):
        try:
            info = os.stat(source)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue  # a FIFO, a device: nothing to compile, and an open that may wait
        if max(info.st_mtime_ns, info.st_ctime_ns) > now_ns - RACY_NS:
            continue
        old = bundle.entries.get(name)
        if old is not None and old[2:4] == (info.st_mtime_ns, info.st_size):
            try:
                modules[name] = old[:4] + (bundle.code_bytes(old),)
                continue
            except (OSError, ValueError):
                pass
        code = compiled(source, info)
        if code is not None:
            modules[name] = (source, is_package, info.st_mtime_ns, info.st_size,
                             marshal.dumps(code))
            changed = True
    return modules, changed or set(modules) != set(bundle.entries)


def compiled(source, info):
    """The code of ``source``, read through one descriptor that is still the file ``info``
    describes (size and mtime): None when it changed meanwhile (a FIFO put in its place
    included: opened without waiting for a writer)."""
    fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            return None
        text = _read_all(fd, info.st_size)
    finally:
        os.close(fd)
    if (now.st_mtime_ns, now.st_size) != (info.st_mtime_ns, info.st_size) or \
            len(text) != info.st_size:
        return None
    return compile(text, source, "exec", dont_inherit=True)


def _may_write(directory, package_dir):
    """Whether ``directory`` (``__pycache__``) is a directory that may be written, or, not
    there yet, the package directory it would be made in (access(2) also says EROFS)."""
    try:
        info = os.stat(directory)
    except OSError:
        return os.access(package_dir, os.W_OK)
    return stat.S_ISDIR(info.st_mode) and os.access(directory, os.W_OK)


def write(path, data):
    """``data`` to ``path`` atomically, as codebundle.opened trusts it: a new file beside it
    (the writer's, one link, mode 0644 whatever the umask), renamed over it. False when the
    directory may not be written (read-only, another's) or the write failed."""
    temporary = "%s.%d.tmp" % (path, os.getpid())
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                        | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError:
        return False  # EACCES, EROFS, EEXIST (another writer's): not ours to write now
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, 0o644)  # whatever the umask: not writable by others
        finally:
            os.close(fd)
        os.rename(temporary, path)
        return True
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
