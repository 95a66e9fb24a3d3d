"""cli: writing an entry of the kept Configs (cached_config.py says what one holds, where,
and when one is kept): only after the inputs were read — a view whose Config is kept never
imports this.
"""

import marshal
import posix  # not os, on the daily views' path: protocol/without_os.py says why
import sys

from ..protocol.without_os import join
from . import cached_config  # its names read when used (a test sets RACY_NS)


class _Unkept(Exception):
    """A Config that is not to be kept (a value the encoding does not know)."""


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
                 if name.startswith(cached_config.MAKERS) and getattr(module, "__file__", None))
    seen = [(path, cached_config._stat(path)) for path in dict.fromkeys(paths)]
    racy = started - cached_config.RACY_NS
    if any(info == () or (info is not None and max(info[3], info[4]) > racy)
           for _, info in seen):
        return None  # unreadable, or changed too recently to tell a later change
    databases = found.databases
    users = None
    if found.logins and (databases.passwd.path is None or databases.group.path is None):
        users = (tuple(found.logins), cached_config._plain_accounts(found.accounts))
    fields = {}
    try:
        value = _encoded(found.config, fields)
    except _Unkept:
        return None
    return (cached_config.FORMAT, key, seen, users, fields, value)


def _encoded(value, fields):
    """``value`` (a model record) as plain values marshal keeps. What holds no record — str,
    int, bool, float, bytes, None and lists, dicts and tuples of them — is kept as it is; a
    model record as ``(_RECORD, class, marked, fields)``, a list, dict or tuple holding one
    as ``(_LIST/_DICT/_TUPLE, marked, items)`` — ``marked``: the positions (keys) whose value
    is itself tagged — a ReadySpec as ``(_READY, "ReadySpec", fields)`` (cached_config's
    tags). ``fields`` gets each class's fields. _Unkept for any other kind of value."""
    from ..model.record import Record
    from ..protocol.readiness import ReadySpec

    model = _model()

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
            return ((cached_config._LIST, marked, values) if kind is list
                    else (cached_config._TUPLE, marked, tuple(values))), True
        if kind is dict:
            kept, marked = {}, []
            for name, part in item.items():
                name, tagged = encoded(name)
                if tagged:
                    raise _Unkept("a key holding a record")
                kept[name], tagged = encoded(part)
                if tagged:
                    marked.append(name)
            return ((cached_config._DICT, tuple(marked), kept), True) if marked else (item, False)
        if kind is ReadySpec:
            fields["ReadySpec"] = tuple(ReadySpec._fields)
            if any(encoded(part)[1] for part in item):
                raise _Unkept("a ReadySpec holding a record")
            return (cached_config._READY, "ReadySpec", tuple(item)), True
        if isinstance(item, Record) and getattr(model, kind.__name__, None) is kind:
            fields[kind.__name__] = tuple(kind._fields)
            kept = [encoded(getattr(item, name)) for name in kind._fields]
            marked = tuple(index for index, (_, tagged) in enumerate(kept) if tagged)
            values = tuple(part for part, _ in kept)
            return (cached_config._RECORD, kind.__name__, marked, values), True
        raise _Unkept(kind.__name__)
    kept, tagged = encoded(value)
    if not tagged:
        raise _Unkept(type(value).__name__)
    return kept


def _model():
    from .. import model

    return model


def keep(place, key, entry):
    """Writes the entry (a new file renamed over the old); what cannot be written is not
    kept, silently: the cache only saves time."""
    name = cached_config._name(key)
    temporary = join(place, ".%s.%d" % (name, posix.getpid()))
    try:
        data = marshal.dumps(entry)
        fd = posix.open(temporary, posix.O_WRONLY | posix.O_CREAT | posix.O_EXCL | posix.O_NOFOLLOW
                     | posix.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[posix.write(fd, view):]
        finally:
            posix.close(fd)
        posix.rename(temporary, join(place, name))
        _prune(place)
    except (OSError, ValueError):
        try:
            posix.unlink(temporary)
        except OSError:
            pass


def _prune(place):
    """At most MAX_ENTRIES entries: the least recently written go."""
    entries = []
    for name in posix.listdir(place):
        if name.startswith("config-"):
            try:
                entries.append((posix.lstat(join(place, name)).st_mtime_ns, name))
            except OSError:
                pass
    for _, name in sorted(entries)[:-cached_config.MAX_ENTRIES]:
        try:
            posix.unlink(join(place, name))
        except OSError:
            pass
