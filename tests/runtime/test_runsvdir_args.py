"""runsvdir's argument parsing, as runsvdir.c's: only ``-P`` and ``--`` are options."""

import pytest

from runit_provision.runtime.runsvdir import parse_args


@pytest.mark.parametrize("args, parsed", [
    (["dir"], (False, "dir", None)),
    (["dir", "log: ......"], (False, "dir", "log: ......")),
    (["-P", "dir"], (True, "dir", None)),
    (["-Px", "dir"], (True, "dir", None)),  # only the letter after '-' is looked at
    (["--", "dir"], (False, "dir", None)),
    (["--", "-P"], (False, "-P", None)),  # one option at most: this -P is the directory
    (["-x"], (False, "-x", None)),  # any other "-x" is taken as the directory
    (["-P", "dir", "log: ..", "extra"], (True, "dir", "log: ..")),
    ([], None),
    (["-P"], None),
    (["--"], None),
])
def test_parse_args(args, parsed):
    assert parse_args(args) == parsed
