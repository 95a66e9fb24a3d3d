"""logs: a stream's lines as the output formats write them — ``short`` (time, service, text;
journalctl's), ``cat`` (the text only) and ``json`` (one object per line). Pure: bytes in,
bytes out; the CLI writes them.

``short``::

    Nov 23 10:05:15.398270 web: listening on :8080
    Nov 23 10:05:16.001200 alice/app: started
   ≤Nov 23 09:00:00.000000 batch: a line of a file written without stamps

A time with ``≤`` is a bound, not a stamp: the line has none (svlogd without ``-t``), and
the time is the end of its file (the rotation, or ``current``'s last write) or of the line
before it.

``short`` and ``cat`` show each line as text that cannot act on a terminal: its control
characters (but the tab) and its bytes that are not UTF-8 escaped, ``\x1b`` (``shown.py``) —
a line a user's service wrote is printed on root's terminal too. ``raw`` writes the bytes as
they are (``logs --raw``); ``json`` escapes them as JSON does (its lines are ASCII).
"""

import time
from itertools import repeat

from ..shown import shown_lines
from .stamps import WIDTH, ns_from_key

FORMATS = ("short", "cat", "json")
_INEXACT = "\u2264".encode()


def text_of(line, stamped):
    """The line without its svlogd stamp."""
    return line[WIDTH + 1:] if stamped else line


class Formatter:
    """``chunk(merged) -> bytes`` for one format, local time or ``utc``; ``raw``: the lines'
    bytes as they are, not escaped."""

    def __init__(self, kind="short", utc=False, labels=True, raw=False):
        self.kind, self.utc, self.labels, self.raw = kind, utc, labels, raw
        self._seconds = {}
        self._convert = time.gmtime if utc else time.localtime

    def chunk(self, merged):
        if self.kind == "json":
            return self._json(merged)
        out = self._cat(merged) if self.kind == "cat" else self._short(merged)
        return out if self.raw else shown_lines(out)

    def _cat(self, merged):
        if not merged.lines:
            return b""
        if merged.all_exact:  # every line's text after its stamp, sliced in C
            from operator import itemgetter  # here: a view that shows times needs none

            texts = list(map(itemgetter(slice(WIDTH + 1, None)), merged.lines))
        else:
            width = WIDTH + 1
            texts = [line[width:] if stamped else line
                     for line, stamped in zip(merged.lines, merged.exact)]
        texts.append(b"")  # the last newline, joined: not a copy of the chunk to add it
        return b"\n".join(texts)

    def _short(self, merged):
        if not merged.lines:
            return b""
        # each source's label, made once a chunk, then each line's (looked up in C)
        label_of = {source: b" " + source.label.encode() + b": " if self.labels else b" "
                    for source in dict.fromkeys(merged.sources)}
        labels = map(label_of.__getitem__, merged.sources)
        seconds_of, second = self._seconds.get, self._second
        width = WIDTH + 1
        # every line stamped: the per-line flags are not made (a list in the lines' order)
        exact = repeat(True) if merged.all_exact else merged.exact
        # a line's time is its second's text (cached) and its µs, as clock() makes it
        out = [b"%s.%06d%s%s" % (seconds_of(key >> 32) or second(key >> 32),
                                 (key & 0xFFFFFFFF) // 1000, label, line[width:])
               if stamped else
               b"%s%s.%06d%s%s" % (_INEXACT, seconds_of(key >> 32) or second(key >> 32),
                                   (key & 0xFFFFFFFF) // 1000, label, line)
               for line, label, key, stamped in zip(merged.lines, labels, merged.keys, exact)]
        out.append(b"")  # the last newline, joined: not a copy of the chunk to add it
        return b"\n".join(out)

    def clock(self, key):
        """``Nov 23 10:05:15.398270`` of a key."""
        seconds = key >> 32
        return (self._seconds.get(seconds) or self._second(seconds)) + \
            b".%06d" % ((key & 0xFFFFFFFF) // 1000)

    def _second(self, seconds):
        """``Nov 23 10:05:15`` of a key's seconds, kept for the next line of that second."""
        unix = ns_from_key(seconds << 32) // 1_000_000_000
        found = self._seconds[seconds] = time.strftime(
            "%b %d %H:%M:%S", self._convert(unix)).encode()
        return found

    def iso(self, key):
        time_ns = ns_from_key(key)
        seconds, nanos = divmod(time_ns, 1_000_000_000)
        moment = self._convert(seconds)
        offset = moment.tm_gmtoff if not self.utc else 0
        sign = "+" if offset >= 0 else "-"
        return "%s.%06d%s%02d:%02d" % (time.strftime("%Y-%m-%dT%H:%M:%S", moment),
                                      nanos // 1000, sign, abs(offset) // 3600,
                                      abs(offset) % 3600 // 60)

    def _json(self, merged):
        import json  # here: short and cat (the everyday views) do not load it

        out = []
        for line, source, key, stamped, item in zip(merged.lines, merged.sources, merged.keys,
                                                    merged.exact, merged.files):
            out.append(json.dumps({
                "time": self.iso(key), "exact": stamped,
                "stamp": line[:WIDTH].decode("ascii") if stamped else None,
                "service": source.label, "tree": source.tree,
                "line": text_of(line, stamped).decode("utf-8", "replace"),
                "file": source.path.rstrip("/") + "/" + item.name}).encode())
        return b"\n".join(out) + b"\n" if out else b""
