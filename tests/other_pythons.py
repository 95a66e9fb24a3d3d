"""The pure tier under every other supported CPython the machine has (issue 47): pyproject.toml
promises ``>=3.9``, EL 9's ``python3`` is 3.9 and Debian 13's is 3.13, and the runtime runs on
the host's own interpreter — so each version's tier runs, not only the one ``make test`` uses.

For each of 3.9–3.13 but the running one (found as tests/conftest.py's ``pythons`` finds them:
on PATH, or pyenv's beside the running interpreter), a virtualenv ``.venv-X.Y`` of the checkout
(made once, again when pyproject.toml changes) runs ``pytest -m "not slow and not interop and
not puppet"`` in two workers. Exit 0 when every tier passed; 1 when one failed; under
``CI=true`` a supported version the machine lacks is a failure too (docs/testing.md#pythons).

Usage: ``.venv/bin/python tests/other_pythons.py [--versions 3.9,3.13] [--workers N]``
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import IN_CI, SUPPORTED_PYTHONS, pythons  # noqa: E402 — the checkout's

PURE = "not slow and not interop and not puppet"


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


def run_tier(version, python, workers):
    """``(passed?, seconds)`` of one version's pure tier, its output shown as it comes."""
    print("\n== CPython %s: the pure tier (%s)" % (version, python), flush=True)
    started = time.monotonic()
    done = subprocess.run([str(venv_for(version, python)), "-m", "pytest", "-q", "-rs",
                           "-p", "no:cacheprovider", "-m", PURE, "-n", str(workers)],
                          cwd=str(ROOT), timeout=3600)
    return done.returncode == 0, time.monotonic() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default=",".join(SUPPORTED_PYTHONS),
                        help="the versions to run (default: every supported one)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    own = "%d.%d" % sys.version_info[:2]
    wanted = [version for version in args.versions.split(",") if version != own]
    found = pythons(wanted)
    missing = [version for version in wanted if version not in found]
    results = {version: run_tier(version, path, args.workers)
               for version, path in found.items()}
    print("\n== the pure tier by CPython (%s ran in make test)" % own)
    for version in wanted:
        if version in results:
            passed, seconds = results[version]
            print("%-5s %s in %.0f s" % (version, "passed" if passed else "FAILED", seconds))
        else:
            print("%-5s not on this machine%s" % (version, " (a failure: CI=true)" if IN_CI
                                                   else ""))
    failed = [version for version, (passed, _) in results.items() if not passed]
    return 1 if failed or (missing and IN_CI) else 0


if __name__ == "__main__":
    sys.exit(main())
