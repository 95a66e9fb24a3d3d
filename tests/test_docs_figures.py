"""bench/RESULTS.md and docs/design.md's budgets say the same: every row design.md's budget
tables name is a row of the figures, every figure with a budget is named there, with its
budget worded as there, and says whether it is met; a row stays a row, not a diary; and every
"RESULTS.md … row N" written elsewhere names a row that exists."""

import re

import pytest

from .conftest import ROOT

RESULTS = ROOT / "bench" / "RESULTS.md"
DESIGN = ROOT / "docs" / "design.md"
LONGEST_ROW = 400  # characters of a row's markdown: a few lines rendered
NONE = "—"


def cells(line):
    r"""A markdown table line's cells, ``\|`` kept inside a cell.

    >>> cells("| 1 | a \\| b | c |")
    ['1', 'a \\| b', 'c']
    """
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def tables(text):
    """Every table of ``text``: a list of {header: cell} rows, in order."""
    found, header = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        row = cells(line)
        if header is None:
            header = row
            found.append([])
        elif not set("".join(row)) <= set("-: "):
            found[-1].append(dict(zip(header, row)))
    return found


def figures():
    """RESULTS.md's figures by row number."""
    table, = [t for t in tables(RESULTS.read_text()) if t and "met?" in t[0]]
    return {row["#"]: row for row in table}


def section(text, heading):
    start = text.index("\n## %s\n" % heading)
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def row_numbers(text):
    """Row numbers a "rows" cell or a sentence names: ``9, 9b``, ``12; the tree's: 5``,
    ``rows 9–9c`` (both ends).

    >>> row_numbers("12; the tree's: 5")
    ['12', '5']
    >>> row_numbers("9–9c, 46")
    ['9', '9c', '46']
    >>> row_numbers("— (not built)")
    []
    """
    return re.findall(r"\b\d+[a-e]?\b", text)


def design_budgets():
    """(budget, row numbers) of every row of design.md's budget tables."""
    found = []
    for table in tables(section(DESIGN.read_text(), "Budgets")):
        for row in table:
            found.append((row["budget"], row_numbers(row["rows"])))
    return found


def test_every_row_design_names_is_a_figure():
    rows = figures()
    missing = [number for _budget, numbers in design_budgets() for number in numbers
               if number not in rows]
    assert missing == []


@pytest.mark.parametrize("number, row", sorted(figures().items()))
def test_a_figure_with_a_budget_is_worded_as_design_says_and_says_if_met(number, row):
    budget, met = row["budget"], row["met?"]
    assert len("|".join(row.values())) <= LONGEST_ROW, "row %s is a diary again" % number
    if budget.startswith(NONE):
        assert met.startswith(NONE), "row %s: no budget, so nothing is met" % number
        return
    assert "met" in met, "row %s: met or not met?" % number
    worded = [text for text, numbers in design_budgets() if number in numbers]
    assert worded, "row %s has a budget design.md does not name" % number
    own = re.sub(r"\s*\([^()]*\)$", "", budget)  # "… (issue 29)": where it comes from
    for part in own.split("; "):
        assert any(part in text for text in worded), (
            "row %s: %r is not how design.md words its budget: %r" % (number, part, worded))


def named_rows():
    """(file, row) of every "RESULTS.md …, row(s) N[–M]" in the docs, the CHANGELOG, the README
    and the package's comments."""
    paths = [ROOT / "README.md", ROOT / "CHANGELOG.md"] + sorted((ROOT / "docs").glob("*.md"))
    paths += sorted((ROOT / "runit_provision").rglob("*.py"))
    mention = re.compile(r"RESULTS\.md[^.;]{0,40}?\brows? (\d+[a-e]?(?:[–-]\d+[a-e]?)?)")
    for path in paths:
        text = " ".join(path.read_text().split())
        for match in mention.finditer(text):
            for number in row_numbers(match.group(1)):
                yield path.relative_to(ROOT), number


def test_every_row_named_elsewhere_exists():
    rows = figures()
    found = list(named_rows())
    assert found, "the pattern finds the docs' references"
    assert [(str(path), number) for path, number in found if number not in rows] == []
