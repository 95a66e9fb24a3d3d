"""docs/schedule.md says what the code does: every row of its tables (the calendar forms and
their normalized forms, what is refused and the words said, cron's example lines) and its
Python example hold."""

import doctest
import re

import pytest

from runit_provision.protocol.schedule import ScheduleError, is_cron, parse_schedule
from tests.conftest import ROOT

PAGE = (ROOT / "docs" / "schedule.md").read_text()


def table(header):
    """The rows of every table whose header row is ``header``: each a list of its cells, a
    cell written as one code span given as its code."""
    lines = PAGE.split("\n")
    rows = []
    for start in (index for index, line in enumerate(lines) if line == header):
        for line in lines[start + 2:]:
            if not line.startswith("|"):
                break
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows.append([cell[1:-1] if re.fullmatch(r"`[^`]+`", cell) else cell
                         for cell in cells])
    return rows


FORMS = table("| Form | Example | Normalized |")
REFUSED = table("| Written | Said |")


@pytest.mark.parametrize("form, example, normalized", FORMS)
def test_every_form_normalizes_as_the_page_says(form, example, normalized):
    spec = parse_schedule(example)
    assert spec.kind == "calendar" and str(spec) == normalized, form


@pytest.mark.parametrize("written, said", REFUSED)
def test_every_refusal_says_what_the_page_says(written, said):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(written)
    if said.startswith("column "):
        assert str(caught.value) == said


@pytest.mark.parametrize("line, runs", table("| Line | Runs |"))
def test_every_cron_line_is_cron(line, runs):
    assert is_cron(line) and parse_schedule(line).kind == "cron", runs


def test_the_pages_python_example_runs():
    block = re.search(r"```python\n(.*?)```", PAGE, re.S).group(1)
    test = doctest.DocTestParser().get_doctest(block, {}, "docs/schedule.md", None, 0)
    runner = doctest.DocTestRunner()
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 4


def test_the_tables_are_read():
    assert len(FORMS) >= 30 and len(REFUSED) >= 15
