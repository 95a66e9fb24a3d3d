"""The suite's own rule: under ``CI=true`` a skip is a failure unless tests/skips.py allows
its reason, and docs/testing.md lists the same reasons."""

import os
import re
import subprocess
import sys

import pytest

from .conftest import ROOT
from .skips import ALLOWED_IN_CI, allowed_in_ci, skip_reason


def test_a_missing_component_is_not_allowed_and_a_named_reason_is():
    assert allowed_in_ci("curl is missing (apt-get install curl)") is None
    assert allowed_in_ci("needs root") is None
    assert allowed_in_ci("the C runsvchdir before 2.3.0 ignores $RUNSVDIR")
    assert allowed_in_ci("tzdata 2025b here, 2024a in the fixture: Europe/Kyiv's rules")
    # anchored at the start: a reason that only quotes an allowed one is not allowed
    assert allowed_in_ci("x: the running version is never missing") is None


def test_the_reason_is_read_from_the_report():
    class Report:
        longrepr = ("tests/x.py", 3, "Skipped: curl is missing")
    assert skip_reason(Report) == "curl is missing"


def allowed_section():
    text = (ROOT / "docs" / "testing.md").read_text()
    start = text.index("## Skips")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def test_docs_list_every_allowed_reason_and_no_other():
    section = allowed_section()
    listed = re.findall(r"^- \"([^\"]+)\"", section, re.M)
    assert len(listed) == len(ALLOWED_IN_CI), listed
    for (pattern, _), reason in zip(ALLOWED_IN_CI, listed):
        assert re.match(pattern, reason), (pattern, reason)


SUITE = '''
import pytest

def test_missing():
    pytest.skip("curl is missing (apt-get install curl)")

def test_allowed():
    pytest.skip("the C runsvchdir before 2.3.0 ignores $RUNSVDIR")

@pytest.mark.not_applicable(impl="c", reason="ours alone")
@pytest.mark.parametrize("impl", ["ours", "c"])
def test_one_runtime(impl):
    assert impl == "ours"
'''


@pytest.mark.slow
@pytest.mark.parametrize("ci", ["true", ""])
def test_under_ci_a_skip_not_allowed_fails(tmp_path, ci):
    (tmp_path / "test_inner.py").write_text(SUITE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rfs", "-n0", "-p", "no:cacheprovider",
         "-p", "tests.conftest", "-c", str(ROOT / "pyproject.toml"),
         "--rootdir", str(ROOT), "--basetemp", str(tmp_path / "inner"),
         str(tmp_path / "test_inner.py")],
        cwd=str(ROOT), env=dict(os.environ, CI=ci), capture_output=True, text=True, timeout=120)
    last = done.stdout.strip().splitlines()[-1]
    if ci:
        assert done.returncode == 1, done.stdout
        assert "1 failed, 1 passed, 1 skipped, 1 deselected" in last, done.stdout
        assert "FAILED" in done.stdout and "test_missing" in done.stdout
        assert "a skip is a failure unless tests/skips.py allows its reason: curl is " \
            "missing (apt-get install curl)" in done.stdout
    else:
        assert done.returncode == 0, done.stdout
        assert "1 passed, 2 skipped, 1 deselected" in last, done.stdout


# A test that looks for the C runit itself skips, or drops its comparison, where CI should fail:
# require_c_runit() and wants_c_runit() (tests/conftest.py) are the ways to ask. importorskip
# would turn an ImportError of our own code, or of the test extra, into a skip.
OWN_LOOKUPS = re.compile(r"has_c_runit\(\)|(exists|access)\(C_(RUNSV|SV|RUNSVDIR)\b|importorskip\(")
WHERE_THEY_LIVE = (ROOT / "tests" / "conftest.py", ROOT / "tests" / "test_skips.py")


def test_no_test_looks_for_the_c_runit_itself():
    found = ["%s:%d" % (path.relative_to(ROOT), number)
             for path in sorted((ROOT / "tests").rglob("*.py"))
             if path not in WHERE_THEY_LIVE
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if OWN_LOOKUPS.search(line)]
    assert found == []
