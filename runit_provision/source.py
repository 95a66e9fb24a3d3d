"""Where data came from: the file, line and column of every key path, for error messages.

Room-neutral on purpose: ``hiera/`` records origins while it loads and merges data files,
``schema/`` reports errors with them, and neither imports the other. Data itself
stays plain Python (dict, list, str, int, float, bool, None); origins live beside it in a
dict keyed by key path — a tuple of mapping keys and list indexes:

    runit:                      ("runit",)                  -> common.yaml:1:1
      users: [apprun1, apprun2] ("runit", "users")          -> common.yaml:2:3
                                ("runit", "users", 1)       -> common.yaml:2:22

PyYAML (its C composer) gives the positions and YAML 1.1's types, as Puppet reads them; it is
imported only when a file is read. A file is read within two bounds, on its size and on what
its aliases copy (``MAX_DATA_FILE_BYTES``, ``MAX_ALIAS_COPIES``): a file written to take the
host's memory is a clear error. A key written twice in one hash is an error at both places
(PyYAML, as Psych, would keep the last and drop the first without a word).
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


def origin_within(origin, text, column):
    """The Origin of character ``column`` (1-based) of the string value ``text`` whose key is
    at ``origin`` — found on the key's line after its ``:``, as written there (plain or
    quoted, on one line, no escapes before it); None when it is not written so (a block
    scalar, an interpolation, an escape): the caller names the key and the column instead.
    Read only to place an error, never on the way to a Config."""
    try:
        with open(origin.file, "rb") as handle:
            raw = handle.read(MAX_DATA_FILE_BYTES)
    except OSError:
        return None
    lines = raw.decode("utf-8", "replace").split("\n")
    if not 0 < origin.line <= len(lines) or not text:
        return None
    line = lines[origin.line - 1]
    colon = line.find(":", origin.column - 1)   # a hash's value; a list's item is at origin
    at = line.find(text, colon + 1 if colon >= 0 else origin.column - 1)
    if at < 0:
        return None
    return Origin(origin.file, origin.line, at + column)


# A data file is read whole, then composed by PyYAML's C composer, before anything counts it:
# its size is the only bound that holds before the cost is paid, so it is checked first, on
# at most this many bytes read. Real hiera data are far smaller, and a big site splits its
# data by a glob (services.d/*.yaml): a file near the bound is surely generated, and past it
# the time and memory of a load are no longer harmless (bench/RESULTS.md, row 67).
MAX_DATA_FILE_BYTES = 2 * 1024 * 1024

# PyYAML composes an alias as the very node it names, so a few hundred bytes of nested aliases
# (the "billion laughs") are a graph of a few dozen nodes that becomes hundreds of millions of
# values — and as many origins — once copied into plain data. So aliases and merge keys may
# copy at most this many values into one file: each value of a copied subtree counts (a nested
# one once per copy), as does each key a merge brings in. That is far more than aliases copy
# where they are used for what they are for (``<<: *defaults`` under hundreds of services),
# and still cheap to copy (bench/RESULTS.md, row 68). Puppet's Psych keeps aliases as shared
# objects and never copies.
MAX_ALIAS_COPIES = 200_000


def load_yaml_with_origins(path, text=None):
    """``(data, origins)`` of one YAML file; ``DataError`` (with file:line:col) if malformed.

    ``text`` replaces reading ``path`` (tests); ``path`` is still what origins name.
    YAML 1.1, as Puppet's hiera reads it (Ruby's Psych): ``yes``/``no``/``on``/``off`` are
    booleans and ``0640`` is octal. PyYAML's C composer gives every node's position.
    Bounded: a file of more than ``MAX_DATA_FILE_BYTES`` is refused before it is parsed, and
    aliases or merge keys that copy more than ``MAX_ALIAS_COPIES`` values are refused at the
    alias that goes past the bound. A key written twice in one hash is a DataError naming
    every place it is written (each file:line:col), every such key of the file at once.
    """
    import yaml

    from .errors import DataError

    text = _bounded_text(path, text)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    origins = {}
    copies = _Copies(MAX_ALIAS_COPIES)
    try:
        node = loader.get_single_node()
        data = None if node is None else _plain(node, (), str(path), origins, loader, copies)
    except _TooManyCopies as exc:
        raise DataError(_too_many_copies_message(path, text, exc)) from None
    except yaml.MarkedYAMLError as exc:
        raise DataError(_malformed_message(path, text, exc)) from exc
    except yaml.YAMLError as exc:
        raise DataError("%s: malformed YAML: %s" % (path, exc)) from exc
    finally:
        loader.dispose()
    if copies.twice:
        raise DataError(_written_twice_message(path, copies.twice))
    if data is not None and () not in origins:
        origins[()] = Origin(path, 1, 1)
    return data, origins


# What PyYAML's context says was opened, and is still open where the problem was found
_OPENED = {"while parsing a flow sequence": "[", "while parsing a flow mapping": "{",
           "while scanning a quoted scalar": "quote"}


def _malformed_message(path, text, exc):
    r"""The message of malformed YAML, at the place to fix: where a ``[``, ``{`` or quote
    that is never closed was opened (PyYAML's ``context_mark``; its ``problem_mark`` is
    where it gave up, lines later), else where the problem is; a tab where a token should
    start said as a tab.

    >>> print(_malformed_message("d.yaml", "a: [1, 2\nb: c\n", _error("a: [1, 2\nb: c\n")))
    d.yaml:1:4: malformed YAML: this [ is not closed (at 2:2: did not find expected ',' or ']')
    >>> print(_malformed_message("d.yaml", "a:\n\tb: 1\n", _error("a:\n\tb: 1\n")))
    d.yaml:2:1: malformed YAML: a tab: YAML indents with spaces
    """
    opened, problem = exc.context_mark, exc.problem_mark
    lines = text.split("\n")

    def char_at(mark):
        line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        return line[mark.column:mark.column + 1]

    said = exc.problem or ""
    if problem is not None and (char_at(problem) == "\t" and "token" in said
                                or "tab character" in said):
        return "%s: malformed YAML: a tab: YAML indents with spaces" % (Origin(
            path, problem.line + 1, problem.column + 1),)
    what = _OPENED.get(exc.context)
    if opened is not None and problem is not None and what is not None \
            and (opened.line, opened.column) != (problem.line, problem.column):
        shown = char_at(opened) if what == "quote" else what
        return "%s: malformed YAML: this %s is not closed (at %d:%d: %s)" % (
            Origin(path, opened.line + 1, opened.column + 1), shown, problem.line + 1,
            problem.column + 1, exc.problem)
    mark = problem or opened
    where = Origin(path, mark.line + 1, mark.column + 1) if mark else path
    return "%s: malformed YAML: %s" % (where, exc.problem or exc.context)


def _error(text):
    """The MarkedYAMLError the loader raises on ``text`` (the doctests')."""
    import yaml

    try:
        yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        return exc
    return None


def _bounded_text(path, text):
    """The text of ``path`` (or ``text``, given), refused past ``MAX_DATA_FILE_BYTES`` — read
    no further than one byte past the bound, so a huge file (or ``/dev/zero``) costs nothing."""
    from .errors import DataError

    if text is None:
        try:
            with open(str(path), "rb") as handle:
                raw = handle.read(MAX_DATA_FILE_BYTES + 1)
        except OSError as exc:
            raise DataError("%s: cannot read: %s" % (path, os_error_text(exc))) from exc
    else:
        raw = text.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_DATA_FILE_BYTES:
        raise DataError(
            "%s: too big for a data file: more than %d bytes (%d MiB), the bound on one file "
            "— split it (a hiera level can glob: services.d/*.yaml)"
            % (path, MAX_DATA_FILE_BYTES, MAX_DATA_FILE_BYTES // (1024 * 1024)))
    if text is None:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError("%s: not UTF-8: the byte 0x%02x cannot be read as text (a data file "
                            "is UTF-8)" % (_place_of_byte(path, raw, exc.start),
                                           raw[exc.start])) from exc
    return text


def _place_of_byte(path, raw, offset):
    """The Origin (line, and column in characters as an editor counts them) of byte
    ``offset`` of ``raw``.

    >>> _place_of_byte("d.yaml", b"a: 1\\nb: \\xc3\\xa9\\xff", 10)
    Origin('d.yaml', 2, 5)
    """
    start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[start:offset].decode("utf-8", "replace")) + 1
    return Origin(path, raw.count(b"\n", 0, offset) + 1, column)


def os_error_text(exc):
    """What an OSError says, as a message goes on: ``permission denied``, ``no such file or
    directory`` (its strerror, lower case; its text when it has none)."""
    why = exc.strerror or str(exc)
    return why[:1].lower() + why[1:]


def data_file_stat(path):
    """``os.stat`` of a data file's ``path``, or None when there is none there (nothing, or
    a path through something that is no directory); DataError when it cannot be told — a
    directory on the way that may not be searched is not "no such file"."""
    import os

    from .errors import DataError

    try:
        return os.stat(str(path))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise DataError("%s: cannot read: %s" % (path, os_error_text(exc))) from exc


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"


def _scalar(node, loader):
    """A key or scalar node's value: a string's is its text (what the constructor's
    ``construct_yaml_str`` returns), taken here without a call into it per node — most of a
    data file is strings; anything else goes through the constructor (YAML 1.1's types)."""
    if node.tag == _STR_TAG and node.id == "scalar":
        return node.value
    return loader.construct_object(node, deep=True)


class _TooManyCopies(Exception):
    """Aliases or merge keys went past the bound: ``node`` is the node copied (an alias's
    target), ``holder`` the node whose text holds the alias and ``path`` where the copy went."""

    def __init__(self, node, holder, path):
        super().__init__(path)
        self.path = path
        self.node = node
        self.holder = holder


class _Copies:
    """How many more values aliases and merge keys may copy into one file, and which
    collections were converted once already (an alias's target is the very node it names:
    met again, it is being copied); ``own``: the pairs a mapping's text wrote, for one whose
    merge keys were replaced by what they bring in (by its id); ``twice``: the keys found
    written twice in one mapping ({first mark's index: (key path, [marks])})."""

    __slots__ = ("left", "seen", "own", "twice")

    def __init__(self, bound):
        self.left = bound
        self.seen = set()
        self.own = {}
        self.twice = {}

    def spend(self, count, node, holder, path):
        self.left -= count
        if self.left < 0:
            raise _TooManyCopies(node, holder, path)


def _plain(node, path, file, origins, loader, copies, holder=None, copying=None):
    """A composed node -> plain Python, recording each key's and item's position.

    ``holder``: the collection node whose text holds ``node``. ``copying``: None, or
    ``(target, holder, path)`` of the alias being copied here — every value converted under
    it is spent from ``copies``."""
    node_id = node.id
    if copying is not None:
        copies.spend(1, *copying)
    if node_id == "scalar":
        return _scalar(node, loader)
    if copying is None:
        if id(node) in copies.seen:  # met again: the target of an alias, copied from here
            copying = (node, holder, path)
            copies.spend(1, *copying)
        else:
            copies.seen.add(id(node))
    if node_id == "mapping":
        _flatten_merges(node, path, loader, copies)
        plain = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            key_text = key if isinstance(key, (str, int, bool)) or key is None else str(key)
            mark = key_node.start_mark
            origins[path + (key_text,)] = Origin(file, mark.line + 1, mark.column + 1)
            plain[key_text] = _plain(value_node, path + (key_text,), file, origins, loader,
                                     copies, node, copying)
        if len(plain) < len(node.value):  # a key met twice: a merge's (allowed), or written so
            _note_written_twice(node, path, loader, copies)
        return plain
    if node_id == "sequence":
        items = []
        for index, item_node in enumerate(node.value):
            mark = item_node.start_mark
            origins[path + (index,)] = Origin(file, mark.line + 1, mark.column + 1)
            items.append(_plain(item_node, path + (index,), file, origins, loader, copies,
                                node, copying))
        return items
    return loader.construct_object(node, deep=True)


def _flatten_merges(node, path, loader, copies):
    """Replace a mapping's ``<<`` merge keys by the pairs they bring in, as Ruby's Psych
    reads them: in the merge key's place (so a key after ``<<`` wins over a merged one, and a
    merged one over a key before), the first of a list of mappings winning over the later.
    Every pair brought in is spent from ``copies`` — before the list grows — so merges of
    merges cannot multiply past the bound. (PyYAML's ``flatten_mapping`` would put merged
    pairs before every own key, and its 6.0.4 lets a later mapping of a list win.)"""
    if not any(key_node.tag == _MERGE_TAG or key_node.tag == _VALUE_TAG
               for key_node, _ in node.value):
        return
    pairs, own = [], []
    for key_node, value_node in node.value:
        if key_node.tag == _VALUE_TAG:  # "=": a plain key, as PyYAML's constructor reads it
            key_node.tag = _STR_TAG
        if key_node.tag != _MERGE_TAG:
            pairs.append((key_node, value_node))
            own.append((key_node, value_node))
            continue
        if value_node.id == "mapping":
            sources = [value_node]
        elif value_node.id == "sequence":
            sources = list(reversed(value_node.value))  # later ones first: the first wins
        else:
            sources = ()
            _refuse_merge(node, "a mapping or list of mappings", value_node)
        for source in sources:
            if source.id != "mapping":
                _refuse_merge(node, "a mapping", source)
            _flatten_merges(source, path, loader, copies)
            if id(source) not in copies.seen:  # written here (``<<: {…}``): never converted
                _note_written_twice(source, path, loader, copies)
            copies.spend(len(source.value), source, node, path + (key_node.value,))
            pairs.extend(source.value)
    copies.own[id(node)] = own  # what its text wrote: a key twice there is an error
    node.value = pairs


def _note_written_twice(node, path, loader, copies):
    """Note in ``copies.twice`` each key the text of mapping ``node`` writes more than once —
    not one a merge key brings in, which a key of its own overrides (``_flatten_merges``).
    Keys compare as the data does (``yes`` and ``true`` are one key); a mapping converted
    again (an alias's copy) notes nothing new."""
    marks = {}
    for key_node, _ in copies.own.get(id(node), node.value):
        key = _scalar(key_node, loader)
        key_text = key if isinstance(key, (str, int, bool)) or key is None else str(key)
        marks.setdefault(key_text, []).append(key_node.start_mark)
    for key_text, found in marks.items():
        if len(found) > 1:
            copies.twice.setdefault(found[0].index, (path + (key_text,), found))


def _written_twice_message(path, twice):
    """One line for each place a key written twice is written, each naming the others, in
    the file's order."""
    lines = []
    for key_path, marks in twice.values():
        places = [Origin(path, mark.line + 1, mark.column + 1) for mark in marks]
        for place in places:
            lines.append((place, "%s: %s: a key written %s in one hash (also at %s); give it "
                                 "once: YAML keeps the last and drops the rest unread"
                          % (place, key_path_text(key_path),
                             "twice" if len(places) == 2 else "%d times" % len(places),
                             ", ".join("%d:%d" % other[1:] for other in places
                                       if other != place))))
    return "\n".join(line for _, line in sorted(lines, key=lambda item: item[0][1:]))


def _refuse_merge(node, expected, found):
    from yaml.constructor import ConstructorError

    raise ConstructorError("while constructing a mapping", node.start_mark,
                           "expected %s for merging, but found %s" % (expected, found.id),
                           found.start_mark)


def _too_many_copies_message(path, text, exc):
    """Where the copying went past ``MAX_ALIAS_COPIES``: the alias's own file:line:col, else
    (the alias is not in its holder's text: it came in by a merge key) its target's."""
    alias = _alias_token(text, exc.node, exc.holder, _aliases_before(exc))
    if alias is not None:
        mark = alias.start_mark
        where = "%s: %s: the alias *%s" % (Origin(path, mark.line + 1, mark.column + 1),
                                           key_path_text(exc.path), alias.value)
    else:
        mark = exc.node.start_mark
        where = "%s: %s: an alias of this" % (Origin(path, mark.line + 1, mark.column + 1),
                                              key_path_text(exc.path))
    return ("%s copies too much: aliases and merge keys may copy at most %d values into one "
            "data file (an alias bomb?); write the data out, or alias less"
            % (where, MAX_ALIAS_COPIES))


def _aliases_before(exc):
    """How many aliases of ``exc.node`` its holder holds before the one copied: its earlier
    items (or values) that are that very node, less the node's own definition if there."""
    holder, target, last = exc.holder, exc.node, exc.path[-1] if exc.path else None
    if holder is None:
        return 0
    if holder.id == "sequence" and isinstance(last, int):
        earlier = holder.value[:last]
    else:
        earlier = []
        for key_node, value_node in holder.value:
            if key_node.value == last:
                break
            earlier.append(value_node)
    count = sum(1 for entry in earlier if entry is target)
    if holder.start_mark.index <= target.start_mark.index < holder.end_mark.index:
        count -= 1  # defined in the holder: an anchor there, not an alias
    return max(count, 0)


def _alias_token(text, target, holder, skip):
    """The ``*NAME`` token naming ``target``'s anchor inside ``holder``'s text, the first
    after ``skip`` others, or None. Composed nodes keep no anchors or aliases, so the text is
    scanned again — once, for this message only."""
    import yaml

    if holder is None:
        return None
    scanner = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    anchor = None
    try:
        while scanner.check_token():
            token = scanner.get_token()
            index = token.start_mark.index
            if index >= holder.end_mark.index and anchor is not None:
                return None
            if isinstance(token, yaml.AnchorToken) and index == target.start_mark.index:
                anchor = token.value
            elif (isinstance(token, yaml.AliasToken) and token.value == anchor
                  and index >= holder.start_mark.index):
                if not skip:
                    return token
                skip -= 1
    except yaml.YAMLError:
        return None
    finally:
        scanner.dispose()
    return None
