"""A changed ``cgroup`` file reaches the running service without a restart (apply/effects.py's
``cgroup`` row): ``apply`` runs ``runsv-cgroup limits``, the pid stays, the new limit is read
back from the service's cgroup — under our runsvdir and under the C runit (``runtime:
system``: ./run enters the cgroup, runsv-cgroup is ours under either runsv). A limit the data
drops is reset (``max``), in place under ours; under the C runsv its ./run loses the line that
enters a cgroup, so it restarts. A supervise/cgroup record that names a cgroup the service
does not run in is refused. A user's tree bounded whole takes its new limits the same way, on
the delegated top root keeps."""

import json
import subprocess

import pytest
import yaml

from runit_provision.cli.main import main
from runit_provision.protocol.cgroupfs import cgroup_of_process
from tests.conftest import C_RUNIT, OUR_BIN, make_bin_dir, our_tool
from tests.runtime.processes import BASE_PATH, comm, running_pid, wait_until
from tests.vm.conftest import in_cgroup

HELPERS = ("sandbox-run", "runsv-cgroup", "notify-relay", "timer-run")
MOUNT = "/sys/fs/cgroup"


@pytest.fixture(params=["ours", "c"])
def applied(request, cgroup, scratch, capsys):
    """``apply(resources)``: data of one service ``limited`` applied to a tree (ours or the
    C runit's) started in ``cgroup``; the json report."""
    impl = request.param
    service_dir = scratch / "service"
    service_dir.mkdir()
    bin_dir = make_bin_dir(scratch / "bin", impl)
    for name in HELPERS:
        (bin_dir / name).symlink_to(OUR_BIN / name)
    runsvdir = our_tool("runsvdir") if impl == "ours" else C_RUNIT["runsvdir"]
    tree = subprocess.Popen(in_cgroup(cgroup, [runsvdir, str(service_dir)]),
                            env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)

    def apply(resources, tree_resources=None):
        """With ``tree_resources``: a user's tree too (root's own, as test_live.py makes
        one: the venv is not reachable for another user), bounded whole by them."""
        service = {"command": ["sleep", "1000"], "log": False}
        if resources:
            service["resources"] = resources
        data = {"runtime": "python" if impl == "ours" else "system", "init": "none",
                "sv_dir": str(scratch / "sv"), "service_dir": str(service_dir),
                "log_dir": str(scratch / "log"), "sv_timeout": 30,
                "services": {"limited": service}}
        if tree_resources is not None:
            data["users"] = {"root": {
                "home": str(scratch / "home"), "groups": ["root"],
                "path": "%s:%s" % (bin_dir, BASE_PATH), "resources": tree_resources,
                "services": {"mine": {"command": ["sleep", "1000"], "log": False}}}}
        (scratch / "home").mkdir(exist_ok=True)
        (scratch / "data.yaml").write_text(yaml.safe_dump({"runit": data}))
        data = scratch / "data.yaml"
        code = main(["apply", "--data", str(data), "--json", "--wait", "60",
                     "--profile-d", "none"])
        report = json.loads(capsys.readouterr().out)
        assert code == 0, report["msg"]
        return report

    apply.impl, apply.sv = impl, scratch / "sv" / "limited"
    apply.user_tree = scratch / "sv" / "runsvdir-root"
    yield apply
    tree.terminate()
    tree.wait(timeout=120)


def limit_of(pid, name):
    with open("/proc/%d/cgroup" % pid) as handle:
        path = cgroup_of_process(handle.read())
    with open(MOUNT + path + "/" + name) as handle:
        return handle.read().strip()


def running_sleep(sv):
    """The service's pid once it runs its command: under the C runsv, supervise/pid names
    ./run's shell from the fork on, and the shell enters the service's cgroup (runsv-cgroup
    enter) before it execs — its limits are the cgroup's only from then."""
    def found():
        pid = running_pid(sv)
        return pid if pid and comm(pid) == "sleep" else 0
    return wait_until(found, timeout=60, what="%s running its command" % sv.name)


def test_changed_limits_are_written_into_the_running_cgroup(applied):
    applied({"memory_max": "256M", "tasks_max": 64})
    pid = running_sleep(applied.sv)
    assert limit_of(pid, "memory.max") == str(256 << 20)
    report = applied({"memory_max": "512M", "tasks_max": 64})
    assert [(item["service"], item["command"]) for item in report["restarts"]] == [
        ("limited", "limits")]
    assert running_pid(applied.sv) == pid
    assert limit_of(pid, "memory.max") == str(512 << 20)
    assert limit_of(pid, "pids.max") == "64"
    report = applied({"memory_max": "512M"})  # tasks_max dropped: reset where it runs
    assert running_pid(applied.sv) == pid
    assert limit_of(pid, "pids.max") == "max"
    report = applied(None)
    if applied.impl == "ours":  # the cgroup file is gone: every limit reset in place
        assert running_pid(applied.sv) == pid and limit_of(pid, "memory.max") == "max"
    else:  # ./run no longer enters a cgroup: a restart, outside the old limits
        assert ("limited", "restart") in [(item["service"], item["command"])
                                          for item in report["restarts"]]


def test_a_record_naming_another_cgroup_is_refused(applied):
    applied({"memory_max": "256M"})
    pid = running_sleep(applied.sv)
    (applied.sv / "supervise" / "cgroup").write_text("/init.scope\n")
    (applied.sv / "cgroup").write_text("cgroup 1 stop=group memory.max=1048576\n")
    done = subprocess.run([our_tool("runsv-cgroup"), "limits", str(applied.sv)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 111 and "not the cgroup" in done.stderr, done.stderr
    assert limit_of(pid, "memory.max") == str(256 << 20)


def recorded_limit(side, name):
    """``name`` of the cgroup ``side``'s supervisor recorded (supervise/cgroup)."""
    path = (side / "supervise" / "cgroup").read_text().strip()
    with open(MOUNT + path + "/" + name) as handle:
        return handle.read().strip()


def test_a_users_tree_bound_whole_takes_new_limits_in_place(applied):
    """``users.LOGIN.resources`` on the delegated top, which stays root's: written in place
    by root, the user's tree and its services running on."""
    applied(None, {"memory_max": "1G"})
    tree_pid = wait_until(lambda: running_pid(applied.user_tree), timeout=60,
                          what="the user's tree running")
    assert recorded_limit(applied.user_tree, "memory.max") == str(1 << 30)
    report = applied(None, {"memory_max": "2G"})
    assert ("runsvdir-root", "limits") in [(item["service"], item["command"])
                                           for item in report["restarts"]]
    assert running_pid(applied.user_tree) == tree_pid
    assert recorded_limit(applied.user_tree, "memory.max") == str(2 << 30)
