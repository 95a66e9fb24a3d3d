"""agentwire's fields, as root reads an agent's messages: the decoder (written for speed: root
decodes a few dozen messages for each user's service it starts) accepts exactly what the
protocol's grammar says, against a reference reading of the grammar, on random messages."""

import doctest
import random
import re

import pytest

from runit_provision.runtime.supervision.users import agentwire as wire

_LENGTH = re.compile(rb"(0|[1-9][0-9]{0,7}):")  # a length: decimal, no leading 0, 8 digits


def reference(data, max_fields):
    """The grammar, read the plain way: the fields, or None when the message is not one."""
    fields, at = [], 0
    if not data:
        return None
    while at < len(data):
        found = _LENGTH.match(data, at)
        if found is None:
            return None
        length = int(found.group(1))
        start = found.end()
        if length > wire.MAX_FIELD or start + length > len(data):
            return None
        fields.append(data[start:start + length])
        at = start + length
    return fields if len(fields) <= max_fields else None


def decoded(data, max_fields):
    try:
        return wire.decode(data, max_fields=max_fields)
    except wire.BadMessage:
        return None


def test_doctests():
    assert doctest.testmod(wire).failed == 0


@pytest.mark.parametrize("seed", range(4))
def test_decode_accepts_exactly_the_grammar(seed):
    chooser = random.Random(seed)
    alphabet = b"0123456789:ab\x00 +-"
    accepted = refused = 0
    for _ in range(5000):
        data = bytearray(wire.encode(*[bytes(chooser.choice(alphabet) for _ in range(
            chooser.randint(0, 3))) for _ in range(chooser.randint(1, 4))]))
        for _ in range(chooser.randint(0, 2)):  # a message spoiled, or left as it is
            at = chooser.randrange(len(data) + 1)
            data[at:at + chooser.randint(0, 1)] = bytes([chooser.choice(alphabet)]) \
                if chooser.random() < 0.7 else b""
        data = bytes(data)
        max_fields = chooser.randint(0, 4)
        expected = reference(data, max_fields)
        assert decoded(data, max_fields) == expected, (data, max_fields)
        accepted += expected is not None
        refused += expected is None
    assert accepted > 100 and refused > 100  # both sides of the grammar were tried


def test_encoded_messages_decode_to_their_fields():
    chooser = random.Random(7)
    for _ in range(2000):
        fields = [bytes(chooser.randrange(256) for _ in range(chooser.randint(0, 30)))
                  for _ in range(chooser.randint(1, 12))]
        assert wire.decode(wire.encode(*fields)) == fields
    assert wire.decode(wire.encode(b"k", 12, -3, "é", True)) == [b"k", b"12", b"-3",
                                                                     "é".encode(), b"1"]


def test_long_fields_and_too_many_fields_are_refused():
    big = wire.MAX_FIELD + 1
    assert decoded(b"%d:" % big + b"x" * big, wire.MAX_FIELDS) is None
    assert decoded(b"%d:" % wire.MAX_FIELD + b"x" * wire.MAX_FIELD, wire.MAX_FIELDS) \
        == [b"x" * wire.MAX_FIELD]
    assert decoded(b"0:" * (wire.MAX_FIELDS + 1), wire.MAX_FIELDS) is None
    assert decoded(b"0:" * wire.MAX_FIELDS, wire.MAX_FIELDS) == [b""] * wire.MAX_FIELDS
