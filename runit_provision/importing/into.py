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
A relocation the file lacks (``sv_dir``, ``service_dir``, ``log_dir``) is refused unless
``relocate``: a node's file reaches every service of the node, the ones other levels of the
hierarchy give it included, and each of these settings moves them all. Every key added or
changed is returned, for the operator to read.
"""

import io

from ..shown import shown_name
from .emit import escaped, service_comment


class MergeError(ValueError):
    """Why the merge was refused — ``problems``, one line each; nothing is written."""

    def __init__(self, *problems):
        super().__init__("; ".join(problems))
        self.problems = problems


# The settings that move what every service of the node has: added only when asked.
RELOCATIONS = {
    "sv_dir": "every service directory of the node would move there",
    "service_dir": "every service of the node would be enabled there instead",
    "log_dir": "the logs of every service of the node without a log dir of its own would "
               "move there",
}


def merge(text, settings_data, services, users, spelling, replace=False, relocate=False):
    """``(new text, said)``: ``text`` (the file's) with the imported services, users and
    settings added, and a line for every top-level key added or changed (``added
    runit.sv_dir: /srv/sv``, ``changed runit.services: added web; replaced cron``).
    ``services`` [(name, data, notes)]; ``users`` [(login, entry, notes, services)]."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError
        from ruamel.yaml.util import load_yaml_guess_indent
    except ImportError:
        raise MergeError("--into needs ruamel.yaml (pip install 'runit-provision[import]'); "
                         "or write to --out and merge by hand") from None
    try:
        _, indent, block_indent = load_yaml_guess_indent(text)
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(mapping=block_indent or 2, sequence=indent or 2, offset=block_indent or 0)
        yaml.explicit_start = text.lstrip("\ufeff").startswith("---")
        document = yaml.load(text)
    except YAMLError as exc:  # what PyYAML reads and ruamel.yaml does not
        raise MergeError("ruamel.yaml cannot read it (%s): import to --out and merge by hand"
                         % " ".join(str(exc).split())) from exc
    if _dumped(yaml, document) != text:
        raise MergeError("the file would not come back byte for byte through ruamel.yaml (its "
                         "layout): import to --out and merge by hand")
    if document is None:
        raise MergeError("the file is empty: import to --out instead")
    place = _place(document, spelling)
    problems, said = [], []
    _settings(place, settings_data, relocate, problems, said)
    _add(place, "services", [(name, data, service_comment(name, notes))
                             for name, data, notes in services], replace, problems, said)
    _add(place, "users", [(login, dict(entry, services={
        name: data for name, data, _notes in members}), ["%s: a user's tree" % login])
                          for login, entry, _notes, members in users], replace, problems, said)
    if problems:
        raise MergeError(*problems)
    return _dumped(yaml, document), said


class _Place:
    """Where a key goes: the ``runit`` hash, or the top level with ``runit::`` names."""

    def __init__(self, mapping, prefix, indent):
        self.mapping, self.prefix, self.indent = mapping, prefix, indent

    def get(self, key):
        return self.mapping.get(self.prefix + key)

    def set(self, key, value):
        self.mapping[self.prefix + key] = value

    def label(self, key):
        """The key as the operator looks it up: ``runit.sv_dir`` or ``runit::sv_dir``."""
        return (self.prefix or "runit.") + key


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


def _settings(place, settings_data, relocate, problems, said):
    for key, value in settings_data.items():
        have = place.get(key)
        if have is None:
            if key in RELOCATIONS and not relocate:
                problems.append("%s: %s would be added, and %s (the services other levels of "
                                "the hierarchy give it too): --relocate to add it"
                                % (place.label(key), value, RELOCATIONS[key]))
                continue
            place.set(key, value)
            said.append("added %s: %s" % (place.label(key), value))
        elif have != value:
            problems.append("%s is %s in the file, %s in what was imported" % (key, have, value))


def _add(place, key, items, replace, problems, said):
    from ruamel.yaml.comments import CommentedMap
    if not items:
        return
    target = place.get(key)
    is_new = target is None
    if is_new:
        target = CommentedMap()
        place.set(key, target)
    if not isinstance(target, dict):
        problems.append("%s in the file is not a hash" % key)
        return
    added, replaced = [], []
    for name, data, lines in items:
        if name in target and not replace:
            problems.append("%s %s is in the file already (--replace to replace it)"
                            % (key[:-1], name))
            continue
        (replaced if name in target else added).append(name)
        target[name] = _round_trip_value(escaped(data))
        # each line of the comment escaped: it names what was found on the host (emit.comment)
        target.yaml_set_comment_before_after_key(
            name, before="\n".join(shown_name(line) for line in lines), indent=place.indent + 2)
    if is_new:
        said.append("added %s: %s" % (place.label(key), ", ".join(added)))
    elif added or replaced:
        said.append("changed %s: %s" % (place.label(key), "; ".join(
            "%s %s" % (verb, ", ".join(names))
            for verb, names in (("added", added), ("replaced", replaced)) if names)))


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
