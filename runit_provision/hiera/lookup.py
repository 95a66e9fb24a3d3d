"""hiera: looking a key up through the levels, merged as lookup_options or the caller says.

Puppet's order of work, kept: ``lookup_options`` is itself looked up first (a ``hash`` merge of
every level's ``lookup_options``; an entry applies to a key by its exact root key, else by the
first ``^regexp`` key that matches); each level's found value is interpolated before merging;
values merge within a level's paths first, then across levels, then across Puppet's three
layers (of which only the global one exists here) — the nesting matters for ``unique`` and for
the knockouts of ``deep``. A dotted key (``runit::services.web``) merges the root key, then digs.
"""

import re

from ..errors import DataError
from ..source import Origin, load_yaml_with_origins, type_name
from .annotated import under
from .interpolation import split_key
from .merge import NOT_FOUND, strategy_from
from .spellings import runit_data

LOOKUP_OPTIONS = "lookup_options"
PREFIX = "runit::"  # the data format's keys (spellings.py): the other spelling is runit.NAME


class Lookup:
    """What a lookup found.

    ``found`` (bool), ``value`` (plain data; None when not found), ``origins`` ({key path
    relative to ``value``: Origin}, ``()`` being the key that gave it), ``merge`` (the
    strategy's description) and ``explain`` (lines in the manner of ``puppet lookup
    --explain``).
    """

    def __init__(self, key, found, value, origins, merge, explain):
        self.key = key
        self.found = found
        self.value = value
        self.origins = origins
        self.merge = merge
        self.explain = explain

    def __repr__(self):
        return "Lookup(%r, found=%r, value=%r)" % (self.key, self.found, self.value)


class Hiera:
    """Data resolved like Puppet's hiera 5 for one set of facts. Build it with ``load()``."""

    def __init__(self, levels, interpolator, description):
        self.levels = levels
        self.interpolator = interpolator
        self.description = description
        self._files = {}
        self._options = None
        self._active = []
        interpolator.lookup = self._interpolated_lookup

    # public

    def lookup(self, key, merge=None, explain=True):
        """Look ``key`` up; ``merge`` overrides lookup_options (a name or an options hash).
        ``explain=False``: no explanation (``Lookup.explain`` is empty) — its lines show the
        data found as JSON, a dump of the whole value at each level."""
        lines = [] if explain else _Dropped()
        used = []
        found = self._lookup(key, merge, lines, used)
        merge_text = used[0] if used else ""
        explain = lines if explain else []
        if found is NOT_FOUND:
            return Lookup(key, False, None, {}, merge_text, explain)
        value, origins = found
        return Lookup(key, True, value, origins, merge_text, explain)

    def keys(self):
        """Every root key of every existing data file, in hierarchy order (lookup_options out)."""
        seen = []
        for level in self.levels:
            for location in level.locations:
                if location.exists:
                    for key in self._file(location.path)[0]:
                        if key != LOOKUP_OPTIONS and key not in seen:
                            seen.append(key)
        return seen

    def close_keys(self, key):
        """The keys the data holds that are closest to ``key`` (found nowhere), for a "did you
        mean": for a dotted key whose root is found, the same key with the part where the
        digging stopped replaced by a key there; else the data files' root keys, and for
        ``runit::NAME`` the other spelling's ``runit.NAME``. Names are compared without the
        namespace they share (``runit::``), each way (``difflib``'s ratio is not symmetric),
        and only those as close as the closest are kept. Written as typed (no quoting of a
        key holding a dot): a hint for a typo."""
        try:
            segments = split_key(key)
        except ValueError:
            return []
        found = self._lookup(segments[0], None, _Dropped())
        if found is not NOT_FOUND and len(segments) > 1:
            value, done = found[0], 1
            while done < len(segments) and _has(value, segments[done]):
                value, done = value[segments[done]], done + 1
            if not isinstance(value, dict) or done == len(segments):
                return []
            head, typed, rest = segments[:done], str(segments[done]), segments[done + 1:]
            names = {str(name): _joined(head + [name] + rest) for name in value}
        elif found is NOT_FOUND:
            typed, rest = str(segments[0]), segments[1:]
            if typed == "runit" and rest:  # runit.NAME, with the data in runit::NAME keys
                typed, rest = PREFIX + str(rest[0]), rest[1:]
            names = {name: _joined([name] + rest) for name in self.keys()
                     if isinstance(name, str)}
            legacy = self._lookup("runit", None, _Dropped())
            if typed.startswith(PREFIX) and legacy is not NOT_FOUND \
                    and isinstance(legacy[0], dict):
                names.update((PREFIX + str(name), _joined(["runit", name] + rest))
                             for name in legacy[0])
            names = {_unprefixed(name, typed): form for name, form in names.items()}
            typed = _unprefixed(typed, typed)
        else:
            return []
        return [names[name] for name in _closest(typed, names)]

    def runit_data(self):
        """The runit configuration of both spellings as one dict, and its origins."""
        return runit_data(self)

    # lookups

    def _lookup(self, key, merge, explain, used=None):
        if not isinstance(key, str) or not key:
            raise DataError("a lookup key must be a non-empty string, not %r" % (key,))
        try:
            segments = split_key(key)
        except ValueError as exc:
            raise DataError("%s in lookup key" % exc) from exc
        root = segments[0]
        if root == LOOKUP_OPTIONS or str(root).startswith(LOOKUP_OPTIONS + "."):
            explain.append("%r is reserved for merge options and never found as data" % key)
            return NOT_FOUND
        if merge is None:
            options = self._options_for(root, explain)
            merge = options.get("merge") if options else None
            source = "lookup_options"
        else:
            source = "the caller"
        strategy = strategy_from(merge if merge is not None else "first",
                                 "merge for %r (from %s)" % (key, source))
        if used is not None:
            used.append(strategy.describe())
        explain.append("Searching for %r, merge %s (from %s)" % (
            key, strategy.describe(), source if merge is not None else "default"))
        found = self._search(root, strategy, explain)
        if found is NOT_FOUND:
            explain.append("  not found")
            return NOT_FOUND
        if len(segments) > 1:
            found = under(found, segments[1:])
            if found is None:
                explain.append("  sub-key %s not found" % ".".join(map(str, segments[1:])))
                return NOT_FOUND
        _note_value(explain, "  Merged result: %s", (), found[0])
        return found

    def _search(self, root, strategy, explain):
        def level_thunk(level):
            def search_level():
                explain.append("  Hierarchy entry %r" % level.name)
                return strategy.combine([location_thunk(location)
                                         for location in level.locations]) \
                    if level.locations else _nothing(explain)
            return search_level

        def location_thunk(location):
            def search_location():
                explain.append("    Path %r" % location.path)
                if location.original != location.path:
                    explain.append("      Original path: %r" % location.original)
                if not location.exists:
                    explain.append("      Path not found")
                    return NOT_FOUND
                data, origins = self._file(location.path)
                if root not in data:
                    explain.append("      No such key: %r" % root)
                    return NOT_FOUND
                found = self.interpolator.value((data[root], origins[root]), key_path=(root,))
                _note_value(explain, "      Found key: %r value: %s", (root,), found[0])
                return found
            return search_location

        merged = strategy.combine([level_thunk(level) for level in self.levels])
        if merged is NOT_FOUND:
            return merged
        # Puppet's outer layer: global, environment, module — only global has data here.
        return strategy.combine([lambda: merged, lambda: NOT_FOUND, lambda: NOT_FOUND])

    def _options_for(self, root, explain):
        if self._options is None:
            self._options = ({}, {})  # while lookup_options itself is being interpolated
            found = self._search(LOOKUP_OPTIONS, strategy_from("hash"), [])
            self._options = ({}, {}) if found is NOT_FOUND else found
            if not isinstance(self._options[0], dict):
                raise DataError("%s: lookup_options must be a hash"
                                % self._options[1].get(()))
        options, origins = self._options
        entry = options.get(root)
        name = root
        if entry is None:
            for pattern in options:
                if isinstance(pattern, str) and pattern.startswith("^"):
                    try:
                        matched = re.search(pattern, str(root))
                    except re.error as exc:
                        raise DataError("%s: lookup_options pattern %r: %s" % (
                            origins.get((pattern,)), pattern, exc)) from exc
                    if matched:
                        entry, name = options[pattern], pattern
                        break
        if entry is None:
            return None
        if not isinstance(entry, dict):
            raise DataError("%s: lookup_options.%s must be a hash" % (
                origins.get((name,)), name))
        explain.append("Using lookup_options %r from %s" % (name, origins.get((name,))))
        if "merge" in entry:
            strategy_from(entry["merge"], "%s: lookup_options.%s.merge" % (
                origins.get((name, "merge")), name))
        return entry

    def _interpolated_lookup(self, key):
        if key in self._active:
            raise DataError("recursive lookup: %s" % " -> ".join(self._active + [key]))
        self._active.append(key)
        try:
            found = self._lookup(key, None, _Dropped())
        finally:
            self._active.pop()
        return None if found is NOT_FOUND else found

    def _file(self, path):
        """``(data, {root key: origins relative to its value})`` of one data file, cached."""
        cached = self._files.get(path)
        if cached is None:
            data, origins = load_yaml_with_origins(path)
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise DataError("%s: a data file must be a hash of keys to values, not %s"
                                % (Origin(path, 1, 1), type_name(data)))
            by_key = {key: {} for key in data}
            for key_path, origin in origins.items():
                if key_path:
                    by_key[key_path[0]][key_path[1:]] = origin
            cached = self._files[path] = (data, by_key)
        return cached


def _has(value, part):
    """Whether ``part`` (a key or an index) digs one step into ``value``."""
    if isinstance(value, dict):
        return part in value
    return isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)


def _joined(segments):
    return ".".join(str(segment) for segment in segments)


def _unprefixed(name, typed):
    """``name`` without the ``NAMESPACE::`` it shares with ``typed``."""
    space = typed.rpartition("::")[0]
    return name[len(space) + 2:] if space and name.startswith(space + "::") else name


def _closest(typed, names, cutoff=0.6, margin=0.1):
    """The names closest to ``typed``: scored by difflib's ratio taken both ways, at least
    ``cutoff`` and within ``margin`` of the best, best first.

    >>> _closest("servces", ["services", "users", "service_dir"]), _closest("wbe", ["web", "db"])
    (['services'], ['web'])
    """
    import difflib  # only for a key not found

    scored = sorted(((max(difflib.SequenceMatcher(None, typed, name).ratio(),
                          difflib.SequenceMatcher(None, name, typed).ratio()), name)
                     for name in names), key=lambda item: -item[0])
    if not scored or scored[0][0] < cutoff:
        return []
    return [name for score, name in scored[:3] if score >= max(cutoff, scored[0][0] - margin)]


def _shown(value):
    """A value in an explanation: JSON, as puppet's explain shows data."""
    import json  # here: only an explanation (lookup --explain) loads it

    return json.dumps(value, ensure_ascii=False, default=str)


class _Dropped(list):
    """The explanation of a lookup nobody reads: its lines go nowhere."""

    __slots__ = ()

    def append(self, line):
        pass


def _note_value(explain, text, args, value):
    """``text % (args + (JSON of value,))`` into ``explain``, the JSON made only if the
    line is kept."""
    if type(explain) is not _Dropped:
        explain.append(text % (args + (_shown(value),)))


def _nothing(explain):
    explain.append("    (no data files matched)")
    return NOT_FOUND
