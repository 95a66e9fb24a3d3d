"""hiera: ``%{…}`` interpolation in hiera.yaml paths and in data, as Puppet's hiera 5 does it.

Forms: ``%{facts.os.family}`` (dotted into structured facts; ``"quoted.segments"`` and array
indexes as Puppet's ``split_key``), ``%{::osfamily}`` / ``%{osfamily}`` (a top-scope fact),
``%{trusted.certname}``, ``%{}`` and ``%{::}`` (nothing), and in data only the methods
``%{lookup('key')}`` / ``%{hiera('key')}`` (another key's value as text), ``%{alias('key')}``
(another key's value of any type — the whole string must be the alias),
``%{literal('%')}`` and ``%{scope('var')}``.

Deliberate differences from Puppet, all errors where Puppet silently yields ``""``: an unknown
fact or variable, a missing sub-key of a fact, and a ``lookup()`` of a key with no value are
``DataError``s naming file:line:col and the key path; a hash or array interpolated into a
string is an error too (Puppet writes Ruby's inspect text).
"""

import re

from ..errors import DataError
from ..source import key_path_text
from .annotated import children_of, joined

_EXPRESSION = re.compile(r"%\{([^}]*)\}")
_METHOD = re.compile(r"""^(\w+)\((?:"([^"]+)"|'([^']+)')\)$""")
_EMPTY = ('', '::', '""', "''", '"::"', "'::'")
_SEGMENTS = re.compile(r"""(\s*"[^"]+"\s*|\s*'[^']+'\s*|[^'".]+)""")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def split_key(key):
    """Puppet's SubLookup#split_key: ``'a.b."c.d".0'`` -> ``["a", "b", "c.d", 0]``."""
    if not re.search(r"""['".]""", key):
        return [key]
    parts = _SEGMENTS.split(key)
    while parts and parts[-1] == "":  # Ruby's String#split drops trailing empty fields
        parts.pop()
    if not parts or parts[0] != "":
        raise ValueError("syntax error in key %r" % key)
    parts = parts[1:]
    count = len(parts)
    segments = [part for part in parts if part != "."]
    if count == 0 or len(segments) * 2 != count + 1:
        raise ValueError("syntax error in key %r" % key)
    result = []
    for segment in segments:
        segment = segment.strip()
        if segment[:1] in ('"', "'"):
            result.append(segment[1:-1])
        elif _INTEGER.match(segment):
            result.append(int(segment))
        else:
            result.append(segment)
    return result


class Interpolator:
    """Resolves ``%{…}`` against a scope (facts, ``facts``, ``trusted``) and a key lookup.

    ``lookup(key)`` returns ``(value, origins)`` or ``None`` when the key has no value; it is
    what ``lookup()``/``hiera()``/``alias()`` call.
    """

    def __init__(self, scope, lookup=None, facts_source="host facts"):
        self.scope = scope
        self.lookup = lookup
        self.facts_source = facts_source

    def text(self, subject, where, key_path=()):
        """A hiera.yaml string (no methods allowed) -> interpolated text."""
        value, _ = self._string(subject, {(): where}, where, key_path, False)
        return value

    def value(self, found, file_path=None, key_path=()):
        """An annotated data value -> the same with every string (and hash key) interpolated."""
        value, origins = found
        if isinstance(value, str):
            if "%{" not in value:
                return found
            return self._string(value, origins, origins.get(()), key_path, True)
        if not _has_expression(value):
            # Nothing below to interpolate: the pair as it is, not a rebuilt copy of the data
            # and its origins (a third of loading 1000 services). Nothing changes data in place.
            return found
        if isinstance(value, list):
            children = children_of(origins)
            items, new_children = [], {}
            for index, item in enumerate(value):
                item, new_children[index] = self.value(
                    (item, children.get(index, {})), file_path, key_path + (index,))
                items.append(item)
            return items, joined(origins.get(()), new_children)
        if isinstance(value, dict):
            children = children_of(origins)
            result, new_children = {}, {}
            for key, item in value.items():
                sub = children.get(key, {})
                new_key = key
                if isinstance(key, str) and "%{" in key:
                    new_key = self._string(key, {(): sub.get(())}, sub.get(()),
                                           key_path + (key,), True)[0]
                result[new_key], new_children[new_key] = self.value(
                    (item, sub), file_path, key_path + (new_key,))
            return result, joined(origins.get(()), new_children)
        return found

    def _fail(self, where, key_path, message):
        place = "%s: " % (where,) if where is not None else ""
        path = "%s: " % key_path_text(key_path) if key_path else ""
        return DataError("%s%s%s" % (place, path, message))

    def _string(self, subject, origins, where, key_path, allow_methods):
        pieces = []
        position = 0
        for match in _EXPRESSION.finditer(subject):
            pieces.append(subject[position:match.start()])
            position = match.end()
            expression = match.group(1).strip()
            if expression in _EMPTY:
                continue
            method = _METHOD.match(expression)
            if method:
                if not allow_methods:
                    raise self._fail(where, key_path, "interpolation methods are not allowed "
                                     "here: %s" % match.group(0))
                name, argument = method.group(1), method.group(2) or method.group(3)
                if name == "alias":
                    if match.group(0) != subject:
                        raise self._fail(where, key_path, "'alias' interpolation is only "
                                         "permitted if the expression is the whole string: %r"
                                         % subject)
                    return self._looked_up(argument, where, key_path, origins)
                if name in ("lookup", "hiera"):
                    value = self._looked_up(argument, where, key_path, origins)[0]
                elif name == "literal":
                    value = argument
                elif name == "scope":
                    value = self._variable(argument, match.group(0), where, key_path)
                else:
                    raise self._fail(where, key_path, "unknown interpolation method %r in %s"
                                     % (name, match.group(0)))
            else:
                value = self._variable(expression, match.group(0), where, key_path)
            pieces.append(self._as_text(value, match.group(0), where, key_path))
        pieces.append(subject[position:])
        return "".join(pieces), origins

    def _looked_up(self, key, where, key_path, origins):
        found = self.lookup(key) if self.lookup is not None else None
        if found is None:
            raise self._fail(where, key_path, "no value for key %r (interpolated from %s)"
                             % (key, where))
        value, found_origins = found
        merged = dict(found_origins)
        if () in origins:
            merged[()] = origins[()]
        return value, merged

    def _variable(self, expression, text, where, key_path):
        try:
            segments = split_key(expression)
        except ValueError as exc:
            raise self._fail(where, key_path, "%s in %s" % (exc, text)) from exc
        root = segments[0]
        if isinstance(root, str) and root.startswith("::"):
            root = root[2:]
        if root not in self.scope:
            raise self._fail(where, key_path, "unknown fact or variable %r in %s (%s)"
                             % (root, text, self.facts_source))
        value = self.scope[root]
        walked = [root]
        for segment in segments[1:]:
            walked.append(str(segment))
            if isinstance(segment, int) and isinstance(value, list):
                value = value[segment] if 0 <= segment < len(value) else _MISSING
            elif isinstance(value, dict) and segment in value:
                value = value[segment]
            else:
                value = _MISSING
            if value is _MISSING:
                raise self._fail(where, key_path, "unknown fact %r in %s (%s)"
                                 % (".".join(walked), text, self.facts_source))
        return value

    def _as_text(self, value, text, where, key_path):
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise self._fail(where, key_path, "%s is a %s, not text"
                         % (text, "hash" if isinstance(value, dict) else "list"))


_MISSING = object()


def _has_expression(value):
    """Whether a string inside ``value`` (a hash key too) has ``%{``, as ``value()`` tests.

    >>> _has_expression({"web": {"env": ["a", {"%{facts.x}": 1}]}}), _has_expression([1, "b"])
    (True, False)
    """
    if isinstance(value, str):
        return "%{" in value
    if isinstance(value, dict):
        for key, item in value.items():
            if (isinstance(key, str) and "%{" in key) or (
                    isinstance(item, (str, list, dict)) and _has_expression(item)):
                return True
        return False
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (str, list, dict)) and _has_expression(item):
                return True
    return False
