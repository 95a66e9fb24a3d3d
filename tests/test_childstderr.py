"""tests/childstderr.py and its hooks in tests/conftest.py: what a test's commands said on
stderr is kept for its report, so that a failure shows the child's own words."""

import doctest
import subprocess

import pytest

from . import childstderr
from .conftest import CHILDREN_STDERR


def test_the_commands_a_test_runs_are_kept_for_its_report(request):
    done = subprocess.run(["sh", "-c", "echo out; echo 'RecursionError: deep' >&2; exit 3"],
                          capture_output=True, text=True)
    assert done.returncode == 3 and done.stdout == "out\n"  # what the caller gets: unchanged
    subprocess.run(["true"], capture_output=True)  # nothing on stderr: nothing kept
    with pytest.raises(subprocess.CalledProcessError):
        subprocess.run(["sh", "-c", "echo checked >&2; exit 1"], capture_output=True,
                       check=True)
    kept = request.node.stash[CHILDREN_STDERR]
    assert kept[-2:] == [(["sh", "-c", "echo out; echo 'RecursionError: deep' >&2; exit 3"], 3,
                          "RecursionError: deep\n"),
                         (["sh", "-c", "echo checked >&2; exit 1"], 1, "checked\n")]
    assert "$ sh -c 'echo checked >&2; exit 1'   (exit 1)\nchecked\n" in \
        childstderr.report_text(kept)


def test_a_long_stderr_keeps_its_end_and_the_last_children():
    found = []
    with childstderr.recording(found):
        for number in range(childstderr.KEPT_CHILDREN + 2):
            subprocess.run(["sh", "-c", "printf %%06000d 0 >&2; echo ' end %d' >&2" % number],
                           capture_output=True)
    assert len(found) == childstderr.KEPT_CHILDREN
    assert found[-1][2].endswith(" end %d\n" % (childstderr.KEPT_CHILDREN + 1))
    assert len(found[-1][2]) == childstderr.KEPT_CHARS


def test_the_report_texts_example():
    result = doctest.testmod(childstderr)
    assert result.failed == 0 and result.attempted > 0
