"""The pure tier under every other supported CPython the machine has, and the runtime's tier
under the oldest: pyproject.toml promises ``>=3.9``, EL 9's ``python3`` is 3.9, and the runtime
runs on the host's own interpreter — so each version's tiers run, not only the one ``make test``
uses. The newest versions' runtime tiers run in the Debian tiers, under Debian's own ``python3``
(3.13: ``make test-debian13``; 3.14, pure tier too: ``make test-debian14``), not again here.

For each supported version but the running one (found as tests/conftest.py's ``pythons``
finds them: on PATH, or pyenv's beside the running interpreter), a virtualenv ``.venv-X.Y`` of
the checkout (made once, again when pyproject.toml changes) runs ``pytest -m "not slow and not
interop and not puppet"`` in two workers; under the oldest (``--runtime``), the runtime's real
processes too (``RUNTIME``, ours alone: ``--ours-only``). The tools those tests start are
the virtualenv's console scripts, whose ``#!`` is its interpreter, and the fork server is
exec'd as that interpreter (``sys.executable``): every process of the runtime runs on X.Y
(``test_the_runtime_runs_on_the_interpreter_of_the_tests`` checks /proc/PID/exe).

Exit 0 when every tier passed; 1 when one failed; under ``CI=true`` a supported version the
machine lacks is a failure too, but one a Debian tier runs in its root (3.14: Debian 14's
``python3``, ``RUN_IN_A_DEBIAN_ROOT``) (docs/testing.md#pythons).

Usage: ``.venv/bin/python tests/other_pythons.py [--versions 3.9,3.13] [--runtime 3.9]
[--workers N]``
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import (IN_CI, RUN_IN_A_DEBIAN_ROOT, SUPPORTED_PYTHONS,  # noqa: E402
                            missing_in_ci, pythons)

PURE = "not slow and not interop and not puppet"
# The runtime's tier under another CPython: the real-process tests of what an interpreter can
# change — every tool's output byte for byte (the transcripts: runsv, sv, svlogd, chpst,
# runsvdir, utmpset), runsvdir's trees (scans, limits, signals, inotify), svlogd on disk, chpst,
# an idle runsv's wakeups, the names ps shows, nested and users' trees, the fork server and
# the logger hosts and agents forked from it (supervision/: where CPython's internals are
# used). Left out, as the same code paths at greater cost: sv's and the faults' long waits,
# the chaos runs, readiness, the stage runner (runit) and a tree of 1001 services (its fds'
# limits are test_a_tree_larger_than_the_fd_soft_limit_runs's) — 2–2.5 minutes of two
# workers on a loaded machine, against 9 for all of tests/runtime (docs/testing.md#pythons).
RUNTIME = ("tests/runtime/test_transcripts.py", "tests/runtime/test_runsvdir.py",
           "tests/runtime/test_runsvdir_nested.py", "tests/runtime/test_svlogd.py",
           "tests/runtime/test_chpst.py", "tests/runtime/test_runsv_idle.py",
           "tests/runtime/test_process_identity.py", "tests/runtime/supervision",
           "--deselect", "tests/runtime/test_runsvdir.py::test_more_services_than_runits_ceiling")


def venv_for(version, python):
    """``.venv-X.Y``'s interpreter, the checkout installed in it with its test extra."""
    venv = ROOT / (".venv-" + version)
    stamp = venv / ".installed"
    if not stamp.exists() or stamp.stat().st_mtime < (ROOT / "pyproject.toml").stat().st_mtime:
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", "-e", str(ROOT) + "[test]"],
                       check=True, timeout=900)
        stamp.touch()
    return venv / "bin" / "python"


def run_tier(version, python, workers, tier="pure"):
    """``(passed?, seconds)`` of one version's ``tier`` (``pure`` or ``runtime``), its output
    shown as it comes."""
    print("\n== CPython %s: the %s tier (%s)" % (version, tier, python), flush=True)
    started = time.monotonic()
    done = subprocess.run([str(venv_for(version, python))] + pytest_argv(tier, workers),
                          cwd=str(ROOT), timeout=3600)
    return done.returncode == 0, time.monotonic() - started


def run_wheel_tier(workers):
    """``(passed?, seconds)`` of the tests marked ``every_python`` (the built wheel, alone, on
    every supported CPython at once), under this interpreter."""
    print("\n== every CPython: the wheel alone", flush=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "--every-python", "-m", "every_python", "tests/test_wheel.py"],
                          cwd=str(ROOT), timeout=3600)
    return done.returncode == 0, time.monotonic() - started


def pytest_argv(tier, workers):
    """The interpreter's arguments that run ``tier`` (``pure`` or ``runtime``)."""
    selection = ["-m", PURE] if tier == "pure" else \
        ["-m", "slow or interop", "--ours-only"] + list(RUNTIME)
    return ["-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", str(workers)] \
        + selection


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default=",".join(SUPPORTED_PYTHONS),
                        help="the versions to run (default: every supported one)")
    parser.add_argument("--runtime", default=SUPPORTED_PYTHONS[0],
                        help="those of --versions whose runtime tier runs too (default: the "
                        "oldest supported; the newest runs in make test-debian14; '' for none)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    own = "%d.%d" % sys.version_info[:2]
    wanted = [version for version in args.versions.split(",") if version and version != own]
    runtime = [version for version in args.runtime.split(",") if version in wanted]
    found = pythons(wanted)
    missing = missing_in_ci(found, wanted)
    results = {}
    for version, path in found.items():
        results[version, "pure"] = run_tier(version, path, args.workers)
        if version in runtime:
            results[version, "runtime"] = run_tier(version, path, args.workers, "runtime")
    print("\n== the tiers by CPython (%s ran in make test)" % own)
    for version in wanted:
        if version in RUN_IN_A_DEBIAN_ROOT and version not in found:
            print("%-5s not on this machine: runs in %s" % (version,
                                                          RUN_IN_A_DEBIAN_ROOT[version]))
        elif version not in found:
            print("%-5s not on this machine%s" % (version, " (a failure: CI=true)" if IN_CI
                                                   else ""))
        for tier in ("pure", "runtime"):
            if (version, tier) in results:
                passed, seconds = results[version, tier]
                print("%-5s %-7s %s in %.0f s" % (version, tier, "passed" if passed
                                                  else "FAILED", seconds))
    results["every", "wheel"] = run_wheel_tier(args.workers)
    print("every wheel   %s in %.0f s" % ("passed" if results["every", "wheel"][0]
                                         else "FAILED", results["every", "wheel"][1]))
    failed = [key for key, (passed, _) in results.items() if not passed]
    return 1 if failed or (missing and IN_CI) else 0


if __name__ == "__main__":
    sys.exit(main())
