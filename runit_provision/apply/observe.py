"""apply: what the host is — every path the plan will ask about, read once.

``observe(desired, fs, probe)`` returns an ``Observation``: an ``Actual`` for every path of
the desired tree (and each disabled service's link), the files found in what the applier owns
that the data no longer declares (``extras``: runit's names in a service directory — ``run``,
``finish``, ``check``, ``down``, ``control/*``, ``log/run``…, ``env/*`` only when ``env`` is
declared — and temp files an interrupted apply left), and the live state of every service
(``probe``: the ``supervise/ok`` probe and the status read). Runtime-owned paths (supervise/,
svlogd's files) are never listed as extras, so the plan can never touch them.

Each file is read once, through ``FsRoot`` (no link a user planted is followed: such a path
is observed as ``unsafe``). A regular file with other hard links is not read — it may be
someone else's file linked in — and is replaced whole.

A user's part costs a bounded look, whatever the home holds: a directory of theirs where
nothing is purged (the home, ``~/sv``, ``~/logs/NAME``) is never listed — the paths wanted
there are looked up by name — and one that is listed (a service directory, ``env/``,
``control/``, ``log/``) is read up to ``host/fsread.MAX_ENTRIES`` entries — a user's service
directory too, once, for what the data does not declare (host/supervised.py: left alone). A
directory beyond that, or any error met reading one of a user's directories, is a problem at
that directory (``Observation.problems``): that user's refusal, never the apply's.
"""

import errno
import stat
from collections import namedtuple

from ..errors import LimitError, ProtocolError, UnsafePathError
from ..host.fsread import MAX_ENTRIES, READ_LIMIT
from ..host.sides import NOT_SUPERVISED, probe_side, read_owed
from ..host.supervised import undeclared as list_undeclared
from ..model.acl import UNSUPPORTED
from ..protocol.layout import LOG_DIR, PACKAGE_NAME, TIMER_STATE_FILE, acted_on
from .fsroot import is_temp_name

_KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "directory", stat.S_IFLNK: "symlink"}
# Entries whose content is read: a file's bytes are compared, a .pyc's header.
READ_KINDS = ("file", "bytecode")


class Actual(namedtuple("Actual", "kind mode uid gid content target error acl",
                        defaults=(None,) * 7)):
    """What is at one path: ``kind`` is ``missing``, ``file``, ``directory``, ``symlink``,
    ``other`` (a FIFO, a device…), ``unsafe`` (reached only through a link someone else owns)
    or ``error`` (``error`` says why). ``content`` is a file's bytes (None if not read),
    ``target`` a link's target — or, for a directory reached through a trusted link, that
    link's target. ``acl``: a directory's access ACL (model/acl.py), read only where the
    tree wants readers — None there: it holds none. A tuple: a plan of 1000 services makes ten
    thousand of them."""

    __slots__ = ()

    @classmethod
    def from_stat(cls, info, content=None, target=None, error=None):
        mode = info.st_mode
        return tuple.__new__(cls, (_KINDS.get(stat.S_IFMT(mode), "other"), mode & 0o7777,
                                   info.st_uid, info.st_gid, content, target, error, None))

    @property
    def exists(self):
        return self[0] != "missing"

    def __repr__(self):
        shown = ["%s=%r" % (name, value) for name, value in zip(self._fields[1:], self[1:])
                 if value is not None]
        return "Actual(%r%s)" % (self[0], "".join(", " + item for item in shown))


MISSING = Actual("missing")


class Live:
    """Both sides of a service directory."""

    __slots__ = ("main", "log")

    def __init__(self, main=NOT_SUPERVISED, log=NOT_SUPERVISED):
        self.main, self.log = main, log

    def __repr__(self):
        return "Live(main=%r, log=%r)" % (self.main, self.log)


class Observation:
    """``paths``: {path: Actual}; ``extras``: {path: Actual} to purge; ``live``: {unit path:
    Live} (empty when nothing was probed: ``--root``); ``owed``: the restarts an earlier apply
    wrote down and did not do (host/owed.py); ``problems``: [(directory, why)] of the directories
    in users' parts that could not be read (too many entries, an error); ``undeclared``: the
    entries of the service directories that the data does not declare, and ``unread``: the
    service directories that could not be listed for them (host/supervised.py) — left alone
    either way; ``cannot_run``: {login: why} of the users who cannot run the sv that drives
    their services (runnable.py: the job looks, with the host, unless staging) — the plan
    refuses each whose part it would change."""

    def __init__(self, paths=None, extras=None, live=None, owed=(), problems=(),
                 undeclared=(), unread=(), cannot_run=None):
        self.paths = paths or {}
        self.extras = extras or {}
        self.live = live or {}
        self.owed = list(owed)
        self.problems = list(problems)
        self.undeclared, self.unread = list(undeclared), list(unread)
        self.cannot_run = dict(cannot_run or {})

    def actual(self, path):
        return self.paths.get(path, MISSING)

    def live_of(self, unit):
        return self.live.get(unit.path, Live())


def observe(desired, fs, probe=None):
    """The Observation of everything ``desired`` covers; ``probe(path) -> SideState`` reads a
    side's live state (``probe_side`` on ``fs``; None: nothing is probed, as under
    ``--root``).

    Directory by directory, in path order (a directory's children right after it): each is
    opened once, listed once (``fs.scan``), and the paths wanted in it and the undeclared
    runit names in it are taken from that one listing; files are read once."""
    tree = desired.tree
    kinds = {entry.path: entry.kind for entry in tree}
    scopes = {}
    for unit in desired.units:
        if not unit.is_enabled and not unit.is_absent:
            kinds.setdefault(unit.link, "symlink")
        if not unit.adopts:  # a package's directory? (plan leaves it alone)
            kinds.setdefault(unit.path + "/" + PACKAGE_NAME, "file")
        if unit.is_absent:
            continue
        if unit.is_timer:  # is it waiting? (planner/services.py: a changed schedule)
            kinds.setdefault(unit.path + "/" + TIMER_STATE_FILE, "file")
        if not unit.has_log:
            kinds.setdefault(unit.log_path, "directory")
        scopes.update(_scopes(unit))
    wanted = {}
    for path, kind in kinds.items():
        parent, _, name = path.rpartition("/")
        wanted.setdefault(parent or "/", {})[name] = kind
    paths, extras, problems = {}, {}, []
    missing = set()  # directories a listing of their parent showed absent: never opened
    for directory in sorted(set(wanted) | set(scopes)):
        names = wanted.get(directory, {})
        scope = scopes.get(directory, _NO_SCOPE)
        if directory in missing:
            for name in names:
                paths[_join(directory, name)] = MISSING
            present = {}
        elif desired.login_of(directory) is None:
            present = _observe_directory(fs, tree, directory, names, scope, paths, extras)
        else:
            present = _observe_users_directory(fs, tree, directory, names, scope, paths,
                                               extras, problems)
        if present is not None:
            prefix = directory.rstrip("/") + "/"
            for name in _answered(names, scope):
                if name not in present:
                    missing.add(prefix + name)
    _observe_acls(fs, tree, paths)
    above = set()  # the parents already looked at: most paths share theirs
    for path in kinds:
        parent = path.rsplit("/", 1)[0]
        if parent not in above:
            above.add(parent)
            _observe_parents(fs, tree, paths, path)
    live = {}
    owed = ()
    if probe is not None:
        for unit in desired.units:
            if paths.get(unit.path, MISSING).kind == "directory":
                live[unit.path] = _live(probe, unit)
        owed = read_owed(fs, desired.owed_file)
    undeclared, unread = list_undeclared(desired.service_dirs,
                                         [unit.link for unit in desired.units], fs)
    return Observation(paths, extras, live, owed=owed, problems=problems,
                       undeclared=undeclared, unread=unread)


def _scopes(unit):
    """The directories of ``unit`` where undeclared runit names are purged, with the names
    that count (None: every name): ``layout.acted_on``, but for ``log/`` — drop_log's."""
    scopes = acted_on(unit.path, unit.has_log, unit.has_env)
    scopes[unit.path] = tuple(name for name in scopes[unit.path] if name != LOG_DIR)
    return scopes


def _observe_acls(fs, tree, paths):
    """The access ACL of each directory there that the tree gives readers; a file system that
    keeps none is an error at that directory: its readers cannot be let in, nor others kept
    out by the mode alone."""
    for entry in tree:
        actual = paths.get(entry.path)
        if not entry.readers or actual is None or actual.kind != "directory":
            continue
        try:
            paths[entry.path] = actual._replace(acl=fs.access_acl(entry.path))
        except ProtocolError as exc:
            paths[entry.path] = Actual("error", error="%s: its ACL: %s"
                                       % (fs.host_path(entry.path), exc))
        except OSError as exc:
            paths[entry.path] = _acl_error(fs, entry.path, exc)


def _acl_error(fs, path, exc):
    if exc.errno in UNSUPPORTED:
        return Actual("error", error="%s: its file system keeps no POSIX ACL (%s), and only "
                      "an ACL lets its readers in while the mode keeps others out; mount it "
                      "with ACLs (the acl option)" % (fs.host_path(path), exc.strerror))
    return Actual("error", error="%s: cannot read its ACL: %s" % (fs.host_path(path),
                                                                   exc.strerror))


def _observe_users_directory(fs, tree, directory, names, scope, paths, extras, problems):
    """``_observe_directory`` bounded, for a directory of a user's part: what cannot be read
    there — too many entries (LimitError), or any error at all — is a problem at
    ``directory`` (that user's refusal) and an ``error`` Actual for each of ``names``."""
    try:
        return _observe_directory(fs, tree, directory, names, scope, paths, extras,
                                  is_users=True)
    except LimitError as exc:
        why = str(exc)
    except Exception as exc:  # noqa: BLE001 — whatever a home makes fail refuses its user
        why = "cannot read %s: %s: %s" % (fs.host_path(directory), type(exc).__name__, exc)
    problems.append((directory, why))
    for name in names:
        paths[_join(directory, name)] = Actual("error", error=why)
    return None


def _observe_directory(fs, tree, directory, names, scope, paths, extras, is_users=False):
    """The Actual of each of ``names`` (name -> kind) in ``directory``, and — when
    ``directory`` is a purge scope (``scope``: the runit names that count, or None for every
    name) — its undeclared names, all from one listing. In a user's part (``is_users``) a
    listing reads at most MAX_ENTRIES entries (LimitError beyond), and a directory with no
    scope is not listed: its ``names`` are looked up one by one."""
    if scope is _NO_SCOPE:
        wanted = names.__contains__
    elif scope is None:
        wanted = _every_name
    else:
        wanted = lambda name: name in names or name in scope or is_temp_name(name)  # noqa: E731
    read = [name for name, kind in names.items() if kind in READ_KINDS]
    try:
        if is_users and scope is _NO_SCOPE:
            found = fs.lookup(directory, names, read=read)
        else:
            found = fs.scan(directory, wanted, read=read,
                            limit=MAX_ENTRIES if is_users else None)
    except FileNotFoundError:
        found = {}
    except UnsafePathError as exc:
        for name in names:
            paths[_join(directory, name)] = Actual("unsafe", error=str(exc))
        return None
    except OSError as exc:
        for name in names:
            paths[_join(directory, name)] = _error(fs, _join(directory, name), exc)
        return None
    prefix = directory.rstrip("/") + "/"  # _join's, once for the directory
    for name, kind in names.items():
        path = prefix + name
        item = found.get(name)
        if item is None:
            paths[path] = MISSING
        elif item[1] is not None:
            paths[path] = Actual.from_stat(item[0], content=item[1])
        else:
            paths[path] = _actual(fs, path, kind, item[0])
    if scope is not _NO_SCOPE:
        for name, (info, _) in found.items():
            if name not in names:
                path = prefix + name
                if path not in tree:
                    extras[path] = Actual.from_stat(info)
    return found


def _every_name(name):
    return True


def _answered(names, scope):
    """The names a listing with these ``names`` and ``scope`` answered for: a directory among
    them that is not there needs no look of its own."""
    if scope is _NO_SCOPE or scope is None:
        return list(names)
    return list(names) + [name for name in scope if name not in names]


_NO_SCOPE = object()


def _join(directory, name):
    return directory.rstrip("/") + "/" + name


def _actual(fs, path, kind, info):
    """The Actual of ``path`` (kind wanted ``kind``) whose lstat is ``info``."""
    try:
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            if kind == "directory":
                return _observe_linked_dir(fs, path, info)
            return Actual.from_stat(info, target=fs.readlink(path))
        if kind in READ_KINDS and stat.S_ISREG(mode):
            if info.st_nlink > 1:
                return Actual.from_stat(info, error="has %d hard links" % info.st_nlink)
            return _observe_file(fs, path)
        return Actual.from_stat(info)
    except UnsafePathError as exc:
        return Actual("unsafe", error=str(exc))
    except OSError as exc:
        return _error(fs, path, exc)


def _error(fs, path, exc):
    if exc.errno == errno.ENOTDIR:
        return Actual("error", error="%s: a file is where a directory should be"
                      % fs.host_path(path))
    return Actual("error", error="%s: %s" % (fs.host_path(path), exc.strerror))


def _observe_parents(fs, tree, paths, path):
    """The directories above ``path`` that the tree does not declare, up to the first that
    exists (the plan creates the missing ones)."""
    parent = path.rsplit("/", 1)[0] or "/"
    while parent != "/" and parent not in tree and parent not in paths:
        actual = paths[parent] = observe_path(fs, parent, "directory")
        if actual.kind != "missing":
            break
        parent = parent.rsplit("/", 1)[0] or "/"


def observe_path(fs, path, kind):
    """The Actual at ``path``, read as an entry of ``kind`` needs (a file's content, a link's
    target, a directory through a trusted link); for single paths (the undeclared parents)."""
    try:
        info = fs.lstat(path)
    except UnsafePathError as exc:
        return Actual("unsafe", error=str(exc))
    except OSError as exc:
        return _error(fs, path, exc)
    return MISSING if info is None else _actual(fs, path, kind, info)


def _observe_file(fs, path):
    try:
        content, info = fs.read_file(path)
    except FileNotFoundError:
        return MISSING
    if content is None:
        if stat.S_ISREG(info.st_mode):  # too large to be read: replaced whole
            return Actual.from_stat(info, error="larger than %d bytes" % READ_LIMIT)
        target = fs.readlink(path) if stat.S_ISLNK(info.st_mode) else None
        return Actual.from_stat(info, target=target)
    if info.st_nlink > 1:
        return Actual.from_stat(info, error="has %d hard links" % info.st_nlink)
    return Actual.from_stat(info, content=content)


def _observe_linked_dir(fs, path, info):
    """A link where a directory is wanted: fine when it is trusted and leads to one."""
    target = fs.readlink(path)
    fs.check_link_owner(path, info)
    resolved = fs.dir_stat(path)
    if resolved is None:
        return Actual.from_stat(info, target=target)  # dangling: replace it
    return Actual.from_stat(resolved, target=target)


def _live(probe, unit):
    main = probe(unit.path)
    log = probe(unit.log_path) if unit.has_log or main.is_supervised else \
        NOT_SUPERVISED
    return Live(main, log)
