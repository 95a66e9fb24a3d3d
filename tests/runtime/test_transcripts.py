"""Golden transcripts: the same script must give the same output on our tools and the C runit.

``NAME.out`` is the expectation for both; ``NAME.c.out`` / ``NAME.ours.out``, when present,
record a deliberate difference (each hunk of their diff is named in docs/compatibility.md:
``test_transcript_differences.py``); ``NAME.c-X.Y.Z.out`` what the C runit X.Y.Z (Debian 13's
2.2.0) does where it changed from Debian 12's 2.1.2 (docs/compatibility.md#runit-220-debian-13):
the C runs are held to the release installed.

Every transcript runs in a PID namespace and a scratch directory of its own, and most of its
time is spent waiting (runsv's 1 s back-off, whole-second ages, ``sv -w`` timeouts): they are
run four at a time, all of them on the first test's request, and each test reads its own
result (2 min 15 s one after the other; about a third of that so).
"""

import concurrent.futures
import difflib
from pathlib import Path

import pytest

from ..conftest import c_runit_version, make_bin_dir, wants_c_runit
from .transcript import run_transcript

HERE = Path(__file__).resolve().parent / "transcripts"
SCRIPTS = sorted(HERE.glob("*.sh"))


def expected_for(script, impl, c_version=None):
    """The expected output of ``script`` on ``impl``, the C runit's being of ``c_version``."""
    names = ([".c-%s.out" % c_version] if impl == "c" and c_version else []) + \
        [".%s.out" % impl, ".out"]
    return next(path for path in (script.with_suffix(name) for name in names)
                if path.exists()).read_text()


_PARALLEL = 6  # mostly asleep (sv -w, back-offs): 6 at once on 2 cores


@pytest.fixture(scope="session")
def transcripts(tmp_path_factory, request):
    """Every transcript's output for every installed implementation (ours alone under
    ``--ours-only``), run in parallel: ``{(script, impl): output}`` (an exception stands for a
    run that failed)."""
    wants_c = not request.config.getoption("--ours-only") and wants_c_runit()
    impls = ["ours"] + (["c"] if wants_c else [])
    root = tmp_path_factory.mktemp("transcripts")
    bins = {impl: make_bin_dir(root / ("bin-" + impl), impl) for impl in impls}
    # sv's transcripts wait out -w timeouts and runsv's 1 s back-off (up to 18 s each): they
    # go first, so that the short ones fill the gaps instead of trailing behind them
    jobs = sorted(((script, impl) for script in SCRIPTS for impl in impls),
                  key=lambda job: not job[0].name.startswith("sv-"))

    def run(job):
        script, impl = job
        return run_transcript(script, bins[impl], root / ("%s-%s" % (script.stem, impl)))
    results = {}
    with concurrent.futures.ThreadPoolExecutor(_PARALLEL) as pool:
        futures = {pool.submit(run, job): job for job in jobs}
        for future in concurrent.futures.as_completed(futures):
            try:
                results[futures[future]] = future.result()
            except Exception as exc:  # noqa: BLE001 — reported by the test it belongs to
                results[futures[future]] = exc
    return results


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_transcript(script, impl, transcripts):
    actual = transcripts[(script, impl)]
    if isinstance(actual, Exception):
        raise actual
    expected = expected_for(script, impl, c_runit_version())
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True),
            "%s (expected)" % script.name, "%s (%s)" % (script.name, impl)))
        pytest.fail("transcript differs:\n" + diff)
