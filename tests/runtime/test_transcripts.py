"""Golden transcripts: the same script must give the same output on our tools and the C runit.

``NAME.out`` is the expectation for both; ``NAME.c.out`` / ``NAME.ours.out``, when present,
record a deliberate difference (each one is listed in the README).
"""

import difflib
from pathlib import Path

import pytest

from .transcript import run_transcript

HERE = Path(__file__).resolve().parent / "transcripts"
SCRIPTS = sorted(HERE.glob("*.sh"))


def expected_for(script, impl):
    specific = script.with_suffix(".%s.out" % impl)
    return (specific if specific.exists() else script.with_suffix(".out")).read_text()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_transcript(script, impl, impl_bin, tmp_path):
    actual = run_transcript(script, impl_bin, tmp_path / "ctmp")
    expected = expected_for(script, impl)
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True),
            "%s (expected)" % script.name, "%s (%s)" % (script.name, impl)))
        pytest.fail("transcript differs:\n" + diff)
