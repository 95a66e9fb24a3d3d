"""How `make test`'s workers share out the suite (tests/conftest.py's scheduler): a test
file or a serial group is one unit, and the units known to be long go first — a long unit
taken last keeps one worker busy while the other has nothing left (docs/testing.md#parallel)."""

from types import SimpleNamespace

import pytest

from tests.conftest import (
    LONGEST_FIRST, ROOT, SERIAL_GROUPS, STACK_GROUP, in_running_order, pytest_xdist_make_scheduler,
    unit_of)


class Worker:
    """What the scheduler uses of a worker; ``log`` gets ``(worker, unit)`` per unit sent."""

    def __init__(self, name, log):
        self.name, self.log, self.shutting_down = name, log, False
        self.gateway = SimpleNamespace(id=name)

    def send_runtest_some(self, indexes):
        units = dict.fromkeys(unit_of(COLLECTION[index]) for index in indexes)
        self.log.extend((self.name, unit) for unit in units)

    def shutdown(self):
        self.shutting_down = True


COLLECTION = (["tests/cli/test_names.py::test_%d" % n for n in range(40)]
              + ["tests/test_wheel.py::test_licence", "tests/test_wheel.py::test_demo"]
              + ["tests/puppet/test_apply.py::test_staged",
                 "tests/puppet/test_fleet.py::test_fleet", "tests/puppet/test_module.py::test_lint",
                 "tests/hiera/test_against_puppet.py::test_lookup[x]"]
              + ["tests/runtime/test_sv_logic.py::test_%d" % n for n in range(30)]
              + ["tests/security/test_users.py::test_f1[ours]"])


def test_the_longest_units_go_first_then_the_largest():
    scheduler = pytest_xdist_make_scheduler(
        SimpleNamespace(getvalue=lambda name: ["2*popen"], option=SimpleNamespace(
            loadscopereorder=True)), None)
    log = []
    workers = [Worker("gw0", log), Worker("gw1", log)]
    for worker in workers:
        scheduler.add_node(worker)
    for worker in workers:
        scheduler.add_node_collection(worker, COLLECTION)
    scheduler.schedule()
    # one unit each, then one more each while a worker has no more than two tests to go: the
    # Puppet stack's tests and the other Puppet tests in two workers
    assert log == [("gw0", "puppet-stack"), ("gw1", "puppet"), ("gw0", "users"),
                   ("gw1", "tests/test_wheel.py")]
    assert list(scheduler.workqueue) == ["tests/cli/test_names.py",
                                         "tests/runtime/test_sv_logic.py"]


def test_the_puppet_stacks_tests_are_one_unit_and_the_other_puppet_tests_another():
    stack = {unit_of(nodeid) for nodeid in (
        "tests/puppet/test_fleet.py::test_fleet", "tests/puppet/test_puppetdb.py::test_pdb",
        "tests/puppet/test_module.py::test_lint", "tests/puppet/test_rspec.py::test_rake")}
    others = {unit_of(nodeid) for nodeid in (
        "tests/puppet/test_apply.py::test_staged", "tests/puppet/test_tasks.py::test_sv",
        "tests/puppet/test_noop.py::test_noop",
        "tests/hiera/test_against_puppet.py::test_x")}
    assert stack == {STACK_GROUP} and others == {"puppet"}


def test_only_the_stacks_group_boots_the_stack():
    """A worker that runs the other Puppet tests, and a session without tests of the stack,
    boot no Puppet server (tests/puppet/conftest.py's ``boot_the_stack_early``)."""
    from tests.puppet.conftest import boots_the_stack
    assert boots_the_stack("tests/puppet/test_module.py::test_lint_is_clean", True)
    assert boots_the_stack("tests/puppet/test_fleet.py::test_fleet", True)
    assert not boots_the_stack("tests/puppet/test_apply.py::test_staged", True)
    assert not boots_the_stack("tests/hiera/test_against_puppet.py::test_x", True)
    assert not boots_the_stack("tests/puppet/test_module.py::test_lint_is_clean", False)


def test_in_running_order_keeps_the_list_then_counts():
    units = [("tests/a.py", [1]), ("tests/b.py", [1, 2, 3]), ("tests/runtime/test_chaos.py", [1]),
             ("users", [1, 2]), ("puppet-stack", [1]), ("puppet", [1])]
    assert [unit for unit, _ in in_running_order(units)] == [
        "puppet-stack", "puppet", "users", "tests/runtime/test_chaos.py", "tests/b.py",
        "tests/a.py"]


def test_every_longest_unit_is_a_group_or_a_test_file():
    groups = {name for _, name in SERIAL_GROUPS}
    for unit in LONGEST_FIRST:
        assert unit in groups or (ROOT / unit).is_file(), unit
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)


def test_the_stacks_tests_come_after_the_other_puppet_tests():
    """In its group, the tests that need no stack run first, while the stack boots."""
    from tests.puppet.conftest import pytest_collection_modifyitems

    def item(nodeid, *fixtures):
        return SimpleNamespace(nodeid=nodeid, fixturenames=["tmp_path", *fixtures])
    items = [item("tests/hiera/test_against_puppet.py::test_x"),
             item("tests/puppet/test_apply.py::test_a"),
             item("tests/puppet/test_fleet.py::test_f", "fleet", "puppet_stack"),
             item("tests/puppet/test_module.py::test_m"),
             item("tests/puppet/test_puppetdb.py::test_p", "puppet_stack"),
             item("tests/security/test_users.py::test_u")]
    pytest_collection_modifyitems(items)
    assert [one.nodeid.split("::")[1] for one in items] == [
        "test_x", "test_a", "test_m", "test_f", "test_p", "test_u"]


def test_made_once_makes_it_once_for_every_worker_and_again_after_a_failure(tmp_path,
                                                                           monkeypatch):
    """``made_once`` (the run's one wheelhouse): two workers asking at once get one make, the
    second waiting for the first; a make that failed is made again by the next to ask."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import made_once

    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    calls = []
    started = threading.Event()

    def make(directory):
        calls.append(directory)
        started.set()
        time.sleep(0.5)
        (directory / "thing").write_text("made")
        return directory / "thing"

    workers = [SimpleNamespace(getbasetemp=lambda name=name: tmp_path / name)
               for name in ("popen-gw0", "popen-gw1")]
    for worker in workers:
        worker.getbasetemp().mkdir()
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(made_once, workers[0], "house", make)
        assert started.wait(30)
        second = pool.submit(made_once, workers[1], "house", make)
        assert first.result() == second.result() == tmp_path / "house" / "thing"
    assert len(calls) == 1

    def fails(directory):
        raise RuntimeError("no room")
    with pytest.raises(RuntimeError):
        made_once(workers[0], "other", fails)
    assert made_once(workers[1], "other", make).read_text() == "made"
    assert len(calls) == 2
