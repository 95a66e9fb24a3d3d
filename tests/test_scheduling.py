"""How `make test`'s two workers share out the suite (tests/conftest.py's scheduler): a test
file or a serial group is one unit, and the units known to be long go first — a long unit
taken last keeps one worker busy while the other has nothing left (docs/testing.md#parallel)."""

from types import SimpleNamespace

from tests.conftest import (
    LONGEST_FIRST, ROOT, SERIAL_GROUPS, in_running_order, pytest_xdist_make_scheduler, unit_of)


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
              + ["tests/puppet/test_fleet.py::test_fleet", "tests/hiera/test_against_puppet.py::"
                 "test_lookup[x]"]
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
    # one unit each, then one more each while a worker has no more than two tests to go
    assert log == [("gw0", "puppet"), ("gw1", "users"), ("gw0", "tests/test_wheel.py"),
                   ("gw1", "tests/cli/test_names.py")]
    assert list(scheduler.workqueue) == ["tests/runtime/test_sv_logic.py"]


def test_in_running_order_keeps_the_list_then_counts():
    units = [("tests/a.py", [1]), ("tests/b.py", [1, 2, 3]), ("tests/runtime/test_chaos.py", [1]),
             ("users", [1, 2]), ("puppet", [1])]
    assert [unit for unit, _ in in_running_order(units)] == [
        "puppet", "users", "tests/runtime/test_chaos.py", "tests/b.py", "tests/a.py"]


def test_every_longest_unit_is_a_group_or_a_test_file():
    groups = {name for _, name in SERIAL_GROUPS}
    for unit in LONGEST_FIRST:
        assert unit in groups or (ROOT / unit).is_file(), unit
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
