"""schema: a service's ``log`` — ``false``, the stock logger, or svlogd's settings (``dir``,
``user``, ``timestamps``, ``size``, ``num``, ``min``, ``timeout``, ``processor``, ``udp``,
``udp_only``, ``prefix``, ``patterns``, ``line_length``). ``dir`` and ``user`` are written
into the canonical ``log/run``, so they must be simple words. Or ``run``: a whole ``log/run``
kept as written (what ``import`` finds that is not the canonical form), with ``dir`` at most:
then the script owns its log directory and config, and nothing else is written."""

import re

from ..model import LOG_KEYS, LOG_RUN_ALLOWS, TIMESTAMPS
from ..source import type_name
from .readers import is_account_name


def read_log(read, path, value):
    """``false`` -> False; ``true``/``{}``/null -> {} (stock logger); a hash -> its values."""
    if value is False:
        return False
    if value is True or value is None:
        return {}
    value = read.keyed_hash(path, value, LOG_KEYS)
    if value is None:
        return None
    out = {}
    for key, item in value.items():
        reader = _LOG_READERS.get(key)
        if reader is not None:
            out[key] = reader(read, path + (key,), item)
    if "run" in value:
        for key in sorted(set(value) - set(LOG_RUN_ALLOWS)):
            read.problems.add(path + (key,), "log.run is the whole log/run, written as it is: "
                                             "%s cannot go with it (only dir, where it logs)"
                              % key)
    if out.get("udp_only") and not value.get("udp"):
        read.problems.add(path + ("udp_only",), "udp_only needs udp")
    return out


def _read_user(read, path, value):
    user = read.word(path, value, "a user[:group] name")
    if user is not None and not all(is_account_name(part) for part in user.split(":")):
        read.problems.add(path, "%r is not USER or USER:GROUP[:GROUP…]" % user)
        return None
    return user


def _read_udp(read, path, value):
    udp = read.text(path, value if not isinstance(value, int) else str(value))
    if udp is not None and not re.match(r"[0-9]{1,3}(\.[0-9]{1,3}){3}(:[0-9]{1,5})?\Z", udp):
        read.problems.add(path, "%r is not an IPv4 address with an optional :PORT (svlogd's u "
                                "line)" % udp)
        return None
    return udp


def _read_patterns(read, path, value):
    if not isinstance(value, list):
        read.problems.add(path, "expected a list of patterns, got %s" % type_name(value))
        return None
    patterns = []
    for index, item in enumerate(value):
        item = read.text(path + (index,), item)
        if item is None:
            continue
        if item[0] not in "+-eE" or (item[0] in "eE" and item[1:2] not in ("+", "-")):
            read.problems.add(path + (index,), "%r: a pattern starts with + or - (or e+ e- E+ "
                                               "E-, svlogd(8))" % item)
            continue
        patterns.append(item)
    return patterns


_LOG_READERS = {
    "dir": lambda read, path, value: read.abspath(path, value),
    "user": _read_user,
    "timestamps": lambda read, path, value: read.choice(path, value, tuple(TIMESTAMPS)),
    "size": lambda read, path, value: read.integer(path, value, 0),
    "num": lambda read, path, value: read.integer(path, value, 0),
    "min": lambda read, path, value: read.integer(path, value, 0),
    "timeout": lambda read, path, value: read.integer(path, value, 0),
    "line_length": lambda read, path, value: read.integer(path, value, 1),
    "processor": lambda read, path, value: read.text(path, value),
    "udp": _read_udp,
    "udp_only": lambda read, path, value: read.boolean(path, value),
    "prefix": lambda read, path, value: read.text(path, value, empty=True),
    "patterns": _read_patterns,
    "run": lambda read, path, value: read.script(path, value),
}
