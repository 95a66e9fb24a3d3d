"""importing: the imported services merged into an existing hiera data file, the rest of it
kept byte for byte — ``import --into FILE``.

PyYAML reads values and forgets the rest; an operator's data file is comments, key order,
quoting and layout too. ruamel.yaml's round-trip mode keeps them (the one package that does,
and an optional one: ``pip install runit-provision[import]``, imported only here). To be sure
of "byte for byte", the file is first loaded and dumped unchanged: a file that does not come
back identical (a layout ruamel would rewrite) is refused, and the operator imports to
``--out`` and merges by hand.

Either spelling: ``runit: {services: …}`` or ``runit::services``, as the file already has it
(``spelling`` when it has neither). A service (or a user) that the file already has is
refused, named, unless ``replace``; a tree setting that differs from the import's is refused.
"""

import io

from ..shown import shown_name
from .emit import escaped, service_comment


class MergeError(ValueError):
    """Why the merge was refused; nothing is written."""


def merge(text, settings_data, services, users, spelling, replace=False):
    """``text`` (the file's) with the imported services, users and settings added: the new
    text. ``services`` [(name, data, notes)]; ``users`` [(login, entry, notes, services)]."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.util import load_yaml_guess_indent
    except ImportError:
        raise MergeError("--into needs ruamel.yaml (pip install 'runit-provision[import]'); "
                         "or write to --out and merge by hand") from None
    _, indent, block_indent = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=block_indent or 2, sequence=indent or 2, offset=block_indent or 0)
    yaml.explicit_start = text.lstrip("\ufeff").startswith("---")
    document = yaml.load(text)
    if _dumped(yaml, document) != text:
        raise MergeError("the file would not come back byte for byte through ruamel.yaml (its "
                         "layout): import to --out and merge by hand")
    if document is None:
        raise MergeError("the file is empty: import to --out instead")
    place = _place(document, spelling)
    problems = []
    _settings(place, settings_data, problems)
    _add(place, "services", [(name, data, service_comment(name, notes))
                             for name, data, notes in services], replace, problems, yaml)
    _add(place, "users", [(login, dict(entry, services={
        name: data for name, data, _notes in members}), ["%s: a user's tree" % login])
                          for login, entry, _notes, members in users], replace, problems, yaml)
    if problems:
        raise MergeError("; ".join(problems))
    return _dumped(yaml, document)


class _Place:
    """Where a key goes: the ``runit`` hash, or the top level with ``runit::`` names."""

    def __init__(self, mapping, prefix, indent):
        self.mapping, self.prefix, self.indent = mapping, prefix, indent

    def get(self, key):
        return self.mapping.get(self.prefix + key)

    def set(self, key, value):
        self.mapping[self.prefix + key] = value


def _place(document, spelling):
    from ruamel.yaml.comments import CommentedMap
    if not isinstance(document, dict):
        raise MergeError("the file is not a hash of keys")
    if isinstance(document.get("runit"), dict):
        return _Place(document["runit"], "", 2)
    if any(str(key).startswith("runit::") for key in document) or spelling == "params":
        return _Place(document, "runit::", 0)
    document["runit"] = CommentedMap()
    return _Place(document["runit"], "", 2)


def _settings(place, settings_data, problems):
    for key, value in settings_data.items():
        have = place.get(key)
        if have is None:
            place.set(key, value)
        elif have != value:
            problems.append("%s is %s in the file, %s in what was imported" % (key, have, value))


def _add(place, key, items, replace, problems, yaml):
    from ruamel.yaml.comments import CommentedMap
    if not items:
        return
    target = place.get(key)
    if target is None:
        target = CommentedMap()
        place.set(key, target)
    if not isinstance(target, dict):
        problems.append("%s in the file is not a hash" % key)
        return
    for name, data, lines in items:
        if name in target and not replace:
            problems.append("%s %s is in the file already (--replace to replace it)"
                            % (key[:-1], name))
            continue
        target[name] = _round_trip_value(escaped(data))
        # each line of the comment escaped: it names what was found on the host (emit.comment)
        target.yaml_set_comment_before_after_key(
            name, before="\n".join(shown_name(line) for line in lines), indent=place.indent + 2)


def _round_trip_value(value):
    """``value`` with multi-line strings as literal blocks (``|``), as emit writes them."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.scalarstring import LiteralScalarString
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _round_trip_value(item)
        return out
    if isinstance(value, list):
        return [_round_trip_value(item) for item in value]
    return value


def _dumped(yaml, document):
    out = io.StringIO()
    yaml.dump(document, out)
    return out.getvalue()
