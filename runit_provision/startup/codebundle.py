"""startup: the daily views' code in one file — what ``__pycache__`` is to one module, for the
modules of ours a view imports (docs/design.md, *The views' code bundle*).

A view (``status NAME``, ``logs NAME``) imports 17–36 modules of this package; for each, the
import system's path finder stats and lists directories, opens and checks its ``.pyc``, and
runs importlib's own Python code — an eighth to a sixth of what importing one of them costs
(the rest is running its body), ~0.1x a bare interpreter's start for ``status``. Served from the
bundle, a module costs one ``stat`` of its source, one ``pread`` and its ``marshal.loads``.

Where: ``runit_provision/__pycache__/views.<cache_tag>.bundle``, the package's own bytecode
directory. Who may have written it: root, or the user the view runs as (its euid) — the two
accounts that could change the process anyway (``trusted_owners``); for root, root alone.
So it is read only when (``is_directory_trusted``, ``opened_trusted``: the rule of what a
view keeps between runs, cached_config.py's too)

* every directory from ``__pycache__`` up to ``/`` is a directory (not a link) of one of
  them; ``__pycache__`` writable by its owner alone, each directory above it too unless it
  is sticky (as ``/tmp``: no one else can then move or replace what is theirs in it);
* the file, opened ``O_NOFOLLOW|O_NONBLOCK`` (a link is not followed, a FIFO's open does not
  wait for a writer) and checked by ``fstat`` of that descriptor, is a regular file of one
  of them, writable by its owner alone, with one link (another name, elsewhere, could be
  another's way to it).

Anything else — or a file of another interpreter (its ``cache_tag`` in the name, its magic
number and optimization level in the header), or one that does not decode — is ignored,
quietly: the modules are imported the usual way, from their sources, as if there were no
bundle (slower, never wrong; a view's start says nothing of it, as the interpreter says
nothing of a ``.pyc`` it does not use). Stricter than a ``.pyc``, which the interpreter
runs whoever wrote it: root's view does not run a bundle another user could have written or
replaced — not even the package directory's owner's, when that is not root (root's view
of a user's checkout imports from the sources, and writes nothing there).

What: a header (this format, the interpreter's magic number and optimization level), the
length of an index, the index (``marshal``: for each module its source path, its source's
``st_mtime_ns`` and ``st_size`` when it was compiled, where its code is), then each module's
code (marshalled). The index is read at start, a module's code when it is imported (the
descriptor stays open): a view reads the code of the modules it imports, not every view's.
The finder ``stat``\\ s the source before it serves a module: any difference, and the module
is imported the usual way — from its source — and the bundle is written again.
``mtime_ns`` and size rather than a hash: a hash reads every source at every start, which is
what the bundle saves; a source changed within ``RACY_NS`` of the write is not put in (its
time may not show a change made in the same tick), so a view never runs code older than its
source.

Who writes it: the view, after it has done its job, when a module of ours it imported was not
served from the bundle (missing, stale, the bundle absent or ignored) — as CPython writes a
``.pyc`` the first time — to a new file in ``__pycache__`` renamed over the old; not when
bytecode is not written (``-B``, ``PYTHONDONTWRITEBYTECODE``), not when the bundle would not
be trusted as written (a directory on the way that the rules above refuse), and silently
not when it may not write there (EACCES, EROFS). As written it is trusted: a new file (mode
0644 whatever the umask, the writer's, one link) renamed over the old. What goes in: every
module of the package the views have imported since it was first written (each view adds its
own), still valid.

Standard library only, ``marshal`` and ``posix``: no ``os``, no ``importlib`` (their import
would cost what the bundle saves). The writing is ``codebundle_writer.py``'s: a view that
finds its bundle complete never runs it, so it is not made at every start.
"""

import _imp
import marshal
import posix
import sys
from _frozen_importlib import ModuleSpec
from _frozen_importlib_external import MAGIC_NUMBER

FORMAT = b"runit-provision code bundle 1\n"
RACY_NS = 2_000_000_000  # as cached_config.py's: FAT's mtime is 2 s coarse
MAX_BYTES = 16 << 20
_FIRST_READ = 16 << 10  # the header and, usually, the whole index
# protocol/without_os.py's (stat's numbers): imported before the bundle serves anything, this
# module would load ``protocol`` through the path finder to take them from there (a test
# holds the two equal)
S_IFMT, S_IFDIR, S_IFREG, S_ISVTX = 0o170000, 0o040000, 0o100000, 0o1000
_WRITABLE_BY_OTHERS = 0o022  # the group's and the others' write bits
# a kept file is opened without following a link, and without waiting: a FIFO's open blocks
# until a writer comes
_OPEN_KEPT = posix.O_RDONLY | posix.O_NOFOLLOW | posix.O_NONBLOCK | posix.O_CLOEXEC


def bundle_path(package_dir, cache_tag=None):
    """The bundle of the package in ``package_dir`` for this interpreter (another
    ``cache_tag``: another interpreter's); None when the interpreter caches no bytecode."""
    tag = sys.implementation.cache_tag if cache_tag is None else cache_tag
    if tag is None:
        return None
    return package_dir + "/__pycache__/views." + tag + ".bundle"


def header():
    """What a bundle starts with for this interpreter: a bundle of another Python (another
    magic number) or another optimization level (``-O``: no asserts) is not this one's."""
    return FORMAT + MAGIC_NUMBER + bytes((sys.flags.optimize,))


class Bundle:
    """A meta-path finder and loader serving the modules of ``package`` from its bundle.

    ``entries``: module name → (source path, is a package, st_mtime_ns, st_size, where its
    marshalled code starts after the index, its length), read from ``fd`` (kept open: each
    module's code is read when it is imported, not the whole bundle at start) of the bundle
    at ``path``, its modules' ``__cached__``. ``served``:
    the names it served; ``before``: the modules loaded before it was put in
    ``sys.meta_path`` (not the view's own imports)."""

    def __init__(self, package, package_dir, entries=None, fd=None, codes_at=0, path=None):
        self.package = package
        self.package_dir = package_dir
        self.path = path
        self.entries = {} if entries is None else entries
        self.fd = fd
        self.codes_at = codes_at
        self.served = set()
        self.before = set(sys.modules)
        self.declined = False  # whether it let a module of the package go to another finder

    def find_spec(self, name, path=None, target=None):
        entry = self.entries.get(name)
        if entry is None:
            self.declined = self.declined or name.partition(".")[0] == self.package
            return None
        source, is_package, mtime_ns, size = entry[:4]
        try:
            info = posix.stat(source)
            if info.st_mtime_ns != mtime_ns or info.st_size != size:
                self.declined = True
                return None  # changed since: the usual import reads it, the bundle is remade
            code = marshal.loads(self.code_bytes(entry))
        except OSError:
            self.declined = True
            return None
        except (EOFError, ValueError, TypeError):
            code = None
        if type(code) is not _CODE:
            del self.entries[name]  # damaged: compiled again when the bundle is written
            self.declined = True
            return None
        _imp._fix_co_filename(code, source)  # the package moved: tracebacks name it where it is
        spec = ModuleSpec(name, self, origin=source, loader_state=code,
                          is_package=is_package)
        spec.has_location = True  # __file__ is the source, as a .pyc's module has it
        # where its code was compiled to, as a .pyc's __cached__ says: given, importlib's
        # module_from_spec does not make the path of a .pyc (cache_from_source, ~4 µs a module)
        spec.cached = self.path
        if is_package:
            spec.submodule_search_locations = [source.rpartition("/")[0]]
        return spec

    def code_bytes(self, entry):
        """An entry's marshalled code, read from the bundle (ValueError: cut short)."""
        offset, length = entry[4:6]
        data = posix.pread(self.fd, length, self.codes_at + offset)
        if len(data) != length:
            raise ValueError("the bundle is shorter than its index says")
        return data

    def create_module(self, spec):
        """The module, its ``__file__`` and ``__cached__`` already set: importlib's
        ``_init_module_attrs`` sets them only when missing, and a missing one costs it a
        formatted AttributeError (~0.4 M instructions of status NAME's 35 modules)."""
        module = _MODULE(spec.name)
        module.__file__, module.__cached__ = spec.origin, spec.cached
        return module

    def exec_module(self, module):
        spec = module.__spec__
        self.served.add(spec.name)
        exec(spec.loader_state, module.__dict__)

    def has_missed(self):
        """Whether the view imported a module of ours that the bundle did not serve: only
        then is it written again (codebundle_writer.keep), and the writer imported. Only
        looked for in ``sys.modules`` when the finder declined one (every import passes it
        first): a view whose bundle served all skips the walk."""
        return (self.declined and not sys.dont_write_bytecode
                and bool(set(self.imported()) - self.served))

    def imported(self):
        """The modules of the package imported since the bundle was put in place, each with
        its source (those that have one in the package directory)."""
        found = {}
        prefix = self.package + "."
        for name, module in list(sys.modules.items()):
            if name in self.before or not (name == self.package or name.startswith(prefix)):
                continue
            spec = getattr(module, "__spec__", None)
            origin = getattr(spec, "origin", None)
            if (isinstance(origin, str) and origin.startswith(self.package_dir + "/")
                    and origin.endswith(".py")):
                found[name] = (origin, spec.submodule_search_locations is not None)
        return found


def serve(package, package_dir):
    """A Bundle of ``package`` (a name, and its directory) from its bundle — empty when there
    is none this interpreter may trust — put first in ``sys.meta_path``."""
    bundle = opened(package, package_dir)
    sys.meta_path.insert(0, bundle)
    return bundle


def opened(package, package_dir):
    """The Bundle of the package's bundle file: its index read, its descriptor kept; one
    without entries when the file is missing, not trusted, of another interpreter or its
    index does not decode."""
    empty = Bundle(package, package_dir)
    path = bundle_path(package_dir)
    if path is None:
        return empty
    owners = trusted_owners()
    # the directories first: nothing is opened in one that someone else may write
    if not is_directory_trusted(path.rpartition("/")[0], owners, walk=True):
        return empty
    opened_file = opened_trusted(path, owners)
    if opened_file is None:
        return empty
    fd, info = opened_file
    try:
        found = _index(fd, info.st_size) if info.st_size <= MAX_BYTES else None
    except OSError:
        found = None
    if found is None:
        posix.close(fd)
        return empty
    entries, codes_at = found
    return Bundle(package, package_dir, entries, fd, codes_at, path)


def _index(fd, size):
    """(entries, where the codes start) of a bundle: its header, the index's length (4
    bytes), the index (``marshal``), then the codes; None when it is not one."""
    start = header()
    data = posix.read(fd, _FIRST_READ)
    if not data.startswith(start) or len(data) < len(start) + 4:
        return None
    length = int.from_bytes(data[len(start):len(start) + 4], "little")
    codes_at = len(start) + 4 + length
    if codes_at > size:
        return None
    if codes_at > len(data):
        data += posix.pread(fd, codes_at - len(data), len(data))
    try:
        entries = marshal.loads(memoryview(data)[len(start) + 4:codes_at])
    except (EOFError, ValueError, TypeError):
        return None
    return (entries, codes_at) if valid_entries(entries, size - codes_at) else None


# -- what a view may believe of what it keeps between runs -----------------------------------
# The one rule of its code bundle and of the kept Config (cached_config.py takes it from
# here). Here, not in a module of its own: this module is the first of a view's to be imported
# the usual way, before the bundle can serve anything, and a module more on that path costs
# every view's start ~0.15 ms — the package and this module imported in 0.49 ms in a fresh
# -S -I interpreter, 0.64 ms with a small module more (the least of 150 each; a bare start
# took 17 ms there: ~0.8% of it). Here the rule costs 0.1 M instructions of a view's start
# (callgrind; the floor is 27.6 M) and, for the walk, one lstat a directory level.

def trusted_owners():
    """The accounts whose files a process may run or believe as its own: root and the user
    it runs as (its effective uid), the two that could change the process anyway — for
    root, root alone."""
    euid = posix.geteuid()
    return (0,) if euid == 0 else (0, euid)


def is_directory_trusted(path, owners, walk=False):
    """Whether ``path`` (absolute) is a directory — not a link — of one of ``owners`` that no
    one else may write into; with ``walk``, every directory above it up to ``/`` too, where
    one that others may write is still trusted when it is sticky (as ``/tmp``: no one else
    can move or replace what is not theirs in it). A link on the way is not trusted: its
    target's directories would not be the ones checked."""
    if not path.startswith("/"):
        return False
    above = False
    while True:
        try:
            info = posix.lstat(path)
        except (OSError, ValueError):
            return False
        mode = info.st_mode
        if mode & S_IFMT != S_IFDIR or info.st_uid not in owners or (
                mode & _WRITABLE_BY_OTHERS and not (above and mode & S_ISVTX)):
            return False
        if not walk or path == "/":
            return True
        path = path.rpartition("/")[0] or "/"
        above = True


def is_file_trusted(info, owners):
    """Whether a file of this ``fstat`` may be believed: a regular file of one of ``owners``,
    writable by its owner alone, with one link — another name, elsewhere, may be in a
    directory someone else writes, and a way for them to the file (or a file they keep
    open to rewrite)."""
    return (info.st_mode & S_IFMT == S_IFREG and info.st_uid in owners
            and not info.st_mode & _WRITABLE_BY_OTHERS and info.st_nlink == 1)


def opened_trusted(path, owners):
    """``(descriptor, fstat)`` of the file ``path`` when ``is_file_trusted`` says so — opened
    without following a link and without waiting on a FIFO; None otherwise (nothing left
    open). Its directories are the caller's to have checked (``is_directory_trusted``)."""
    try:
        fd = posix.open(path, _OPEN_KEPT)
    except (OSError, ValueError):
        return None
    try:
        info = posix.fstat(fd)
    except OSError:
        info = None
    if info is None or not is_file_trusted(info, owners):
        posix.close(fd)
        return None
    return fd, info


def valid_entries(entries, codes_size):
    """Whether an index has the entries' shape, each code inside the file (a damaged file
    that still decodes must not make the finder fail)."""
    if type(entries) is not dict:
        return False
    for name, entry in entries.items():
        if type(name) is not str or type(entry) is not tuple or len(entry) != 6:
            return False
        source, is_package, mtime_ns, size, offset, length = entry
        if not (type(source) is str and type(is_package) is bool and type(mtime_ns) is int
                and type(size) is int and type(offset) is int and type(length) is int
                and 0 <= offset and 0 <= length and offset + length <= codes_size):
            return False
    return True


_CODE = type(header.__code__)  # types.CodeType, without importing types
_MODULE = type(sys)  # types.ModuleType


def package_directory():
    """The package's directory (``runit_provision``, this room's parent): its
    ``__pycache__`` holds the bundle."""
    return __file__.rpartition("/")[0].rpartition("/")[0]
