"""A user's record naming a cgroup not theirs (docs/resources.md, "Where the cgroups are"):
apprun1, the real unprivileged user of the tier's namespace, rewrites its running service's
``supervise/cgroup`` to name root's service's cgroup, then apprun2's. Root's ``status --json``
and ``metrics`` must show neither's process count nor CPU under apprun1's service: that row's
record is unreadable, said as such, and every other row reads on. Our runtime only: the C
runit's record is written by the same helper for every tree.
"""

import json

import pytest

from ..skips import missing

pytestmark = pytest.mark.slow


def rows(sandbox):
    done = sandbox.tool("status", "--json", "--logs", "0")
    document = json.loads(done.stdout)
    if "cgroups_unavailable" in document:
        missing("a cgroup v2 hierarchy (%s)" % document["cgroups_unavailable"],
                "mount cgroup2, as a systemd host does")
    return {row["service"]: row for row in document["services"]}


@pytest.mark.not_applicable(impl="c", reason="our runtime's records")
def test_a_users_record_naming_roots_or_another_users_cgroup_shows_nothing_of_theirs(sandbox):
    sandbox.up()
    before = rows(sandbox)
    root_cgroup = before["rootsvc"]["cgroup"]["path"]
    other = before["apprun2/web2"]["cgroup"]["path"]
    own = before["apprun1/web1"]["cgroup"]
    assert own["path"].startswith(before["runsvdir-apprun1"]["cgroup"]["path"] + "/"), own
    assert own["processes"] >= 1
    for foreign in (root_cgroup, other):
        sandbox.as_user("apprun1", "printf '%%s\\n' '%s' > sv/web1/supervise/cgroup" % foreign)
        found = rows(sandbox)
        assert found["apprun1/web1"]["cgroup"] == {
            "unreadable": "supervise/cgroup names no cgroup under its tree's (%s)"
                          % before["runsvdir-apprun1"]["cgroup"]["path"]}, foreign
        assert found["rootsvc"]["cgroup"]["path"] == root_cgroup
        assert found["apprun2/web2"]["cgroup"]["path"] == other
        metrics = sandbox.tool("metrics").stdout
        assert not [line for line in metrics.splitlines()
                    if 'service="apprun1/web1"' in line
                    and line.startswith(("runit_service_cpu", "runit_service_outliving",
                                         "runit_service_tasks", "runit_service_memory"))]


@pytest.mark.not_applicable(impl="c", reason="our runtime's records")
def test_a_user_reading_their_own_service_sees_its_cgroup(sandbox):
    """Run by the user, who may not read root's record of their tree: their own record is
    read as it is — they read with no more privilege than wrote it."""
    sandbox.up()
    rows(sandbox)  # skips without cgroup v2
    done = sandbox.tool("status", "apprun1/web1", "--json", "--logs", "0", user="apprun1")
    [row] = json.loads(done.stdout)["services"]
    assert row["cgroup"]["processes"] >= 1, row
