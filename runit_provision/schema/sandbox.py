"""schema: ``sandbox`` — a service hardened as systemd's are (docs/sandbox.md).

A hash of the settings ``protocol/process/sandbox.py`` names, each checked at its own key:
flags true or false, ``capabilities`` a list of names the kernel has (``cap_`` and case
optional, written back lower case and bare), ``protect_system`` / ``protect_home`` ``true``
or one of their words (``false``: off), the path lists absolute and normalised (a ``-`` prefix:
may be missing). The typed value is a hash, so ``defaults`` merge under a service's key by key;
``sandbox_of`` makes it the protocol's ``Sandbox``.
"""

from ..protocol.process.sandbox import (
    CAPABILITIES, FLAGS, KEYS, PATH_LISTS, PROTECT_HOME, PROTECT_SYSTEM, Sandbox, capability_number,
    checked_path, is_hidden_by_private_tmp, private_tmp_hides)
from .places import places

WORDS = {"protect_system": PROTECT_SYSTEM, "protect_home": PROTECT_HOME}


def read_sandbox(read, path, value):
    """``{key: typed value}`` of a ``sandbox`` hash; a problem at each bad key or value."""
    value = read.keyed_hash(path, value, KEYS)
    if value is None:
        return None
    found = {}
    for key, item in value.items():
        at = path + (key,)
        if key in FLAGS:
            item = read.boolean(at, item)
        elif key in WORDS:
            item = _word(read, at, item, WORDS[key])
        elif key == "capabilities":
            item = _capabilities(read, at, item)
        elif key in PATH_LISTS:
            item = _paths(read, at, item)
        else:
            continue
        if item is not None:
            found[key] = item
    return found


def sandbox_of(values):
    """The protocol's ``Sandbox`` of a typed ``sandbox`` hash; None when nothing is on (an
    empty hash, or every flag false): the service runs as it would without the key."""
    settings = {key: value for key, value in (values or {}).items() if value not in (False, ())
                or key == "capabilities"}
    return Sandbox(**settings) if settings else None


def check_private_tmp(problems, path, values, own):
    """A problem at each path of a merged ``sandbox``'s lists that ``private_tmp`` hides
    (under /tmp or /var/tmp): sandbox-run would refuse every start on it, as systemd does.
    Placed where the list was written: the service's own ``sandbox``, or ``defaults``'."""
    sandbox = values.get("sandbox") or {}
    if sandbox.get("private_tmp") is not True:
        return
    written = own.get("sandbox") or {}
    for key in PATH_LISTS:
        at = (path if key in written else ("defaults",)) + ("sandbox", key)
        for index, item in enumerate(sandbox.get(key) or ()):
            if is_hidden_by_private_tmp(item):
                problems.add(at + (index,), private_tmp_hides(item))


def check_user_namespaces(problems, data, refused):
    """A problem at each ``sandbox`` a user's service is given (its own, its tree's owner's
    through ``owner``, or ``defaults``' when it has none) when the host refuses a user
    namespace: ``refused`` says why (``host/userns.py``). sandbox-run would refuse each start."""
    users = data.get("users") if isinstance(data.get("users"), dict) else {}
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    found = []
    for path, raw, login in places(data):  # root's own tree is root: no namespace needed
        if login in (None, "root") or login not in users or path == ("users", login):
            continue
        if raw.get("sandbox"):
            found.append(path + ("sandbox",))
        elif defaults.get("sandbox"):
            found.append(("defaults", "sandbox"))
    for path in dict.fromkeys(found):
        problems.add(path, "a user's service is sandboxed in a user namespace, which this host "
                           "refuses to a user (%s): sandbox-run would refuse every start "
                           "(docs/sandbox.md)" % refused)


def check_writable_paths(problems, data, replaceable):
    """A problem at each ``read_write_paths`` item of a root service (its own sandbox, or
    ``defaults``') that ``replaceable(path)`` says a user may replace (``host/sandboxpaths``):
    sandbox-run, as root, would bind where a user's link leads. A user's service is sandboxed
    as the user, and may write only what they may."""
    for path, raw, login in places(data):
        if path[0] not in ("defaults", "services") or login not in (None, "root"):
            continue
        sandbox = raw.get("sandbox")
        items = sandbox.get("read_write_paths") if isinstance(sandbox, dict) else None
        at = path + ("sandbox", "read_write_paths")
        if not isinstance(items, list) or problems.has(at):
            continue
        for index, item in enumerate(items):
            why = replaceable(item) if isinstance(item, str) and not problems.has(
                at + (index,)) else None
            if why is not None:
                problems.add(at + (index,), why)


def _word(read, path, value, words):
    if value is True:
        return "true"
    if value is False:
        return False
    return read.choice(path, value, words)


def _capabilities(read, path, value):
    if not isinstance(value, list):
        read.problems.add(path, "expected a list of capability names, got %r" % (value,))
        return None
    names = []
    for index, name in enumerate(value):
        try:
            if not isinstance(name, str):
                raise ValueError("expected a capability name, got %r" % (name,))
            names.append(CAPABILITIES[capability_number(name)])
        except ValueError as exc:
            read.problems.add(path + (index,), str(exc))
            return None
    return tuple(dict.fromkeys(names))


def _paths(read, path, value):
    if not isinstance(value, list):
        read.problems.add(path, "expected a list of absolute paths, got %r" % (value,))
        return None
    paths = []
    for index, item in enumerate(value):
        text = read.text(path + (index,), item)
        if text is None:
            return None
        try:
            paths.append(checked_path(text))
        except ValueError as exc:
            read.problems.add(path + (index,), str(exc))
            return None
    return tuple(dict.fromkeys(paths))
