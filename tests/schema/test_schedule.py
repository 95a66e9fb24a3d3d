"""schema/schedule.py: a schedule string read into model.Schedule, a fault placed at the
file:line:col of the character that is wrong — plain, quoted, in a list — and at the key
(with the column in the message) where the file does not show the string as it is."""

import pytest

from runit_provision.errors import DataError
from runit_provision.model import Schedule
from runit_provision.schema.problems import Problems
from runit_provision.schema.readers import Readers
from runit_provision.schema.schedule import read_schedule
from runit_provision.source import load_yaml_with_origins


def read_from(tmp_path, text, path):
    """read_schedule of the value at ``path`` of a data file ``text``: (Schedule, error)."""
    data_file = tmp_path / "common.yaml"
    data_file.write_text(text)
    data, origins = load_yaml_with_origins(data_file)
    problems = Problems(origins)
    value = data
    for part in path:
        value = value[part]
    schedule = read_schedule(Readers(problems), path, value)
    try:
        problems.raise_if_any()
    except DataError as exc:
        return schedule, str(exc).replace(str(data_file), "common.yaml")
    return schedule, None


@pytest.mark.parametrize("text, where", [
    ("jobs:\n  backup:\n    schedule: Mon *-*-* 25:00\n", "common.yaml:3:25"),
    ("jobs:\n  backup:\n    schedule: 'Mon *-*-* 25:00'\n", "common.yaml:3:26"),
    ('jobs:\n  backup: {schedule: "Mon *-*-* 25:00"}\n', "common.yaml:2:33"),
    ("jobs:\n  backup:\n    schedule:   Mon *-*-* 25:00   # at night\n", "common.yaml:3:27"),
])
def test_a_fault_is_placed_at_its_character(tmp_path, text, where):
    schedule, error = read_from(tmp_path, text, ("jobs", "backup", "schedule"))
    assert schedule is None
    assert error == ("%s: jobs.backup.schedule: the hour 25 is not within 0..23 "
                     "('Mon *-*-* 25:00', column 11)" % where)


def test_a_list_item_and_cron_fields_are_placed_too(tmp_path):
    _, error = read_from(tmp_path, "times:\n  - daily\n  - '0 0 * * mon-sun'\n",
                         ("times", 1))
    assert error.startswith("common.yaml:3:14: times[1]: the range mon-sun runs backwards")


def test_a_string_the_file_does_not_show_as_is_is_placed_at_its_key(tmp_path):
    _, error = read_from(tmp_path, "jobs:\n  backup:\n    schedule: >-\n      Mon *-*-*\n"
                         "      25:00\n", ("jobs", "backup", "schedule"))
    assert error.startswith("common.yaml:3:5: jobs.backup.schedule: the hour 25 is not "
                            "within 0..23 ('Mon *-*-* 25:00', column 11)")


def test_a_good_schedule_is_kept_as_written_and_parsed(tmp_path):
    schedule, error = read_from(tmp_path, "s: Mon-Fri 02:30 Europe/Berlin\n", ("s",))
    assert error is None
    assert schedule == Schedule(text="Mon-Fri 02:30 Europe/Berlin", kind="calendar",
                                normalized="Mon..Fri *-*-* 02:30:00 Europe/Berlin")
    assert schedule.parsed().next_elapse(0) is not None
    cron, _ = read_from(tmp_path, "s: '*/15 * * * *'\n", ("s",))
    assert (cron.kind, cron.normalized) == ("cron", "*/15 * * * *")


def test_not_a_string_is_said_so(tmp_path):
    _, error = read_from(tmp_path, "s: 15\n", ("s",))
    assert error == "common.yaml:1:1: s: expected a string, got a number"
