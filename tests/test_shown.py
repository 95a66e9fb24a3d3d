"""shown.py: text from outside shown safely — each class of character, the escaped form read
back (no two strings are shown alike), lines of text, and JSON that is valid UTF-8."""

import json
import os
import random
import re

import pytest

from runit_provision.shown import json_text, shown_bytes, shown_line, shown_lines, shown_name

# the escaped form's grammar (shown.py's table), as a reader would parse it
ESCAPE = re.compile(r"\\(?:(\\)|([nrt])|x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8}))")
NAMED = {"n": "\n", "r": "\r", "t": "\t"}


def unescaped(shown):
    """The string ``shown_name`` showed as ``shown``: the form read back."""
    def one(match):
        backslash, named, byte, short, long = match.groups()
        if backslash:
            return "\\"
        if named:
            return NAMED[named]
        if byte:
            code = int(byte, 16)
            return chr(code) if code < 0x80 else chr(0xDC00 + code)  # PEP 383's byte
        return chr(int(short or long, 16))
    rest = ESCAPE.sub("", shown)
    assert "\\" not in rest, "a backslash that starts no escape: %r" % shown
    return ESCAPE.sub(one, shown)


# -- each class of character ---------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("web-1.service", "web-1.service"),
    ("a b", "a b"),                                   # the space is itself
    ("café 日本 ñ e\u0301 🙂", "café 日本 ñ e\u0301 🙂"),  # letters, marks, symbols
    ("back\\slash", "back\\\\slash"),
    ("nl\nfake: line", "nl\\nfake: line"),
    ("cr\rtab\t", "cr\\rtab\\t"),
    ("esc\x1b]0;PWNED\x07\x1b[2Jx", "esc\\x1b]0;PWNED\\x07\\x1b[2Jx"),
    ("nul\x00 del\x7f", "nul\\x00 del\\x7f"),
    ("csi\u009b31m c1\u0085", "csi\\u009b31m c1\\u0085"),   # C1: a character, \u
    (os.fsdecode(b"bad\xffname\x80"), "bad\\xffname\\x80"),  # undecodable bytes: \x
    ("rlo\u202eevil lsep\u2028 zw\u200b", "rlo\\u202eevil lsep\\u2028 zw\\u200b"),
    ("nbsp\u00a0 bom\ufeff", "nbsp\\u00a0 bom\\ufeff"),
    ("private\ue000 tag\U000e0041 astral-private\U000f0000",
     "private\\ue000 tag\\U000e0041 astral-private\\U000f0000"),
    ("\ud800 lone high surrogate", "\\ud800 lone high surrogate"),
])
def test_each_class_of_character(text, expected):
    assert shown_name(text) == expected
    assert unescaped(expected) == text


def test_every_c0_del_and_c1_is_escaped_and_every_byte_too():
    for code in list(range(0x20)) + [0x7f] + list(range(0x80, 0xa0)):
        shown = shown_name("a%sb" % chr(code))
        assert shown.isprintable() and shown != "a%sb" % chr(code), code
    for byte in range(0x80, 0x100):
        assert shown_bytes(b"a" + bytes([byte]) + b"b") == "a\\x%02xb" % byte


def test_a_byte_a_character_and_the_characters_that_spell_them_differ():
    """The pairs an escaped form could confuse are shown apart."""
    alike = ["\x1b", "\\x1b", os.fsdecode(b"\x9b"), "\u009b", "\\u009b", "\\x9b", "\xff",
             os.fsdecode(b"\xff"), "\\xff", "\n", "\\n", "\\\n", "\\\\n"]
    shown = [shown_name(text) for text in alike]
    assert len(set(shown)) == len(alike), shown


def random_text(rng, length):
    pools = [range(0x00, 0x20), [0x7f, 0x5c, 0x20], range(0x80, 0xa0), range(0xa0, 0x3000),
             range(0xdc80, 0xdd00), range(0xd800, 0xdc80), range(0xe000, 0xe010),
             range(0x1f600, 0x1f650), range(0xe0000, 0xe0080), range(0x10fff0, 0x110000),
             range(ord("a"), ord("z") + 1), [ord("x"), ord("u"), ord("U"), ord("n")],
             range(ord("0"), ord("9") + 1)]
    return "".join(chr(rng.choice(rng.choice(pools))) for _ in range(length))


def test_the_form_reads_back_so_no_two_strings_are_shown_alike():
    rng = random.Random(30)
    seen = {}
    for _ in range(20000):
        text = random_text(rng, rng.randrange(0, 12))
        shown = shown_name(text)
        assert shown.isprintable(), (text, shown)
        assert unescaped(shown) == text, (text, shown)
        assert seen.setdefault(shown, text) == text


def test_a_long_name_stays_one_line():
    name = os.fsdecode((b"long" + b"\x1b[7m" * 40 + b"\x07" * 20 + b"y" * 255)[:255])
    shown = shown_name(name)
    assert "\n" not in shown and shown.isprintable() and unescaped(shown) == name


# -- lines of text -----------------------------------------------------------------------------
def is_inert(line):
    """No control a terminal acts on (C0, DEL, C1 — the tab aside), no byte that is not
    UTF-8."""
    return not re.search("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]", line)


def test_a_line_of_text_escapes_what_a_terminal_acts_on_and_keeps_the_rest():
    assert shown_line('say "hi\\" \t done \\') == 'say "hi\\" \t done \\'
    assert (shown_line("\x1b[2J\r" + os.fsdecode(b"\x9b") + "\u009b\x7f\x00")
            == "\\x1b[2J\\r\\x9b\\u009b\\x7f\\x00")
    assert shown_line(os.fsdecode(b"latin \xe9")) == "latin \\xe9"
    kept = "caf\u00e9 \u2028 \u202e \u00a0 \ue000 \U000f0000 \U0001f642"
    assert shown_line(kept) == kept  # printable or not, no terminal acts on them


def test_every_control_of_a_line_of_text_is_escaped():
    for code in [c for c in range(0x20) if c != 9] + [0x7f] + list(range(0x80, 0xa0)):
        shown = shown_line("a%sb" % chr(code))
        assert is_inert(shown) and shown != "a%sb" % chr(code), code
    assert shown_line("a\tb") == "a\tb"


def test_a_line_escapes_as_its_pattern_says_through_the_table():
    """The table ``shown_line`` translates through escapes exactly what ``_TEXT_UNSAFE``
    matches, each as ``_escape`` does: every code point below U+E000, a line of 64 KiB of
    NULs (a cut line of a sparse file: docs/logs.md#bounds)."""
    import re

    from runit_provision.shown import _TEXT_UNSAFE, _escape

    def one_by_one(text):
        return re.sub(_TEXT_UNSAFE, lambda match: _escape(match.group()), text)
    every = "".join(map(chr, range(0xE000)))
    assert shown_line(every) == one_by_one(every)
    nuls = "\0" * (1 << 16) + "end"
    assert shown_line(nuls) == one_by_one(nuls) == "\\x00" * (1 << 16) + "end"


def test_lines_of_bytes_the_usual_ones_untouched():
    plain = b"Nov 23 10:05:15.398270 web: listening\ton :8080 \\ done\n" * 100
    assert shown_lines(plain) is plain
    utf8 = "caf\u00e9 \u65e5\u672c \u00a0\u2028 \U0001f642\n".encode() * 3
    assert shown_lines(utf8) is utf8


@pytest.mark.parametrize("data", [
    b"ok\n\x1b]0;PWNED\x07 bell\nok\n",
    b"\xff\xfe not utf-8\n",
    "c1 \u009b31m as utf-8\n".encode(),
    "caf\u00e9 then \x1b[2J\n".encode(),
    "caf\u00e9 then a lone \xc2 byte\n".encode() + b"\xc2\n",
    b"del\x7f\n",
    b"cr\r in a line\n",
    b"no newline at the end \x1b",
    b"",
])
def test_lines_of_bytes_that_need_it_are_escaped_line_by_line(data):
    out = shown_lines(data)
    text = out.decode("utf-8")  # strict
    assert out != data or not data
    assert text.count("\n") == data.count(b"\n")
    assert all(is_inert(line) for line in text.split("\n")), text
    assert [shown_line(line.decode("utf-8", "surrogateescape"))
            for line in data.split(b"\n")] == text.split("\n")


# -- JSON ----------------------------------------------------------------------------------------
def test_json_is_valid_utf8_inert_and_carries_every_name_exactly():
    names = [os.fsdecode(name) for name in (b"esc\x1b]0;PWNED\x07\x1b[2Jx", b"nl\nfake: line",
                                            b"bad\xffname", b"csi\xc2\x9b31m", b"del\x7f")]
    names += ["caf\u00e9", "\u2028\u202e", "\U000f0000 astral private", "\\x1b literal"]
    document = {"actions": [{"path": name} for name in names], "msg": names[0]}
    for indent in (None, 1):
        text = json_text(document, indent=indent, sort_keys=True)
        data = text.encode("utf-8")  # no surrogate left to encode
        assert json.loads(data.decode("utf-8")) == document
        for line in text.split("\n"):
            assert line.isprintable(), line
    assert "caf\u00e9" in json_text(["caf\u00e9"])  # printable characters stay themselves
    assert json_text(["\U000f0000"]) == '["\\udb80\\udc00"]'  # UTF-16 pairs above U+FFFF
    assert json_text([os.fsdecode(b"\xff")]) == '["\\udcff"]'  # PEP 383: os.fsencode reads it
