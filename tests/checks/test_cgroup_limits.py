"""verify's ``limits``: the cgroup a service was last started in holds the limits its rendered
``cgroup`` file (the data's ``resources``) sets — each file named, with what the data sets and
what is there; ``runtime::cgroups`` says once that a host has no cgroup v2. Pure: the probe's
K records made up and parsed. Live: both probes read a real tree's cgroup in this machine's
controller-less hierarchy, where a limit's file is missing and the check names its controller.
"""

import os

import pytest
import testinfra

from runit_provision.checks.expected import (Check, LIMITS_CHECK, cgroups_problems,
                                             limits_checks, limits_problems)
from runit_provision.checks.snapshot import CGROUP_FILES, Request, Snapshot, take_snapshot
from runit_provision.model.tree import File, Tree
from runit_provision.protocol.cgroupfs import Spec, spec_bytes

from ..conftest import OUR_BIN
from ..runtime.processes import BASE_PATH, make_service, running_pid, wait_until
from ..runtime.conftest import tree  # noqa: F401 (the fixture cgtree takes)
from ..runtime.test_cgroups import cgtree  # noqa: F401 (a fixture)

LINK = "/etc/service/web"
SETTINGS = [("memory.max", "268435456"), ("pids.max", "64"), ("cpu.max", "50000 100000"),
            ("io.weight", "default 100")]
MOUNT = "/sys/fs/cgroup"


def k_record(record, mount=MOUNT, **files):
    """A K line as the probes print it; ``files``: ``memory_max="…"`` (text, or an errno's
    name), the rest not read (-)."""
    def field(value):
        if value is None:
            return "-"
        if value.startswith("E") and value.isupper():
            return value
        return value.encode().hex() or "="
    values = [files.get(name.replace(".", "_")) for name in CGROUP_FILES]
    return ("K %s %s %s %s\n" % (field(record), mount or "-", " ".join(
        field(value) for value in values), LINK)).encode()


def problems_of(line):
    snapshot = Snapshot()
    snapshot.add_output(line)
    return limits_problems(LINK, SETTINGS, snapshot), cgroups_problems(snapshot)


def test_limits_as_the_data_sets_them_pass():
    assert problems_of(k_record(
        "/runit-provision/etc-service/web\n", memory_max="268435456\n", pids_max="64\n",
        cpu_max="50000 100000\n", io_weight="default 100\n8:0 300\n")) == ([], [])


def test_each_limit_that_differs_or_is_missing_is_named():
    where = MOUNT + "/runit-provision/etc-service/web/"
    problems, host = problems_of(k_record(
        "/runit-provision/etc-service/web\n", memory_max="max\n", pids_max="ENOENT",
        cpu_max="50000 100000\n", io_weight="EACCES"))
    assert problems == [
        where + "memory.max: expected 268435456, found max",
        where + "pids.max: missing (the pids controller is not enabled there), the data's: 64",
        where + "io.weight: access denied, the data's: default 100"]
    assert host == []


@pytest.mark.parametrize("record, said", [
    ("ENOENT", LINK + "/supervise/cgroup: file does not exist: not started in a cgroup of its "
               "own, its limits not applied"),
    ("/a/../../etc\n", LINK + "/supervise/cgroup: names no cgroup"),
    ("ELOOP", LINK + "/supervise/cgroup: symbolic link loop: not started in a cgroup of its "
              "own, its limits not applied"),
])
def test_a_service_without_a_record_of_its_cgroup_fails(record, said):
    assert problems_of(k_record(record)) == ([said], [])


def test_a_host_without_cgroup_v2_fails_once_for_the_host():
    problems, host = problems_of(k_record("/runit-provision/etc-service/web\n", mount=None))
    assert problems == [LINK + ": its limits are not applied: no cgroup v2 (runtime::cgroups)"]
    assert host == ["no cgroup v2 hierarchy is mounted: the data's resources cannot be "
                    "applied (docs/resources.md)"]


def test_only_a_service_with_limits_gets_the_check():
    tree = Tree([File("/etc/sv/web/cgroup", spec_bytes(Spec("group", SETTINGS))),
                 File("/etc/sv/classic/cgroup", spec_bytes(Spec("main")))])
    request = Request()
    (check,) = limits_checks("web", "/etc/sv/web", LINK, tree, request)
    assert isinstance(check, Check) and check.name == LIMITS_CHECK
    assert limits_checks("classic", "/etc/sv/classic", "/etc/service/classic", tree,
                         request) == []
    assert limits_checks("plain", "/etc/sv/plain", "/etc/service/plain", tree, request) == []
    assert request.lines() == [("/etc/service", "cgroup web")]


def test_the_probes_read_the_files_protocol_names():
    from runit_provision.checks import hostprobe
    from runit_provision.protocol.cgroupfs import CONTROLLER_OF

    assert [name.decode() for name in hostprobe.CGROUP_FILES] == list(CONTROLLER_OF)
    with open(os.path.join(os.path.dirname(hostprobe.__file__), "hostprobe.sh")) as handle:
        assert "for file in %s; do" % " ".join(CONTROLLER_OF) in handle.read()


@pytest.mark.slow
def test_both_probes_read_a_live_cgroup_and_name_the_missing_controller(
        cgtree, monkeypatch):  # noqa: F811
    svdir, start, base = cgtree
    make_service(svdir, "web", run="#!/bin/sh\nexec sleep 1000\n")
    start()
    wait_until(lambda: running_pid(svdir / "web"), what="web")
    with open(base.rsplit("/runit-provision", 1)[0] + "/cgroup.subtree_control") as handle:
        if "memory" in handle.read().split():
            pytest.skip("this hierarchy has the memory controller (the VM tier's case)")
    monkeypatch.setenv("PATH", "%s:%s" % (OUR_BIN, BASE_PATH))
    host = testinfra.get_host("local://")
    link = str(svdir / "web")
    found = {}
    for python in (True, False):
        snapshot = take_snapshot(host, Request().cgroup(link), python=python)
        record = snapshot.cgroups[link]
        found[python] = (record.record, record.mount, record.files)
        problems = limits_problems(link, [("memory.max", "268435456")], snapshot)
        assert problems == ["%s/web/memory.max: missing (the memory controller is not enabled "
                            "there), the data's: 268435456" % base], problems
        assert cgroups_problems(snapshot) == []
    assert found[True] == found[False]
    assert found[True][0] == (svdir / "web/supervise/cgroup").read_bytes()


def test_the_data_s_resources_give_each_bounded_unit_its_check_and_the_host_one(tmp_path):
    from runit_provision.checks.expected import expectations
    from runit_provision.render import render

    from .helpers import config_of

    (tmp_path / "home/alice").mkdir(parents=True)
    config, _ = config_of(tmp_path, {"runit": {
        "init": "none", "sv_dir": str(tmp_path / "sv"),
        "service_dir": str(tmp_path / "service"),
        "services": {"web": {"command": "/usr/bin/web",
                             "resources": {"memory_max": "256M", "cpu_quota": "50%"}},
                     "plain": {"command": "/usr/bin/plain"},
                     "classic": {"command": "/usr/bin/classic", "stop": "main"}},
        "users": {"alice": {"home": str(tmp_path / "home/alice"),
                            "resources": {"tasks_max": 100},
                            "services": {"app": {"command": "/usr/bin/app",
                                                 "resources": {"io_weight": 50}}}}}}})
    checks = expectations(config, render(config)).checks
    assert sorted(check.nodeid for check in checks
                  if check.name in (LIMITS_CHECK, "cgroups")) == [
        "alice/app::limits", "runsvdir-alice::limits", "runtime::cgroups", "web::limits"]
    web = next(check for check in checks if check.nodeid == "web::limits")
    snapshot = Snapshot()
    snapshot.add_output(k_record("/runit-provision/etc-service/web\n", memory_max="268435456\n",
                                 cpu_max="max 100000\n").replace(
        LINK.encode(), str(tmp_path / "service/web").encode()))
    assert web.test(snapshot) == [MOUNT + "/runit-provision/etc-service/web/cpu.max: expected "
                                  "50000 100000, found max 100000"]
    staged = expectations(config, render(config), root=str(tmp_path)).checks
    assert not [check for check in staged if check.name in (LIMITS_CHECK, "cgroups")]


USER_LINK = "/home/alice/service/app"
TREE_LINK = "/etc/service/runsvdir-alice"
TOP = "/runit-provision/etc-service/runsvdir-alice"


def user_outcome(record, tree_record=TOP + "\n", **files):
    """What ``limits`` of alice's service finds: its K record (``record``, ``files``) and its
    tree's (root's record of runsvdir-alice; None: none)."""
    from runit_provision.checks.expected import user_limits_found

    snapshot = Snapshot()
    snapshot.add_output(k_record(record, **files).replace(LINK.encode(), USER_LINK.encode()))
    snapshot.add_output(k_record(tree_record if tree_record is not None else "ENOENT")
                        .replace(LINK.encode(), TREE_LINK.encode()))
    return user_limits_found(USER_LINK, [("memory.max", "268435456")], snapshot, TREE_LINK)


def test_a_users_service_limit_is_the_users_a_drift_or_a_foreign_record_is_skipped_so():
    """Its cgroup is in the user's tree's, the user's to write: a limit as the data says
    passes; one the user changed, a record naming no cgroup of the user's tree, or a tree
    with no record of its own is skipped saying whose it is — never failed as root's
    promise; no cgroup v2 at all still fails, the host's part."""
    from runit_provision.checks.expected import Skipped, user_limits_found

    own = TOP + "/app\n"
    assert user_outcome(own, memory_max="268435456\n") == []
    user = "the user's to change, as their tree's cgroup is theirs: "
    for found, reason in [
            (user_outcome(own, memory_max="max\n"),
             "%s%s/app/memory.max: expected 268435456, found max" % (MOUNT, TOP)),
            (user_outcome("/runit-provision/etc-service/web\n", memory_max="268435456\n"),
             "%s/supervise/cgroup: names no cgroup under its tree's (%s)" % (USER_LINK, TOP)),
            (user_outcome(own, tree_record=None, memory_max="268435456\n"),
             "%s/supervise/cgroup: its tree's cgroup is not recorded" % TREE_LINK)]:
        assert isinstance(found, Skipped) and found.reason == user + reason, found
    snapshot = Snapshot()
    snapshot.add_output(k_record(own, mount=None).replace(LINK.encode(), USER_LINK.encode()))
    assert user_limits_found(USER_LINK, [("memory.max", "1")], snapshot, TREE_LINK) == [
        USER_LINK + ": its limits are not applied: no cgroup v2 (runtime::cgroups)"]


def test_verify_reports_a_users_drifted_limit_as_skipped_with_its_reason(monkeypatch):
    from runit_provision.checks import verify
    from runit_provision.checks.expected import Expectations, Skipped

    check = Check("alice/app", LIMITS_CHECK, lambda snapshot: Skipped("the user's"))
    monkeypatch.setattr(verify, "take_snapshot", lambda *args, **kwargs: Snapshot())
    (outcome,) = verify.verify_host(None, Expectations(Request(), [check]))
    assert (outcome.status, outcome.skipped) == ("skipped", "the user's")
