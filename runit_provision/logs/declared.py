"""logs: the log sources of declared services — for each unit of the data with a log, its
directory, the tree it belongs to and the stamps the data says its svlogd writes — for every
reader (the ``logs`` verb, ``status``'s lines under a service); and of directories named
without data (``logs --dir``, a logger's directories read from its ``log/run``), each named by
the service it is the log of. Pure: the data in, Sources out (``--dir``'s relative paths
made absolute against the working directory); how a directory is opened is
the caller's (``opener``: root reading a user's logs opens them as apply's FsRoot does, never
following a link the user planted).
"""

from os.path import abspath

from . import Limits
from .view import Source

# The data's log ``timestamps`` → the stamps.KINDS a view reads (the same words today: kept as
# a table so that a new word of the data is an error here, not a misread file)
KIND_OF_TIMESTAMPS = {"none": "none", "tai64n": "tai64n", "human": "human", "iso": "iso"}


def sources_of(config, units, opener=None, loggers=None):
    """A Source for each of ``units`` (model.units, with a log) of ``config``, in their order;
    for one the data does not declare (``is_undeclared``: linked by hand), one for each
    directory ``loggers`` ({label: [directory]}, where its log/run's svlogd writes) gives it,
    named by the unit, its stamps found from each file."""
    found = []
    for unit in units:
        if unit.is_undeclared:
            found += [Source(unit.label, directory, tree=unit.login, opener=opener)
                      for directory in (loggers or {}).get(unit.label, ())]
        elif unit.log_dir is not None:
            found.append(Source(unit.label, unit.log_dir, tree=unit.login or unit.for_login,
                                kind=timestamps_of(config, unit), opener=opener,
                                limits=limits_of(config, unit)))
    return found


def timestamps_of(config, unit):
    """The stamps the data says the unit's svlogd writes (None: found out from each file)."""
    if unit.for_login is not None:
        return "human"  # runsvdir-LOGIN's logger: svlogd -tt (render/users.py)
    log = _log_of(config, unit)
    if not log:
        return None
    return KIND_OF_TIMESTAMPS.get(log.timestamps or "human")


def limits_of(config, unit):
    """The bounds a reader of the unit's log keeps to (Limits, logs/__init__.py): the defaults, or its
    svlogd's ``-l`` (line_length) and ``s`` (size) where the data declares them larger — the
    admin's word that its lines and files are that long (None: the defaults)."""
    log = _log_of(config, unit) if unit.for_login is None else None
    if not log or (log.line_length is None and log.size is None):
        return None
    return Limits(log.line_length, log.size)


def _log_of(config, unit):
    """The unit's ``log`` settings in the data (a model Log, or False / None)."""
    services = config.services if unit.login is None else config.users[unit.login].services
    service = services.get(unit.name)
    return None if service is None else service.log


def sources_of_directories(paths, opener=None):
    """A Source for each directory of ``paths`` (``logs --dir``'s, as given), labelled with
    ``service_of_directory``'s name — the path as given where two of them would share one —
    its stamps found from each file. A directory named twice (the same absolute path, however
    written) is one source, its lines shown once; in the order first named.

    >>> [source.label for source in sources_of_directories(["/var/log/web", "/var/log/web/",
    ...                                                     "/etc/sv/db/log/main"])]
    ['web', 'db']
    """
    directories = {}  # {absolute path: the path as given}
    for path in paths:
        directories.setdefault(abspath(path), path)
    names = {path: service_of_directory(path) for path in directories}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return [Source(given if names[path] in shared else names[path], path.rstrip("/") or "/",
                   opener=opener)
            for path, given in directories.items()]


def service_of_directory(path):
    """The service an absolute log directory is the log of, by the places a runit logger
    writes: ``…/NAME/log/main`` and ``…/NAME/log`` (in the service's own ``log/``), else the
    directory's own name (``/var/log/NAME``: runit-provision's ``log_dir/NAME``, and most
    distributions' packages).

    >>> [service_of_directory(path) for path in ("/var/log/web", "/etc/sv/web/log/main",
    ...                                          "/etc/sv/db/log/", "/home/al/logs/app", "/")]
    ['web', 'web', 'db', 'app', '/']
    """
    parts = [part for part in path.split("/") if part]
    if parts[-2:-1] == ["log"] and parts[-1] == "main" and len(parts) > 2:
        return parts[-3]
    if parts[-1:] == ["log"] and len(parts) > 1:
        return parts[-2]
    return parts[-1] if parts else "/"
