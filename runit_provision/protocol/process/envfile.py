"""protocol: one file of an envdir — what ``chpst -e`` (and ``envdir``) reads of it, and the
file the generator writes for a value.

runit's edir() (docs/runit-protocol.md, Envdir): a 0-byte file unsets the variable; otherwise
the value is the file's first line, trailing spaces and tabs cut, NUL bytes turned into
newlines. So ``printf cafe``, ``cafe\\n``, ``cafe  \\n`` and ``cafe\\nmore\\n`` all give
``cafe``; the generator writes the one form, ``cafe\\n`` (newlines in a value as NULs).

One home for the rule: the runtime's envdir reader (runtime/unix/edir.py), the renderer, the
applier's restart matrix (a rewrite that reads the same restarts nothing) and import (a value
carried as chpst reads it) all take it from here. Stdlib only: the runtime's start-up reads it.
"""

import os


def value_bytes(data):
    """The value's bytes chpst -e takes from a file's ``data`` — None: the variable is unset.

    >>> value_bytes(b"a b \\t\\nsecond line\\n"), value_bytes(b"cafe"), value_bytes(b"x\\0y")
    (b'a b', b'cafe', b'x\\ny')
    >>> value_bytes(b""), value_bytes(b"\\n")
    (None, b'')
    """
    if not data:
        return None
    end = data.find(b"\n")
    if end >= 0:
        data = data[:end]
    return data.rstrip(b" \t").replace(b"\0", b"\n")


def value_from_bytes(data):
    """The variable a file's ``data`` stands for: ``None`` (unset) or its value, its bytes
    as the environment gets them (``os.fsdecode``).

    >>> value_from_bytes(b"a b \\t\\nsecond line\\n")
    'a b'
    >>> value_from_bytes(b"x\\0y") == "x\\ny", value_from_bytes(b""), value_from_bytes(b"\\n")
    (True, None, '')
    """
    found = value_bytes(data)
    return None if found is None else os.fsdecode(found)


def file_from_value(value):
    """The file the generator writes for ``value`` (text): None -> empty (unset); newlines
    travel as NUL bytes (chpst turns NUL into newline), one trailing newline ends the line.

    >>> file_from_value("cafe"), file_from_value(None), file_from_value("a\\nb")
    (b'cafe\\n', b'', b'a\\x00b\\n')
    """
    if value is None:
        return b""
    return value.replace("\n", "\0").encode("utf-8") + b"\n"
