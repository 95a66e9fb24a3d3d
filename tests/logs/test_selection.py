"""logs/selection.py: how many lines a view keeps, across the chunks a merge yields."""

import re

import pytest

from runit_provision.logs.selection import first_of, last_of, matching
from runit_provision.logs.view import Merged


STAMP = b"@4000000065000000%08x "  # a TAI64N stamp, as svlogd -t writes it


def chunk(*numbers):
    lines = [STAMP % number + b"line %d" % number for number in numbers]
    return Merged(lines, ["src"] * len(lines), list(numbers), [True] * len(lines),
                  ["current"] * len(lines))


def lines_of(chunks):
    return [line[len(STAMP % 0):].decode() for piece in chunks for line in piece.lines]


CHUNKS = ((1, 2, 3), (4,), (5, 6, 7, 8))


@pytest.mark.parametrize("count, expected", [
    (0, []), (1, [8]), (4, [5, 6, 7, 8]), (5, [4, 5, 6, 7, 8]), (6, [3, 4, 5, 6, 7, 8]),
    (8, list(range(1, 9))), (100, list(range(1, 9)))])
def test_the_last_lines_cross_chunk_boundaries(count, expected):
    kept = last_of((chunk(*numbers) for numbers in CHUNKS), count)
    assert lines_of(kept) == ["line %d" % number for number in expected]
    for piece in kept:  # every list of a cut chunk is cut alike
        assert len(piece.sources) == len(piece.keys) == len(piece.exact) == len(piece.lines)


@pytest.mark.parametrize("count, expected", [
    (0, []), (2, [1, 2]), (3, [1, 2, 3]), (5, [1, 2, 3, 4, 5]), (100, list(range(1, 9)))])
def test_the_first_lines_stop_reading_once_they_have_enough(count, expected):
    read = []

    def chunks():
        for numbers in CHUNKS:
            read.append(numbers)
            yield chunk(*numbers)
    assert lines_of(first_of(chunks(), count)) == ["line %d" % number for number in expected]
    assert len(read) <= 1 + sum(1 for index in range(len(CHUNKS))
                                if sum(map(len, CHUNKS[:index])) < count)


def test_matching_keeps_the_lines_whose_text_the_pattern_finds_with_their_keys():
    kept = matching(chunk(1, 2, 12, 3), re.compile(rb"1"))
    assert lines_of([kept]) == ["line 1", "line 12"] and kept.keys == [1, 12]
    assert matching(chunk(1, 2), re.compile(rb"@4000")).lines == []  # never the stamp
