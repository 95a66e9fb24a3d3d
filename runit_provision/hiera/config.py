"""hiera: a ``hiera.yaml`` version 5 file -> the ordered levels and data files to search.

Supported, with Puppet's meaning: ``defaults.datadir`` (default ``data``, relative to the
hiera.yaml's directory) and ``defaults.data_hash``; ``hierarchy[]`` entries with ``name``
(required, unique), ``data_hash``, ``datadir`` and exactly one of ``path``, ``paths``,
``glob``, ``globs``; ``%{…}`` in paths, globs and datadirs. Only the ``yaml_data`` backend is
read (``json_data``, ``eyaml_lookup_key``, ``lookup_key``, ``data_dig``, ``uri``,
``mapped_paths`` and hiera 3 backends are DataErrors naming the line), and ``options`` is
accepted and ignored as ``yaml_data`` takes none. Globs follow Ruby's ``Dir.glob``: ``*``,
``?``, ``[…]``, ``**/`` and ``{a,b}``; matches are sorted, directories skipped.
"""

import os
import re
import stat

from ..errors import DataError
from ..source import Origin, data_file_stat, key_path_text, load_yaml_with_origins, type_name

LOCATION_KEYS = ("path", "paths", "glob", "globs")
UNSUPPORTED = ("lookup_key", "data_dig", "hiera3_backend", "v4_data_hash", "uri", "uris",
               "mapped_paths")
ENTRY_KEYS = ("name", "data_hash", "datadir", "options") + LOCATION_KEYS + UNSUPPORTED
DEFAULTS_KEYS = ("datadir", "data_hash", "options", "lookup_key", "data_dig")


class Location:
    """One data file a level may read: as declared, as resolved, and whether it exists."""

    def __init__(self, original, path, exists):
        self.original = original
        self.path = path
        self.exists = exists


class Level:
    """One hierarchy entry: its name, where it is declared, its resolved locations and, for
    a glob level, its patterns as resolved (``globs``)."""

    def __init__(self, name, origin, locations, globs=()):
        self.name = name
        self.origin = origin
        self.locations = locations
        self.globs = globs


def single_file_levels(path):
    """``--data FILE``: one level, one file."""
    path = os.path.abspath(str(path))
    found = data_file_stat(path)
    if found is None:
        raise DataError("%s: no such data file" % path)
    if not stat.S_ISREG(found.st_mode):
        raise DataError("%s: not a data file: not a regular file" % path)
    return [Level("data", Origin(path, 1, 1), [Location(path, path, True)])]


def read_levels(config_path, interpolator):
    """The levels of a hiera.yaml, with every path interpolated and resolved."""
    config_path = os.path.abspath(str(config_path))
    config, origins = load_yaml_with_origins(config_path)

    def fail(path, message):
        where = origins.get(path) or origins.get(path[:-1]) or Origin(config_path, 1, 1)
        return DataError("%s: %s: %s" % (where, key_path_text(path), message))

    if not isinstance(config, dict):
        raise DataError("%s: hiera.yaml must be a hash, not %s"
                        % (Origin(config_path, 1, 1), type_name(config)))
    if config.get("version") != 5:
        raise fail(("version",), "only hiera.yaml version 5 is supported (got %r)"
                   % (config.get("version"),))
    for key in config:
        if key not in ("version", "defaults", "hierarchy", "plan_hierarchy"):
            raise fail((key,), "unknown hiera.yaml key %r" % (key,))
    defaults = config.get("defaults")
    if defaults is None:
        defaults = {"datadir": "data", "data_hash": "yaml_data"}
    if not isinstance(defaults, dict):
        raise fail(("defaults",), "must be a hash")
    for key in defaults:
        if key not in DEFAULTS_KEYS:
            raise fail(("defaults", key), "unknown key %r" % (key,))
        if key in ("lookup_key", "data_dig"):
            raise fail(("defaults", key), "only data_hash: yaml_data is supported")
    _check_backend(defaults.get("data_hash"), ("defaults", "data_hash"), fail)
    hierarchy = config.get("hierarchy")
    if hierarchy is None:
        hierarchy = [{"name": "Common", "path": "common.yaml"}]
    if not isinstance(hierarchy, list):
        raise fail(("hierarchy",), "must be a list of entries")
    root = os.path.dirname(config_path)
    default_datadir = defaults.get("datadir") or "data"
    names = {}
    levels = []
    for index, entry in enumerate(hierarchy):
        at = ("hierarchy", index)
        if not isinstance(entry, dict):
            raise fail(at, "a hierarchy entry must be a hash")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise fail(at, "every hierarchy entry needs a name")
        if name in names:
            raise fail(at + ("name",), "hierarchy name %r is also used at %s"
                       % (name, names[name]))
        names[name] = origins.get(at + ("name",))
        for key in entry:
            if key not in ENTRY_KEYS:
                raise fail(at + (key,), "unknown hierarchy key %r" % (key,))
            if key in UNSUPPORTED:
                raise fail(at + (key,), "%r is not supported (only data_hash: yaml_data with "
                           "path, paths, glob or globs)" % (key,))
        _check_backend(entry.get("data_hash"), at + ("data_hash",), fail)
        if "data_hash" not in entry and "data_hash" not in defaults:
            raise fail(at, "hierarchy entry %r has no data provider: set data_hash: "
                       "yaml_data here or under defaults" % name)
        kinds = [key for key in LOCATION_KEYS if key in entry]
        if len(kinds) != 1:
            raise fail(at, "hierarchy entry %r needs exactly one of path, paths, glob, globs"
                       % name)
        kind = kinds[0]
        datadir_key = at + ("datadir",) if "datadir" in entry else ("defaults", "datadir")
        datadir = entry.get("datadir", default_datadir)
        datadir = interpolator.text(str(datadir), origins.get(datadir_key), datadir_key)
        datadir = os.path.join(root, datadir)
        declared = entry[kind] if kind in ("paths", "globs") else [entry[kind]]
        if not isinstance(declared, list) or not declared or not all(
                isinstance(item, str) and item for item in declared):
            raise fail(at + (kind,), "must be a non-empty string%s"
                       % (" or a list of them" if kind in ("paths", "globs") else ""))
        locations, globs = [], []
        for number, original in enumerate(declared):
            path_key = at + (kind, number) if kind in ("paths", "globs") else at + (kind,)
            text = interpolator.text(original, origins.get(path_key), path_key)
            if kind in ("glob", "globs"):
                globs.append(os.path.join(datadir, text))
                locations.extend(Location(original, found, True)
                                 for found in expand_glob(globs[-1]))
            else:
                full = os.path.normpath(os.path.join(datadir, text))
                locations.append(Location(original, full, _is_data_file(full)))
        levels.append(Level(name, origins.get(at), locations, globs))
    return levels


def _check_backend(name, path, fail):
    if name is not None and name != "yaml_data":
        raise fail(path, "only data_hash: yaml_data is supported (got %r)" % (name,))


def _is_data_file(path):
    """Whether a level's path holds a data file: a regular file (none there: not found, as
    Puppet's ``yaml_data``); DataError when it cannot be told (a directory that may not be
    searched), never a file passed over as missing."""
    found = data_file_stat(path)
    return found is not None and stat.S_ISREG(found.st_mode)


def expand_glob(pattern):
    """Ruby's ``Pathname.glob``: braces expanded, each alternative's matches sorted, no dirs."""
    import glob as globbing  # only hierarchies with glob levels need it

    found = []
    for alternative in _braces(pattern):
        for path in sorted(globbing.glob(alternative, recursive=True)):
            if not os.path.isdir(path) and path not in found:
                found.append(os.path.normpath(path))
    return found


def _braces(pattern):
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    expanded = []
    for choice in match.group(1).split(","):
        expanded.extend(_braces(pattern[:match.start()] + choice + pattern[match.end():]))
    return expanded
