"""The VM tier's fixtures (tests/vm_tier.py boots the VM that runs these tests): a fresh
delegated cgroup per test, a scratch directory on a disk, and no skip — in the VM everything
these tests need is there, so a skip is a failure."""

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from runit_provision.runtime.unix.cgroup import remove_cgroup_tree

# The tests here run only in the VM (tests/vm_tier.py, ``make test-vm``), which sets
# RUNIT_PROVISION_VM=1: elsewhere the machine lacks what they test and pytest does not collect
# them, whether the suite runs or tests/vm/ is named.
IN_THE_VM = os.environ.get("RUNIT_PROVISION_VM") == "1"
# What ``delegate()`` of tests/vm_tier.py made: the parent of the tests' cgroups, inside the
# test unit's delegated subtree, the tier's controllers enabled for its children.
TESTS_CGROUP = os.environ.get("RUNIT_PROVISION_VM_CGROUP", "")


def in_cgroup(cgroup, argv):
    """``argv`` started inside ``cgroup`` (a shell moves itself there, then execs it)."""
    return ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', str(cgroup)] + list(argv)


def populated(cgroup):
    """Whether a process is in ``cgroup`` or below (its cgroup.events)."""
    return "populated 1" in Path(cgroup, "cgroup.events").read_text().splitlines()


def remove_cgroup(cgroup, seconds=60):
    """Every process of ``cgroup`` and below killed (cgroup.kill), then the cgroups removed,
    the deepest first."""
    Path(cgroup, "cgroup.kill").write_text("1")
    deadline = time.monotonic() + seconds
    while populated(cgroup):
        if time.monotonic() > deadline:
            raise AssertionError("%s still holds processes %d s after cgroup.kill"
                                 % (cgroup, seconds))
        time.sleep(0.05)
    if not remove_cgroup_tree(str(cgroup)):  # the runtime's walk: as deep as a user made it
        raise AssertionError("%s: not every cgroup below it could be removed" % cgroup)


@pytest.fixture
def cgroup(request):
    """A fresh cgroup in the test unit's delegated subtree, with the tier's controllers
    available (cgroup.controllers) and none enabled for children yet: the test (or the runtime
    it starts) makes children and enables what it needs. Emptied and removed after."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:100]
    path = Path(tempfile.mkdtemp(prefix=name + "-", dir=TESTS_CGROUP))
    path.chmod(0o755)  # as a cgroup is made (mkdtemp's 0700 would shut a user's tree out)
    yield path
    remove_cgroup(path)


@pytest.fixture
def scratch():
    """A fresh directory on the guest's disk, not on a tmpfs (a tmpfs's pages would count
    against the memory of the cgroup that writes them). Removed after."""
    path = Path(tempfile.mkdtemp(prefix="vm-scratch-", dir="/var/tmp"))
    yield path
    shutil.rmtree(str(path), ignore_errors=True)


def pytest_ignore_collect(collection_path, config):
    return None if IN_THE_VM else True


@pytest.fixture(autouse=True)
def in_the_vm():
    """A file of tests/vm/ named on the machine (pytest collects a named file) fails, saying
    where it runs."""
    if not (IN_THE_VM and TESTS_CGROUP):
        pytest.fail("tests/vm/ runs in the VM tier: make test-vm (tests/vm_tier.py)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = "skipped in the VM tier, which has all it needs: %s" % (
            report.longrepr,)
