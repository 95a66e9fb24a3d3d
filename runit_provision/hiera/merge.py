"""hiera: Puppet's merge behaviours (``first``, ``unique``, ``hash``, ``deep``), with origins.

Every value here travels with its origins: ``(value, origins)`` where ``origins`` maps key
paths *relative to that value* to ``source.Origin`` (``()`` is the value's own key or item).
The rules are Puppet 7's ``Puppet::Pops::MergeStrategy`` and the ``deep_merge`` gem it calls
(``DeepMerge.deep_merge!(higher, lower)`` with ``preserve_unmergeables: false``), including
their quirks, because data written for Puppet must mean the same here:

- ``unique``: arrays are flattened, a scalar counts as a one-element array, duplicates go (the
  first occurrence stays); the result is always an array once a value was found.
- ``hash``: top-level keys only; the lower level's key order, then the higher level's new keys.
- ``deep``: hashes merge key by key; arrays are unioned (lower level's items first), or merged
  item by item with ``merge_hash_arrays`` when both hold only hashes; a ``~`` (nil) value never
  overrides; a nil or ``false`` lower value is replaced whole. With ``knockout_prefix`` (say
  ``--``): an array item ``--x`` removes ``x``, an item ``--`` alone empties the inherited
  array, and a string ``--anything`` replaces the inherited value by ``""`` — a *hash key*
  ``--name`` is not special (the gem removed that), so inherited hash entries cannot be deleted.
  A value found at a single level is returned untouched (its ``--`` items included), as Puppet
  does; a key new to the merge is merged with a copy of itself, which drops knockout items and
  duplicate array items.
"""

import re

from ..errors import DataError
from .annotated import children_of, items_of, joined, joined_list

STRATEGIES = ("first", "unique", "hash", "deep")
DEEP_OPTIONS = ("knockout_prefix", "sort_merged_arrays", "merge_hash_arrays", "merge_debug")
NOT_FOUND = object()


class MergeStrategy:
    """One merge behaviour and its options, as ``lookup_options`` or ``--merge`` give it."""

    def __init__(self, name, options=None):
        self.name = name
        self.options = dict(options or {})
        prefix = self.options.get("knockout_prefix")
        self.knockout = prefix if prefix else None
        self.sort_arrays = bool(self.options.get("sort_merged_arrays"))
        self.hash_arrays = bool(self.options.get("merge_hash_arrays"))

    def describe(self):
        if not self.options:
            return self.name
        return "%s (%s)" % (self.name, ", ".join(
            "%s: %s" % item for item in sorted(self.options.items())))

    # Puppet's MergeStrategy#lookup over a list of variants (levels, paths, layers).
    def combine(self, thunks):
        """Merge what each thunk finds (``NOT_FOUND`` when it finds nothing)."""
        if self.name == "first":
            for thunk in thunks:
                found = thunk()
                if found is not NOT_FOUND:
                    return found
            return NOT_FOUND
        if len(thunks) == 1:
            found = thunks[0]()
            return found if found is NOT_FOUND else self._single(found)
        memo = NOT_FOUND
        for thunk in thunks:
            found = thunk()
            if found is NOT_FOUND:
                continue
            memo = self._convert(found) if memo is NOT_FOUND else self._merge(memo, found)
        return memo

    def _single(self, found):
        if self.name == "unique" and isinstance(found[0], list):
            return _union([], items_of(found), found[1].get(()))
        return found

    def _convert(self, found):
        if self.name == "unique":
            return _as_unique(found)
        return found

    def _merge(self, higher, lower):
        if self.name == "unique":
            _check_unique(higher)
            _check_unique(lower)
            return _union(items_of(_as_unique(higher)), items_of(_as_unique(lower)),
                          higher[1].get(()) or lower[1].get(()))
        if self.name == "hash":
            for value, origins in (higher, lower):
                if not isinstance(value, dict):
                    raise DataError("%s: a 'hash' merge needs hashes, got %s"
                                    % (origins.get(()), type(value).__name__))
            return _hash_merge(higher, lower)
        return self.deep(higher, lower)

    # DeepMerge.deep_merge!(source=higher, dest=lower)
    def deep(self, source, dest):
        src, src_origins = source
        dst, dst_origins = dest
        if src is None:
            return dest
        if dst is None or dst is False:
            return source
        if isinstance(src, dict):
            if not isinstance(dst, dict):
                return dest if not src else source
            children = children_of(dst_origins)
            src_children = children_of(src_origins)
            merged = dict(dst)
            for key, value in src.items():
                pair = (value, src_children.get(key, {}))
                if merged.get(key) is not None and merged.get(key) is not False:
                    merged[key], children[key] = self.deep(
                        pair, (merged[key], children.get(key, {})))
                else:
                    merged[key], children[key] = self.deep(pair, _copy(pair))
            return merged, joined(src_origins.get(()) or dst_origins.get(()), children)
        if isinstance(src, list):
            return self._deep_list(source, dest)
        return self._overwrite(source, dest)

    def _deep_list(self, source, dest):
        src = items_of(source)
        dst = dest
        if self.knockout is not None and any(_same(value, self.knockout) for value, _ in src):
            dst = _cleared(dest)
            src = [item for item in src if not _same(item[0], self.knockout)]
        if not isinstance(dst[0], list):
            return self._overwrite((None, source[1]), dst, items=src)
        dst_items = items_of(dst)
        if self.knockout is not None:
            kept = []
            for item in src:
                stripped = _strip(item[0], self.knockout)
                if stripped is item[0]:
                    kept.append(item)
                    continue
                dst_items = [other for other in dst_items
                             if not (_same(other[0], stripped) or _same(other[0], item[0]))]
            src = kept
        if (self.hash_arrays and all(isinstance(v, dict) for v, _ in src)
                and all(isinstance(v, dict) for v, _ in dst_items)):
            merged = [self.deep(src[index] if index < len(src) else ({}, {}), item)
                      for index, item in enumerate(dst_items)]
            merged += src[len(dst_items):]
        else:
            merged = _union_items(dst_items, src)
        if self.sort_arrays:
            try:
                merged.sort(key=lambda item: item[0])
            except TypeError as exc:
                raise DataError("sort_merged_arrays cannot sort %r" % (
                    [value for value, _ in merged],)) from exc
        return joined_list(source[1].get(()) or dest[1].get(()), merged)

    def _overwrite(self, source, dest, items=None):
        """deep_merge's overwrite_unmergeables: the higher value wins, knockouts applied."""
        src, src_origins = source
        if items is not None:  # an array over a non-array
            if self.knockout is not None:
                items = [item for item in items if not (
                    isinstance(item[0], str) and _starts(item[0], self.knockout))]
            return joined_list(src_origins.get(()), items)
        if self.knockout is not None and isinstance(src, str):
            if _strip(src, self.knockout) is not src:
                return "", {(): src_origins[()]} if () in src_origins else {}
        return source


def strategy_from(spec, where="merge"):
    """A ``MergeStrategy`` from ``"deep"`` or ``{"strategy": "deep", …options}``."""
    if isinstance(spec, MergeStrategy):
        return spec
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, dict):
        name = spec.get("strategy")
        options = {k: v for k, v in spec.items() if k != "strategy"}
        if not isinstance(name, str):
            raise DataError("%s: a merge hash needs 'strategy' (one of %s)"
                            % (where, ", ".join(STRATEGIES)))
    else:
        raise DataError("%s: merge must be a strategy name or a hash, not %r" % (where, spec))
    if name not in STRATEGIES:
        raise DataError("%s: unknown merge strategy %r (one of %s)"
                        % (where, name, ", ".join(STRATEGIES)))
    allowed = DEEP_OPTIONS if name == "deep" else ()
    for option, value in options.items():
        if option not in allowed:
            raise DataError("%s: merge option %r is not valid for strategy %r"
                            % (where, option, name))
        if option == "knockout_prefix" and not (value is None or isinstance(value, str)):
            raise DataError("%s: knockout_prefix must be a string" % where)
        if option != "knockout_prefix" and not (value is None or isinstance(value, bool)):
            raise DataError("%s: %s must be true or false" % (where, option))
    return MergeStrategy(name, options)


def _check_unique(found):
    if isinstance(found[0], dict):
        raise DataError("%s: a 'unique' merge needs scalars or arrays, got a hash"
                        % (found[1].get(()),))


def _as_unique(found):
    value, origins = found
    if isinstance(value, list):
        return joined_list(origins.get(()), _flatten(items_of(found)))
    return joined_list(origins.get(()), [(value, origins)])


def _flatten(items):
    flat = []
    for item in items:
        if isinstance(item[0], list):
            flat.extend(_flatten(items_of(item)))
        else:
            flat.append(item)
    return flat


def _union(first, second, origin=None):
    """Ruby's ``a | b`` on annotated items, as an annotated list."""
    return joined_list(origin, _union_items(first, second))


def _union_items(first, second):
    seen = set()
    items = []
    for item in list(first) + list(second):
        ident = _ident(item[0])
        if ident not in seen:
            seen.add(ident)
            items.append(item)
    return items


def _hash_merge(higher, lower):
    children = children_of(lower[1])
    children.update(children_of(higher[1]))
    merged = dict(lower[0])
    merged.update(higher[0])
    return merged, joined(higher[1].get(()) or lower[1].get(()),
                         {key: children.get(key, {}) for key in merged})


def _ident(value):
    """A hashable identity with Ruby's ``eql?`` meaning: 1, 1.0 and true stay distinct."""
    if isinstance(value, dict):
        return ("h", frozenset((_ident(k), _ident(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("a", tuple(_ident(v) for v in value))
    return (type(value).__name__, value)


def _same(value, other):
    return _ident(value) == _ident(other)


def _starts(text, prefix):
    """Ruby's ``/^prefix/`` matches at the start of any line."""
    return re.search("^" + re.escape(prefix), text, re.M) is not None


def _strip(value, prefix):
    """``value`` with ``^prefix`` removed (Ruby gsub, every line); the same object if none."""
    if not isinstance(value, str):
        return value
    stripped = re.sub("^" + re.escape(prefix), "", value, flags=re.M)
    return value if stripped == value else stripped


def _cleared(found):
    value, origins = found
    keep = {(): origins[()]} if () in origins else {}
    if isinstance(value, (list, dict, str)):
        return type(value)(), keep
    return None, keep


def _copy(found):
    value, origins = found
    if isinstance(value, dict):
        return dict(value), origins
    if isinstance(value, list):
        return list(value), origins
    return found
