"""The transcripts' deliberate differences are named: where the C runit's expected output
(``NAME.c.out``, else ``NAME.out``) and ours (``NAME.ours.out``, else ``NAME.out``) differ,
each hunk of their diff is claimed by a line of docs/compatibility.md's table "Transcripts that
differ by design" (one row to a hunk), each line of it claims a hunk, and each links a row of
that page. An ``.ours.out`` recorded from our own output then cannot hide a difference nobody
wrote down."""

import difflib
import re
from pathlib import Path

import pytest

from ..test_docs_links import anchors

HERE = Path(__file__).resolve().parent / "transcripts"
ROOT = HERE.parents[2]
PAGE = ROOT / "docs" / "compatibility.md"
SECTION = "### Transcripts that differ by design"
ROW = re.compile(r"^\| `([^`]+)` \| `(.+)` \| \[[^\]]+\]\(#([^)]+)\) \|$")


def claims(page=PAGE):
    """``[(transcript, text, anchor)]``: the section's table, in order."""
    lines = page.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0].splitlines()
    rows = [line for line in lines if line.startswith("| `")]
    found = [ROW.match(line) for line in rows]
    assert all(found), [line for line, match in zip(rows, found) if not match]
    return [match.groups() for match in found]


def expected_files(name):
    """(the C runit's expected output, ours): paths, the same one when they agree."""
    def first(*suffixes):
        return next(HERE / (name + suffix) for suffix in suffixes
                    if (HERE / (name + suffix)).exists())
    return first(".c.out", ".out"), first(".ours.out", ".out")


def hunks(c_file, ours_file):
    """Each run of changed lines of the diff, C's lines then ours (a diff without context)."""
    c_lines, ours_lines = c_file.read_text().splitlines(), ours_file.read_text().splitlines()
    matcher = difflib.SequenceMatcher(None, c_lines, ours_lines, autojunk=False)
    return [c_lines[i1:i2] + ours_lines[j1:j2]
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


DIFFERING = sorted(script.stem for script in HERE.glob("*.sh")
                   if len(set(expected_files(script.stem))) == 2)


@pytest.mark.parametrize("name", DIFFERING)
def test_each_hunk_is_claimed_by_a_named_difference(name):
    mine = [(text, anchor) for transcript, text, anchor in claims() if transcript == name]
    found = hunks(*expected_files(name))
    rows = [{anchor for text, anchor in mine if any(text in line for line in hunk)}
            for hunk in found]
    idle = [(text, anchor) for text, anchor in mine
            if not any(text in line for hunk in found for line in hunk)]
    assert found, "%s: the C runit's and our expected output are the same file's" % name
    assert [hunk for hunk, by in zip(found, rows) if not by] == [], \
        "%s: hunks no line of %s claims" % (name, SECTION)
    # two rows in one hunk: differences side by side, where a third could hide; the
    # transcript prints a line between them
    assert [hunk for hunk, by in zip(found, rows) if len(by) > 1] == [], \
        "%s: hunks that more than one row claims" % name
    assert idle == [], "%s: lines of %s that claim no hunk" % (name, SECTION)


def test_every_line_of_the_table_names_a_differing_transcript_and_a_row():
    table = claims()
    assert table
    assert sorted({transcript for transcript, _, _ in table}) == DIFFERING
    assert {anchor for _, _, anchor in table} <= anchors(PAGE)


def test_a_hunk_is_claimed_only_by_text_it_shows(tmp_path):
    c_file, ours_file = tmp_path / "x.c.out", tmp_path / "x.ours.out"
    c_file.write_text("same\nold line\nsame\ngone\n")
    ours_file.write_text("same\nnew line\nsame\n")
    assert hunks(c_file, ours_file) == [["old line", "new line"], ["gone"]]
