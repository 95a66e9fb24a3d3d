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
    lacks = ("controller, which this host's cgroup v2 (/sys/fs/cgroup/unified) does not offer "
             "(it has only hugetlb): boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2 "
             "alone, no controller held by v1)")
    fix = ", or take the key out (docs/resources.md)"
    memory = ", and cgroup_enable=memory where the kernel turns memory off"
    assert lines == [
        "1:31: defaults.resources.io_weight: needs the io " + lacks + fix,
        "4:17: users.alice.resources.memory_max: needs the memory " + lacks + memory + fix,
        "6:46: users.alice.services.nb.resources.tasks_max: needs the pids " + lacks + fix,
        "8:44: services.web.resources.memory_max: needs the memory " + lacks + memory + fix,
        "8:62: services.web.resources.cpu_quota: needs the cpu " + lacks + fix,
    ]


def test_one_missing_controller_or_none_at_all(tmp_path):
    text = "runit::services: {web: {command: x, resources: {io_weight: 10, cpu_weight: 10}}}\n"
    without_io = (ALL[0], ALL[1] - {"io"})
    with pytest.raises(DataError) as info:
        config(tmp_path, text, lambda: without_io)
    assert str(info.value).count("\n") == 0
    assert ("services.web.resources.io_weight: needs the io controller, which this host's "
            "cgroup v2 (/sys/fs/cgroup) does not offer (it has only cpu, cpuset, hugetlb, "
            "memory, pids): boot with") in str(info.value)
    with pytest.raises(DataError, match=r"services.web.resources.io_weight: needs the io "
                                        r"controller, and this host mounts no cgroup v2 "
                                        r"hierarchy \(none in /proc/self/mountinfo\): boot "):
        config(tmp_path, text, lambda: (None, frozenset()))
    with pytest.raises(DataError, match=r"\(/sys/fs/cgroup\) does not offer \(it has none\)"):
        config(tmp_path, text.replace(", cpu_weight: 10", ""), lambda: (ALL[0], frozenset()))


def test_a_bad_value_is_said_once_not_asked_of_the_host(tmp_path):
    """The value's problem alone: the controller of a value that cannot be read is not
    asked about; a good value beside it still is."""
    with pytest.raises(DataError) as info:
        config(tmp_path, "runit::services: {web: {command: x, resources: {memory_max: lots, "
                         "tasks_max: 8}}}\n", lambda: (ALL[0], frozenset()))
    lines = str(info.value).splitlines()
    assert len(lines) == 2, lines
    assert "services.web.resources.memory_max: expected bytes" in lines[0]
    assert "services.web.resources.tasks_max: needs the pids controller" in lines[1]


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
