"""Where data came from: the file, line and column of every key path, for error messages.

Room-neutral on purpose: ``hiera/`` records origins while it loads and merges data files,
the model's validation reports errors with them, and neither imports the other. Data itself
stays plain Python (dict, list, str, int, float, bool, None); origins live beside it in a
dict keyed by key path — a tuple of mapping keys and list indexes:

    runit:                      ("runit",)                  -> common.yaml:1:1
      users: [apprun1, apprun2] ("runit", "users")          -> common.yaml:2:3
                                ("runit", "users", 1)       -> common.yaml:2:22

ruamel.yaml (round-trip loader) gives the positions; it is imported only when a file is read.
"""


class Origin(tuple):
    """(file, line, column), 1-based, as an editor shows them."""

    __slots__ = ()

    def __new__(cls, file, line, column):
        return tuple.__new__(cls, (str(file), int(line), int(column)))

    file = property(lambda self: self[0])
    line = property(lambda self: self[1])
    column = property(lambda self: self[2])

    def __str__(self):
        return "%s:%d:%d" % self

    def __repr__(self):
        return "Origin(%r, %d, %d)" % self


def key_path_text(path):
    """``("runit", "services", "web", "log", 0)`` -> ``runit.services.web.log[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def origin_of(origins, path):
    """The origin of ``path``, or of its nearest ancestor that has one (None if none does)."""
    path = tuple(path)
    while True:
        if path in origins:
            return origins[path]
        if not path:
            return None
        path = path[:-1]


def load_yaml_with_origins(path, text=None):
    """``(data, origins)`` of one YAML file; ``DataError`` (with file:line:col) if malformed.

    ``text`` replaces reading ``path`` (tests); ``path`` is still what origins name.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    from .errors import DataError

    if text is None:
        try:
            with open(str(path), encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError("%s: cannot read: %s" % (path, exc)) from exc
    yaml = YAML(typ="rt")
    try:
        document = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Origin(path, mark.line + 1, mark.column + 1) if mark else path
        raise DataError("%s: malformed YAML: %s" % (where, exc.problem or exc.context)) from exc
    origins = {}
    data = _plain(document, (), str(path), origins)
    if data is not None and () not in origins:
        origins[()] = Origin(path, 1, 1)
    return data, origins


def _plain(node, path, file, origins):
    """ruamel's round-trip node -> plain Python, recording each key's and item's position."""
    if isinstance(node, dict):
        plain = {}
        for key, value in node.items():
            key_text = key if isinstance(key, (str, int, bool)) or key is None else str(key)
            line, column = node.lc.key(key)
            origins[path + (key_text,)] = Origin(file, line + 1, column + 1)
            plain[key_text] = _plain(value, path + (key_text,), file, origins)
        return plain
    if isinstance(node, list):
        items = []
        for index, value in enumerate(node):
            line, column = node.lc.item(index)
            origins[path + (index,)] = Origin(file, line + 1, column + 1)
            items.append(_plain(value, path + (index,), file, origins))
        return items
    if isinstance(node, str):
        return str(node)  # ruamel's scalar string subclasses carry style, not meaning
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node  # dates and other YAML types: the model decides what it accepts
