"""schema: a service's ``check`` — a script, or ``{tcp: PORT | "HOST:PORT"}``,
``{http: URL}`` or ``{command: …}`` (exactly one), as a ``model.Check``."""

import re

from ..model import CHECK_KINDS, Check
from ..protocol.canonical import is_simple_word


def read_check(read, path, value):
    if isinstance(value, str):
        script = read.script(path, value)
        return None if script is None else Check(kind="script", value=script)
    value = read.keyed_hash(path, value, CHECK_KINDS)
    if value is None:
        return None
    kinds = [key for key in value if key in CHECK_KINDS]
    if len(kinds) != 1:
        read.problems.add(path, "a structured check has exactly one of tcp, http, command")
        return None
    kind = kinds[0]
    return _KINDS[kind](read, path + (kind,), value[kind])


def _tcp(read, path, item):
    host, port = "127.0.0.1", item
    if isinstance(item, str) and ":" in item:
        host, _, port = item.rpartition(":")
        if not is_simple_word(host):
            read.problems.add(path, "%r is not a host name or address" % host)
            return None
        port = int(port) if port.isdigit() else port
    port = read.integer(path, port, 1, 65535)
    return None if port is None else Check(kind="tcp", value=(host, port))


def _http(read, path, item):
    url = read.text(path, item)
    if url is None:
        return None
    if not re.match(r"https?://\S+\Z", url):
        read.problems.add(path, "%r is not an http:// or https:// URL" % url)
        return None
    return Check(kind="http", value=url)


def _command(read, path, item):
    argv = read.argv(path, item)
    return None if argv is None else Check(kind="command", value=argv)


_KINDS = {"tcp": _tcp, "http": _http, "command": _command}
