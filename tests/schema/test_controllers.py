"""schema/resources.py's ``check_controllers``: a limit the host's cgroup v2 cannot honour is a
problem at the file:line:col that writes it, naming the controller — asked by plan and apply
only (``inputs.config_of``'s ``cgroup``), and only of data with a limit. The host's hierarchy is
handed in here (the seam); the real one is read by tests/cli/test_apply.py."""

import pytest

from runit_provision.errors import DataError
from runit_provision.host.cgroup import cgroup_hierarchy
from runit_provision.inputs import config_of

ALL = ("/sys/fs/cgroup", frozenset({"cpuset", "cpu", "io", "memory", "hugetlb", "pids"}))
DATA = """\
runit::defaults: {resources: {io_weight: 50}}
runit::users:
  alice:
    resources: {memory_max: 2G}
    services:
      nb: {command: /usr/bin/nb, resources: {tasks_max: 16}}
runit::services:
  web: {command: /usr/bin/web, resources: {memory_max: 256M, cpu_quota: 50%}}
"""


def config(tmp_path, text, cgroup):
    path = tmp_path / "data.yaml"
    path.write_text(text)
    return config_of(data=str(path), facts={}, passwd=None, cgroup=cgroup)[0]


def test_a_host_with_every_controller_takes_every_limit(tmp_path):
    web = config(tmp_path, DATA, lambda: ALL).services["web"]
    assert web.resources == {"memory_max": 256 << 20, "cpu_quota": 50, "io_weight": 50}


def test_each_key_a_controller_lacks_is_named_where_it_is_written(tmp_path):
    with pytest.raises(DataError) as info:
        config(tmp_path, DATA, lambda: ("/sys/fs/cgroup/unified", frozenset({"hugetlb"})))
    lines = [line.split("data.yaml:", 1)[1] for line in str(info.value).splitlines()]
    has = "this host's cgroup v2 (/sys/fs/cgroup/unified) has only hugetlb"
    assert lines == [
        "1:31: defaults.resources.io_weight: needs the io controller; " + has,
        "4:17: users.alice.resources.memory_max: needs the memory controller; " + has,
        "6:46: users.alice.services.nb.resources.tasks_max: needs the pids controller; " + has,
        "8:44: services.web.resources.memory_max: needs the memory controller; " + has,
        "8:62: services.web.resources.cpu_quota: needs the cpu controller; " + has,
    ]


def test_one_missing_controller_or_none_at_all(tmp_path):
    text = "runit::services: {web: {command: x, resources: {io_weight: 10, cpu_weight: 10}}}\n"
    without_io = (ALL[0], ALL[1] - {"io"})
    with pytest.raises(DataError) as info:
        config(tmp_path, text, lambda: without_io)
    assert str(info.value).count("\n") == 0
    assert ("services.web.resources.io_weight: needs the io controller; this host's cgroup v2 "
            "(/sys/fs/cgroup) has only cpu, cpuset, hugetlb, memory, pids") in str(info.value)
    with pytest.raises(DataError, match=r"services.web.resources.io_weight: needs the io "
                                        r"controller; no cgroup v2 hierarchy is mounted"):
        config(tmp_path, text, lambda: (None, frozenset()))
    with pytest.raises(DataError, match=r"\(/sys/fs/cgroup\) has none$"):
        config(tmp_path, text.replace(", cpu_weight: 10", ""), lambda: (ALL[0], frozenset()))


def test_data_without_limits_never_asks_the_host(tmp_path):
    def asked():
        raise AssertionError("the host was asked")

    config(tmp_path, "runit::services: {web: {command: x, stop: main}}\n", asked)


def test_the_hierarchy_is_read_from_mountinfo_and_cgroup_controllers(tmp_path):
    mount = tmp_path / "cg"
    mount.mkdir()
    (mount / "cgroup.controllers").write_text("cpu io memory pids\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n"
                         "30 22 0:26 / %s rw,nosuid - cgroup2 cgroup2 rw\n" % mount)
    assert cgroup_hierarchy(str(mountinfo)) == (str(mount), {"cpu", "io", "memory", "pids"})
    mountinfo.write_text("22 1 0:20 / /sys rw - sysfs sysfs rw\n")
    assert cgroup_hierarchy(str(mountinfo)) == (None, frozenset())
    (mount / "cgroup.controllers").unlink()
    mountinfo.write_text("30 22 0:26 / %s rw - cgroup2 cgroup2 rw\n" % mount)
    assert cgroup_hierarchy(str(mountinfo)) == (str(mount), frozenset())
