r"""How text from outside is shown — a name in a user's home, a link's target, a file's
content, a line a service logged — so that, printed, it cannot act on the terminal (an
escape sequence, a bell), forge a line (a newline), or make JSON invalid UTF-8 (a byte that
is not UTF-8). Room-neutral and pure: every room that makes text for people (apply's report,
verify's problems, import's comments, the logs' formats) and the CLI's JSON go through it.
The forms, and why: docs/security.md, "What root prints of a home cannot act on root's
terminal".

**Names** (``shown_name``) take one printable line, unambiguous, in GNU ``ls
--quoting-style=escape``'s forms: ``\\``, ``\n`` ``\r`` ``\t``, ``\xHH`` for a control
character or a byte that is not UTF-8 (``os.fsdecode`` keeps it as U+DC80–U+DCFF, PEP 383),
``\uHHHH`` / ``\UHHHHHHHH`` for any other character ``str.isprintable()`` refuses.

>>> import os
>>> print(shown_name("esc\x1b]0;PWNED\x07\x1b[2Jx"))
esc\x1b]0;PWNED\x07\x1b[2Jx
>>> print(shown_name("nl\nfake: line"), shown_name(os.fsdecode(b"bad\xffname")))
nl\nfake: line bad\xffname
>>> print(shown_name("café \\ \u009b31m"))
café \\ \u009b31m

**Lines of text** (``shown_line``, ``shown_text``, ``shown_lines``) have escaped, in the same
forms, only what a terminal acts on (C0 but the tab, DEL, C1, as ``journalctl`` judges them)
and the bytes that are not UTF-8. **JSON** (``json_text``) carries every string exactly, an
undecodable byte as the lone surrogate ``\udcHH``, and is inert when printed.
"""

_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What a line of text has escaped: C0 but the tab, DEL and C1, and surrogates (a byte that is
# not UTF-8, PEP 383's, or a lone one).
_TEXT_UNSAFE = "[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]"
_C1_UTF8 = b"\xc2[\x80-\x9f]"  # UTF-8's C1 controls
_COMPILED = {}


def _compiled(pattern):
    """``pattern`` compiled on first use: ``re`` (with the enum and functools it imports) is
    as much as a third of a small view's start, and most commands never show a line of
    someone's text that needs it."""
    found = _COMPILED.get(pattern)
    if found is None:
        import re

        found = _COMPILED[pattern] = re.compile(pattern)
    return found


# the bytes lines of ASCII text keep as they are: tab, newline, the space to the tilde; and of
# UTF-8 text, the bytes above too (its C1 controls are \xc2\x80 to \xc2\x9f)
_TEXT_ASCII = b"\t\n" + bytes(range(0x20, 0x7f))
_TEXT_BYTES = _TEXT_ASCII + bytes(range(0x80, 0x100))


def _escape(char):
    """The escape of one character that is not shown as itself."""
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x80 or 0xDC80 <= code <= 0xDCFF:
        return "\\x%02x" % (code & 0xFF)  # a control character, or PEP 383's byte
    if code <= 0xFFFF:
        return "\\u%04x" % code
    return "\\U%08x" % code


def shown_name(text):
    r"""``text`` (a str, maybe holding undecodable bytes as PEP 383 surrogates) as one
    printable line, unambiguous (the module's table).

    >>> shown_name("web")
    'web'
    >>> print(shown_name("a\tb\\c\u2028\U000e0001"))
    a\tb\\c\u2028\U000e0001
    """
    if text.isprintable() and "\\" not in text:
        return text  # the usual name: nothing to do, checked in C
    return "".join(char if char.isprintable() and char != "\\" else _escape(char)
                   for char in text)


def shown_bytes(data):
    r"""A name given as bytes (a file name, a link's target) as ``shown_name`` shows it.

    >>> print(shown_bytes(b"bad\xffname"))
    bad\xffname
    """
    return shown_name(data.decode("utf-8", "surrogateescape"))


def shown_line(text):
    r"""A line of someone's text as one line a terminal does not act on: its controls but
    the tab, and its undecodable bytes, escaped; the rest as written.

    >>> shown_line("a\tb \\ \x1b[2J\r \u2028")
    'a\tb \\ \\x1b[2J\\r \u2028'
    """
    if _compiled(_TEXT_UNSAFE).search(text) is None:
        return text
    # one pass of C through a table, not a call of Python a character (re.sub's): a line of
    # 64 KiB of NULs, the longest logs shows, stays quick
    return text.translate(_line_escapes())


_LINE_ESCAPES = []


def _line_escapes():
    """``str.translate``'s table of what ``_TEXT_UNSAFE`` matches: each to its escape
    (made once, by the first line that needs it)."""
    if not _LINE_ESCAPES:
        ranges = ((0x00, 0x08), (0x0A, 0x1F), (0x7F, 0x9F), (0xD800, 0xDFFF))
        _LINE_ESCAPES.append({code: _escape(chr(code)) for low, high in ranges
                              for code in range(low, high + 1)})
    return _LINE_ESCAPES[0]


def shown_text(text):
    r"""Lines of text (a message of ours quoting a command's output): each line as
    ``shown_line`` shows it, the newlines between them kept.

    >>> print(shown_text("sv: failed\nwarning: \x1b[2Jcheck said so"))
    sv: failed
    warning: \x1b[2Jcheck said so
    """
    return "\n".join(shown_line(line) for line in text.split("\n"))


def prefixed_lines(prefix, text):
    r"""``text`` (a message of ours, every problem of the data a line) with ``prefix`` before
    each of its lines, each ended: a command's error lines all start with its name, the
    second problem as the first.

    >>> print(prefixed_lines("runit-provision plan: ", "d.yaml:1:1: a\nd.yaml:2:1: b"), end="")
    runit-provision plan: d.yaml:1:1: a
    runit-provision plan: d.yaml:2:1: b
    """
    return "".join("%s%s\n" % (prefix, line) for line in text.split("\n"))


def shown_lines(data):
    r"""Lines of bytes (``\n``-separated: a chunk of a log) as UTF-8 bytes, each line as
    ``shown_line`` shows it; ``data`` itself when no line needs it — the usual case, found
    in a pass or three of C over the bytes.

    >>> shown_lines(b"ok\tline\n\x1b[2J\xff\n")
    b'ok\tline\n\\x1b[2J\\xff\n'
    """
    if data.isascii():
        if not data.translate(None, _TEXT_ASCII):
            return data
    elif not data.translate(None, _TEXT_BYTES) and not (
            b"\xc2" in data and _compiled(_C1_UTF8).search(data)):
        try:
            data.decode("utf-8")
            return data
        except UnicodeDecodeError:
            pass
    return b"\n".join(shown_line(line.decode("utf-8", "surrogateescape")).encode("utf-8")
                      for line in data.split(b"\n"))


def _json_escape(char):
    code = ord(char)
    if code <= 0xFFFF:
        return "\\u%04x" % code
    code -= 0x10000  # JSON's \u escapes are UTF-16: a surrogate pair
    return "\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def json_text(document, indent=None, sort_keys=False):
    r"""``document`` as JSON text: valid UTF-8, inert on a terminal, every string exact
    (the module's docstring).

    >>> import json, os
    >>> print(json_text({"path": os.fsdecode(b"bad\xff\x1b\xc2\x9b"), "name": "café"}))
    {"path": "bad\udcff\u001b\u009b", "name": "café"}
    >>> json.loads(json_text(["\udcff"]).encode("utf-8").decode("utf-8")) == ["\udcff"]
    True
    """
    import json  # here: the views that print no JSON (logs, status) do not load it

    text = json.dumps(document, indent=indent, sort_keys=sort_keys, ensure_ascii=False)
    if all(line.isprintable() for line in text.split("\n")):
        return text
    # outside its strings JSON is ASCII and newlines (indent): every character left to
    # escape is in a string, where \uHHHH means the same
    return "\n".join(line if line.isprintable() else
                     "".join(char if char.isprintable() else _json_escape(char)
                             for char in line)
                     for line in text.split("\n"))
