"""Where data came from: the file, line and column of every key path, for error messages.

Room-neutral on purpose: ``hiera/`` records origins while it loads and merges data files,
``schema/`` reports errors with them, and neither imports the other. Data itself
stays plain Python (dict, list, str, int, float, bool, None); origins live beside it in a
dict keyed by key path — a tuple of mapping keys and list indexes:

    runit:                      ("runit",)                  -> common.yaml:1:1
      users: [apprun1, apprun2] ("runit", "users")          -> common.yaml:2:3
                                ("runit", "users", 1)       -> common.yaml:2:22

PyYAML (its C composer) gives the positions and YAML 1.1's types, as Puppet reads them; it is
imported only when a file is read.
"""

from collections import namedtuple


class Origin(namedtuple("Origin", "file line column")):
    """(file, line, column), 1-based, as an editor shows them."""

    __slots__ = ()

    def __new__(cls, file, line, column):
        return super().__new__(cls, str(file), int(line), int(column))

    def __str__(self):
        return "%s:%d:%d" % self

    def __repr__(self):
        return "Origin(%r, %d, %d)" % self


def key_path_text(path):
    """``("runit", "services", "web", "log", 0)`` -> ``runit.services.web.log[0]``."""
    text = ""
    for part in path:
        if isinstance(part, bool):  # an unquoted yes/no/on/off key (YAML 1.1) is a boolean
            part = "true" if part else "false"
        if isinstance(part, int) and not isinstance(part, str):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def type_name(value):
    """How a message names the type of a data value: ``a list``, ``nothing (null)``, …"""
    if value is None:
        return "nothing (null)"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a hash"}.get(type(value), type(value).__name__)


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
    YAML 1.1, as Puppet's hiera reads it (Ruby's Psych): ``yes``/``no``/``on``/``off`` are
    booleans and ``0640`` is octal. PyYAML's C composer gives every node's position.
    """
    import yaml

    from .errors import DataError

    if text is None:
        try:
            with open(str(path), encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError("%s: cannot read: %s" % (path, exc)) from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    origins = {}
    try:
        node = loader.get_single_node()
        data = None if node is None else _plain(node, (), str(path), origins, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Origin(path, mark.line + 1, mark.column + 1) if mark else path
        raise DataError("%s: malformed YAML: %s" % (where, exc.problem or exc.context)) from exc
    except yaml.YAMLError as exc:
        raise DataError("%s: malformed YAML: %s" % (path, exc)) from exc
    finally:
        loader.dispose()
    if data is not None and () not in origins:
        origins[()] = Origin(path, 1, 1)
    return data, origins


_STR_TAG = "tag:yaml.org,2002:str"


def _scalar(node, loader):
    """A key or scalar node's value: a string's is its text (what the constructor's
    ``construct_yaml_str`` returns), taken here without a call into it per node — most of a
    data file is strings; anything else goes through the constructor (YAML 1.1's types)."""
    if node.tag == _STR_TAG and node.id == "scalar":
        return node.value
    return loader.construct_object(node, deep=True)


def _plain(node, path, file, origins, loader):
    """A composed node -> plain Python, recording each key's and item's position."""
    node_id = node.id
    if node_id == "scalar":
        return _scalar(node, loader)
    if node_id == "mapping":
        loader.flatten_mapping(node)  # "<<" merge keys, as the constructor would
        plain = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            key_text = key if isinstance(key, (str, int, bool)) or key is None else str(key)
            mark = key_node.start_mark
            origins[path + (key_text,)] = Origin(file, mark.line + 1, mark.column + 1)
            plain[key_text] = _plain(value_node, path + (key_text,), file, origins, loader)
        return plain
    if node_id == "sequence":
        items = []
        for index, item_node in enumerate(node.value):
            mark = item_node.start_mark
            origins[path + (index,)] = Origin(file, mark.line + 1, mark.column + 1)
            items.append(_plain(item_node, path + (index,), file, origins, loader))
        return items
    return loader.construct_object(node, deep=True)
