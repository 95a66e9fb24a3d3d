"""startup: the kept Config (the room's contract: __init__.py), beside codebundle.py, whose
trust rule it takes — the validated Config of a command line's inputs, kept between runs — so
that a daily ``status NAME`` or ``logs NAME`` does not load YAML, resolve the hierarchy and
check the data again each time (about 15 ms, twice the whole budget of such a view:
docs/design.md).

``kept_config(args)`` is ``inputs.config_from_args(args)`` (the one pipeline,
``runit_provision/inputs.py``), answered from the cache when it holds the same inputs
unchanged. The cache is root's: ``/var/cache/runit-provision``
(``$RUNIT_PROVISION_CACHE`` names another directory; set empty, none), one file per command
line's inputs — ``--data``/``--hiera``, ``--facts``, ``--root``, ``--passwd``, ``--group``,
as absolute paths — holding the Config as plain values (``marshal``) and what it was made of:

* every file whose content went into it, each with its device, inode, size, mtime and ctime
  (None: it did not exist) — the hiera.yaml or data file, every data file the hierarchy names
  (found or not), the directory each glob level lists and every entry in it, the facts file,
  the passwd and group files the command line points at (found or not), and the code that
  reads and checks the data (hiera, schema, model, accounts, protocol, source, errors, this
  module, ``inputs``, PyYAML) — an upgrade or an edit is a change;
* the accounts of the data's users, where they came from this host (NSS): asked again, and
  compared.

It is used only when every one of those is as it was; any doubt rebuilds it. Not kept:

* for a command not run as root (euid): nobody else writes where root reads, and a user's
  run asks the data itself;
* when the resolution asked this host's facts (an interpolation of ``%{facts…}`` without
  ``--facts``): no file says when a host's name or addresses change;
* when a glob level has a wildcard above its last component, or ``**``;
* when an input changed less than ``RACY_NS`` before it was read: a file's times come from a
  clock that ticks coarsely (a jiffy; a second or two on some file systems), so a change in
  the same tick as the read would leave them as they were.

Trust — the rule of what a view keeps between runs, its code bundle's too
(``codebundle.is_directory_trusted``, ``opened_trusted``): the directory must be root's and
writable by root alone (``0700`` when made here), and so must each directory above it (or be
sticky, as ``/tmp``: then no one else can move it), none of them a link; an entry must be
root's, a regular file with one link, writable by root alone, opened without following a link
and without waiting on a FIFO, at most ``MAX_BYTES``. Anything else is neither read nor
written: the Config is built as without a cache. An entry is written to a new file and renamed
over the old (``cached_config_writer.py``, handed the entry made here: it knows nothing of
what an entry holds).
"""

import marshal
import posix  # not os, on the daily views' path: protocol/without_os.py says why
import sys
import time

# codebundle: the trust of what a view keeps (imported first on a view's start: no cost here)
from .codebundle import is_directory_trusted, opened_trusted
from ..protocol.without_os import abspath, dirname, environ as current_environ, join

CACHE_DIR = "/var/cache/runit-provision"
CACHE_VARIABLE = "RUNIT_PROVISION_CACHE"
RACY_NS = 2_000_000_000  # FAT's mtime is 2 s coarse; ext3's and many others' 1 s
MAX_BYTES = 8 << 20
MAX_ENTRIES = 32  # one per command line's inputs; the oldest go beyond this
ROOT = (0,)  # who may have written the cache: root, for whom alone it is kept
FORMAT = 2
# the modules whose code makes a Config from the inputs (the cache's own included: its writer
# too, whose name this one's starts), as prefixes of their names: what the pipeline (inputs.py)
# imports, through others too, and no more — tests/cli/test_cached_config.py holds it to the
# code's imports and to what a run loads (PyYAML's C extension is yaml._yaml since 5.4)
MAKERS = ("runit_provision.hiera", "runit_provision.schema", "runit_provision.model",
          "runit_provision.accounts", "runit_provision.protocol", "runit_provision.source",
          "runit_provision.errors", "runit_provision.inputs", __name__, "yaml")
# how a value is kept (_encoded): what holds a record is a tuple tagged
# with one of these and the positions to walk, and only those are walked when it is read
# back — walking all of a Config's ~900 fields was about 0.4 ms, a tenth of the daily views'
# budget
_TUPLE, _RECORD, _READY, _LIST, _DICT = 0, 1, 2, 3, 4


def kept_config(args, environ=None):
    """The validated Config of the command line's data, facts and accounts (DataError as
    ``inputs.config_from_args``'s), from the cache when it holds them as they are."""
    place = cache_directory(current_environ() if environ is None else environ)
    key = _key(args)
    if place is not None:
        config = _kept(place, key, args)
        if config is not None:
            return config
    started = time.time_ns()
    from ..inputs import read

    found = read(hiera=args.hiera, data=args.data, facts=args.facts, passwd=args.passwd,
                 group=args.group, root=args.root)
    if place is not None:
        entry = entry_of(key, found, started)
        if entry is not None:
            # here: a view whose Config is kept (every daily one but the first) never runs it
            from .cached_config_writer import keep

            keep(place, _name(key), entry, MAX_ENTRIES)
    return found.config


class Unread:
    """The data of a view's command line could not be read: ``error`` (its DataError) and
    ``config``, the Config whose service directories the view lists what is supervised in —
    the one kept from the last run of the same inputs that read them (``is_kept``: whatever
    changed since; only where it looks is taken from it), else the defaults'
    (``/etc/service``, under ``--root DIR``)."""

    def __init__(self, error, config, is_kept):
        self.error, self.config, self.is_kept = error, config, is_kept

    @property
    def where(self):
        """Where the view looked, as its message says it."""
        from ..model.units import service_directories

        directories = sorted(service_directories(self.config).items(),
                             key=lambda item: (item[0] is not None, item[0] or ""))
        return "%s (%s)" % (", ".join(directory for _, directory in directories),
                            "the service directories of the data its last good run read"
                            if self.is_kept else "the default service directory")


def config_or_unread(args, environ=None):
    """``(config, None)``: ``kept_config``'s; or, when the data cannot be read (a
    DataError), ``(config, Unread)``: the Config of ``Unread``, where a view that must still
    show what is supervised (``status``, ``logs``, ``metrics``) looks."""
    from ..errors import ProvisionError

    try:
        return kept_config(args, environ), None
    except ProvisionError as exc:
        from ..errors import DataError

        if not isinstance(exc, DataError):
            raise
        error = exc
    place = cache_directory(current_environ() if environ is None else environ)
    config = None if place is None else _kept(place, _key(args), args, stale=True)
    if config is None:
        from ..accounts import NO_ACCOUNTS
        from ..schema import config_from_data

        config = config_from_data({}, {}, NO_ACCOUNTS)
        return config, Unread(error, config, False)
    return config, Unread(error, config, True)


def cache_directory(environ):
    """The cache's directory, or None: not root, none wanted, or one not root's alone."""
    if posix.geteuid() != 0:
        return None
    path = environ.get(CACHE_VARIABLE, CACHE_DIR)
    if not path:
        return None
    path = abspath(path)
    parent = dirname(path)
    if not is_directory_trusted(parent, ROOT, walk=True):
        return None
    try:
        posix.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    return path if is_directory_trusted(path, ROOT) else None


def _key(args):
    """The command line's inputs, as absolute paths (None: not given)."""
    return tuple(None if value is None else abspath(value)
                 for value in (args.data, args.hiera, args.facts, args.root, args.passwd,
                               args.group))


def _name(key):
    """The entry's file name: a hash of the key (FNV-1a, 64 bits; the key is checked
    again inside)."""
    found = 0xcbf29ce484222325
    for byte in repr(key).encode("utf-8", "surrogateescape"):
        found = ((found ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "config-%016x" % found


# -- reading --------------------------------------------------------------------------------------
def _kept(place, key, args, stale=False):
    """The Config of the entry for ``key``, when it is there, trusted and still true (with
    ``stale``, whatever changed since it was kept)."""
    data = _read_trusted(place, _name(key))
    if data is None:
        return None
    try:
        entry = marshal.loads(data)
        version, kept_key, files, users, fields, value = entry
        if version != FORMAT or kept_key != key:
            return None
        if not stale and any(_stat(path) != seen for path, seen in files):
            return None
        if not stale and users is not None and not _same_accounts(args, users):
            return None
        return _decoded(value, fields)
    except Exception:  # noqa: BLE001 — a damaged or older entry: built again, never trusted
        return None


def _read_trusted(place, name):
    """The entry's bytes, when it is a regular file of root's alone with one link; None
    otherwise."""
    opened = opened_trusted(join(place, name), ROOT)
    if opened is None:
        return None
    fd, info = opened
    try:
        if info.st_size > MAX_BYTES:
            return None
        return posix.read(fd, info.st_size + 1)
    except OSError:
        return None
    finally:
        posix.close(fd)


def _stat(path):
    """What says a file changed: ``(device, inode, size, mtime, ctime)``; None when it does
    not exist; ``()`` when it cannot be told (never equal to what was kept)."""
    try:
        info = posix.stat(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return ()
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _same_accounts(args, users):
    """Whether this host answers for the data's users as it did (``users``: the logins and
    the accounts they were given)."""
    from ..accounts.databases import databases_for

    logins, kept = users
    return _plain_accounts(databases_for(args.passwd, args.group, args.root)
                           .accounts(list(logins))) == kept


def _plain_accounts(accounts):
    """Accounts as plain values (marshal keeps no named tuples)."""
    return ({name: tuple(login) for name, login in accounts.logins.items()},
            tuple(tuple(group) for group in accounts.groups))


def _decoded(value, fields):
    """The Config of a kept value; the records' fields must be as kept (else ValueError).
    Only what ``_encoded`` tagged is walked: a record's plain fields
    are set in one pass."""
    from .. import model
    from ..model.record import Record, fill

    classes = {}
    for name, kept in fields.items():
        cls = _ready_spec() if name == "ReadySpec" else getattr(model, name)
        if name != "ReadySpec" and not issubclass(cls, Record) or tuple(cls._fields) != kept:
            raise ValueError("the fields of %s changed" % name)
        classes[name] = cls

    def decoded(item):  # a record's fields set as its constructor sets them (fill)
        tag = item[0]
        if tag == _RECORD:
            _, name, marked, values = item
            cls = classes[name]
            if len(values) != len(cls._fields):
                raise ValueError("a %s of %d fields" % (name, len(values)))
            if marked:
                values = list(values)
                for index in marked:
                    values[index] = decoded(values[index])
            record = cls.__new__(cls)
            for _ in map(fill, [record] * len(values), cls._fields, values):
                pass
            return record
        if tag == _READY:
            return classes[item[1]](*item[2])
        _, marked, values = item  # a list, dict or tuple holding records
        values = dict(values) if tag == _DICT else list(values)
        for index in marked:
            values[index] = decoded(values[index])
        if tag == _TUPLE:
            return tuple(values)
        if tag not in (_LIST, _DICT):
            raise ValueError("unknown tag %r" % (tag,))
        return values
    return decoded(value)


def _ready_spec():
    from ..protocol.readiness import ReadySpec

    return ReadySpec


# -- making ---------------------------------------------------------------------------------------
# what is kept and when — cached_config_writer.py writes it, knowing nothing of it
def entry_of(key, found, started):
    """The entry to keep for ``found`` (inputs.Inputs), or None when it may not be
    kept (see the module's docstring)."""
    files, directories, host_facts = found.hiera.consulted()
    if host_facts or directories is None:
        return None
    paths = [path for path in key[:3] if path is not None] + files + directories
    for directory in directories:
        try:
            paths.extend(join(directory, name) for name in sorted(posix.listdir(directory)))
        except OSError:
            return None
    root, passwd, group = key[3:]
    paths.extend(path for path in (passwd, group) if path is not None)
    if root is not None:
        paths.extend(join(root, "etc", name) for name in ("passwd", "group"))
    paths.extend(module.__file__ for name, module in sorted(sys.modules.items())
                 if name.startswith(MAKERS) and getattr(module, "__file__", None))
    seen = [(path, _stat(path)) for path in dict.fromkeys(paths)]
    racy = started - RACY_NS
    if any(info == () or (info is not None and max(info[3], info[4]) > racy)
           for _, info in seen):
        return None  # unreadable, or changed too recently to tell a later change
    databases = found.databases
    users = None
    if found.logins and (databases.passwd.path is None or databases.group.path is None):
        users = (tuple(found.logins), _plain_accounts(found.accounts))
    fields = {}
    try:
        value = _encoded(found.config, fields)
    except ValueError:  # a value the encoding does not know: not kept
        return None
    return (FORMAT, key, seen, users, fields, value)


def _encoded(value, fields):
    """``value`` (a model record) as plain values marshal keeps. What holds no record — str,
    int, bool, float, bytes, None and lists, dicts and tuples of them — is kept as it is; a
    model record as ``(_RECORD, class, marked, fields)``, a list, dict or tuple holding one
    as ``(_LIST/_DICT/_TUPLE, marked, items)`` — ``marked``: the positions (keys) whose value
    is itself tagged — a ReadySpec as ``(_READY, "ReadySpec", fields)`` (the tags above).
    ``fields`` gets each class's fields. ValueError for any other kind of value (not an
    exception class of its own: making one at import is ~0.09 M instructions of every view's
    start, this module being on its path)."""
    from .. import model
    from ..model.record import Record
    from ..protocol.readiness import ReadySpec

    def encoded(item):  # (kept, whether it is tagged)
        kind = type(item)
        if item is None or kind in (str, int, bool, float, bytes):
            return item, False
        if kind is list or kind is tuple:
            kept = [encoded(part) for part in item]
            marked = tuple(index for index, (_, tagged) in enumerate(kept) if tagged)
            if not marked:
                return item, False
            values = [part for part, _ in kept]
            return ((_LIST, marked, values) if kind is list
                    else (_TUPLE, marked, tuple(values))), True
        if kind is dict:
            kept, marked = {}, []
            for name, part in item.items():
                name, tagged = encoded(name)
                if tagged:
                    raise ValueError("not kept: a key holding a record")
                kept[name], tagged = encoded(part)
                if tagged:
                    marked.append(name)
            return ((_DICT, tuple(marked), kept), True) if marked else (item, False)
        if kind is ReadySpec:
            fields["ReadySpec"] = tuple(ReadySpec._fields)
            if any(encoded(part)[1] for part in item):
                raise ValueError("not kept: a ReadySpec holding a record")
            return (_READY, "ReadySpec", tuple(item)), True
        if isinstance(item, Record) and getattr(model, kind.__name__, None) is kind:
            fields[kind.__name__] = tuple(kind._fields)
            kept = [encoded(getattr(item, name)) for name in kind._fields]
            marked = tuple(index for index, (_, tagged) in enumerate(kept) if tagged)
            values = tuple(part for part, _ in kept)
            return (_RECORD, kind.__name__, marked, values), True
        raise ValueError("not kept: a %s" % kind.__name__)
    kept, tagged = encoded(value)
    if not tagged:
        raise ValueError("not kept: a %s" % type(value).__name__)
    return kept
