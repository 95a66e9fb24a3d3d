"""make test-pythons (tests/other_pythons.py): which tiers run under which CPython, and when a
missing one fails — its runs stood in for (each real run is minutes; the tiers themselves are
the suite's own tests)."""

import subprocess
import sys
from types import SimpleNamespace

import pytest

from tests import other_pythons
from tests.conftest import ROOT, RUN_IN_A_DEBIAN_ROOT, SUPPORTED_PYTHONS, runs_the_c_runit

OWN = "%d.%d" % sys.version_info[:2]
# what CI's machine has: every supported version but those a Debian tier runs
OTHERS = [version for version in SUPPORTED_PYTHONS
          if version != OWN and version not in RUN_IN_A_DEBIAN_ROOT]


class Runs(list):
    """The tiers main() ran, as (version, tier); ``found``: the machine's CPythons."""


@pytest.fixture
def runs(monkeypatch):
    """The tiers main() runs, each passing."""
    done = Runs()
    monkeypatch.setattr(other_pythons, "run_tier",
                        lambda version, python, workers, tier="pure":
                        done.append((version, tier)) or (True, 1.0))
    monkeypatch.setattr(other_pythons, "run_wheel_tier",
                        lambda workers: done.append(("every", "wheel")) or (True, 1.0))
    monkeypatch.setattr(other_pythons, "pythons",
                        lambda versions: {version: "/x/python" + version for version in versions
                                          if version in done.found})
    done.found = set(OTHERS)
    return done


def test_every_other_version_runs_its_pure_tier_and_the_oldest_its_runtime(runs):
    assert other_pythons.main([]) == 0
    assert sorted(runs) == sorted([(version, "pure") for version in OTHERS]
                                  + [("3.9", "runtime")] * (OWN != "3.9") + [("every", "wheel")])


def test_under_ci_a_version_a_debian_tier_runs_may_be_missing(runs, monkeypatch, capsys):
    if OWN in RUN_IN_A_DEBIAN_ROOT:
        pytest.skip("the running version is never missing")
    monkeypatch.setattr(other_pythons, "IN_CI", True)
    assert "3.14" in RUN_IN_A_DEBIAN_ROOT and "3.14" not in runs.found
    assert other_pythons.main([]) == 0
    assert "3.14  not on this machine: runs in make test-debian14" in capsys.readouterr().out


def test_one_versions_tiers(runs):
    assert other_pythons.main(["--versions", "3.9"]) == 0
    assert runs == ([("3.9", "pure"), ("3.9", "runtime")] if OWN != "3.9" else []) \
        + [("every", "wheel")]  # the wheel on every version, whichever were asked for
    del runs[:]
    assert other_pythons.main(["--versions", "3.10,3.12", "--runtime", "3.12"]) == 0
    assert [run for run in runs if run[1] == "runtime"] == (
        [("3.12", "runtime")] if OWN != "3.12" else [])


@pytest.mark.parametrize("missing", [version for version in ("3.9", "3.13") if version != OWN])
def test_under_ci_a_missing_oldest_or_newest_fails(runs, monkeypatch, capsys, missing):
    """(The running version is never missing: not a case.)"""
    runs.found.discard(missing)
    monkeypatch.setattr(other_pythons, "IN_CI", False)
    assert other_pythons.main([]) == 0  # elsewhere: tested where there
    assert "%-5s not on this machine\n" % missing in capsys.readouterr().out
    monkeypatch.setattr(other_pythons, "IN_CI", True)
    assert other_pythons.main([]) == 1
    assert "%-5s not on this machine (a failure: CI=true)" % missing in capsys.readouterr().out
    assert (missing, "runtime") not in runs


@pytest.mark.parametrize("tier", ["pure", "runtime"])
def test_a_failed_tier_fails(runs, monkeypatch, tier):
    """Whichever version runs the suite: the oldest's runtime tier is asked for by name."""
    failing = tier
    monkeypatch.setattr(other_pythons, "run_tier",
                        lambda version, python, workers, tier="pure": (tier != failing, 1.0))
    assert other_pythons.main(["--versions", ",".join(OTHERS),
                               "--runtime", OTHERS[0]]) == 1


def test_the_runtime_tier_names_what_exists_and_runs_ours_alone_in_two_workers():
    paths = [item for item in other_pythons.RUNTIME if item.startswith("tests/")]
    missing = [path for path in paths
               if not (other_pythons.ROOT / path.split("::")[0]).exists()]
    assert not missing, missing
    argv = other_pythons.pytest_argv("runtime", 2)
    assert argv[:2] == ["-m", "pytest"] and "--ours-only" in argv
    assert argv[argv.index("-n") + 1] == "2"
    assert argv[argv.index("--ours-only") - 1] == "slow or interop"
    assert "tests/runtime/supervision" in argv
    pure = other_pythons.pytest_argv("pure", 2)
    assert "--ours-only" not in pure and pure[-1] == other_pythons.PURE


def test_ours_only_leaves_out_each_run_against_the_c_runit():
    """``--ours-only`` (tests/conftest.py): a test's runs against the C runit, by the
    parameters that choose it, are deselected — and only those."""
    class Item:
        def __init__(self, **params):
            self.callspec = SimpleNamespace(params=params)
    assert runs_the_c_runit(Item(impl="c")) and runs_the_c_runit(Item(outer="c-runsvdir"))
    assert runs_the_c_runit(Item(which="c", flag="-P"))
    assert not runs_the_c_runit(Item(impl="ours")) and not runs_the_c_runit(Item(script="c"))
    assert not runs_the_c_runit(object())
    collected = {}
    for options in ([], ["--ours-only"]):
        done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                               "-p", "no:cacheprovider", "tests/runtime/test_runsvdir_nested.py"]
                              + options, cwd=str(ROOT), capture_output=True, text=True,
                              timeout=300)
        collected[bool(options)] = {line for line in done.stdout.splitlines() if "::" in line}
    dropped = collected[False] - collected[True]
    assert dropped and collected[True] < collected[False]
    assert all("[c" in line or "-c" in line for line in dropped), dropped
    assert not any("[c]" in line or "[c-" in line for line in collected[True])


def test_a_failed_wheel_tier_fails(runs, monkeypatch):
    monkeypatch.setattr(other_pythons, "run_wheel_tier", lambda workers: (False, 1.0))
    assert other_pythons.main(["--versions", ",".join(OTHERS)]) == 1


def test_the_wheel_on_every_python_runs_here_and_not_in_make_test():
    def collected(*options):
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "--collect-only",
                               "-p", "no:cacheprovider"] + list(options)
                              + ["tests/test_wheel.py"], cwd=str(ROOT), capture_output=True,
                              text=True, timeout=120)
        return [line for line in done.stdout.splitlines() if "::" in line]
    every = "tests/test_wheel.py::test_the_wheel_alone_runs_the_demo_on_every_supported_python"
    assert every not in collected()
    assert collected("--every-python", "-m", "every_python") == [every]
