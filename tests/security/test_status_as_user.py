"""``status`` and ``metrics`` run by a user (issue 44 item 6), under our runtime and the C
runit: a real unprivileged user (apprun1, in the tier's namespace) reads root's tree, whose
``supervise/`` runsv makes 0700, and apprun2's home, 0750.

What it may not read is said as what it is — the directory it cannot read and why (whose it
is, its mode, and which uid asked), never "no account of exits: not our runtime"; its own
tree reads in full (state, pid, our runtime's account); ``status`` of its own service exits
0; and ``metrics`` exports no ``runit_service_up 0`` for a service that runs where it cannot
look (no ``up`` at all: the state is unknown; ``runit_service_as_wanted`` 0, as status exits
3 for it).
"""

import json

import pytest

from ..conftest import OUR_BIN

pytestmark = pytest.mark.slow


def run_as_user(sandbox, *args):
    data = sandbox.base / "data.yaml"
    return sandbox.ns.run([OUR_BIN / "runit-provision"] + list(args) + ["--data", data],
                          user="apprun1", env=sandbox.environ(),
                          timeout=120)


def test_a_user_is_told_what_it_may_not_read_and_sees_its_own_tree(sandbox):
    sandbox.up()
    done = run_as_user(sandbox, "status", "--logs", "0")
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert "no account of exits" not in done.stdout, done.stdout
    lines = done.stdout.splitlines()
    rootsvc = lines[lines.index(next(line for line in lines if line.startswith("rootsvc ")))
                    + 1].strip()
    assert rootsvc == ("cannot read %s/rootsvc/supervise: permission denied (supervise/ is "
                       "root's, 0700, and this is uid 61001)" % sandbox.sv_dir), done.stdout
    theirs = lines[lines.index(next(line for line in lines if line.startswith("apprun2/web2")))
                   + 1].strip()
    assert theirs == ("cannot read %s/sv/web2/supervise: permission denied (%s is uid "
                      "61002's, 0750, and this is uid 61001)"
                      % (sandbox.home("apprun2"), sandbox.home("apprun2"))), done.stdout
    mine = next(line for line in lines if line.startswith("apprun1/web1")).split()
    assert mine[1] == "run" and mine[2].isdigit(), done.stdout

    done = run_as_user(sandbox, "status", "apprun1/web1", "--json")  # its own: as root sees it
    assert done.returncode == 0, (done.stdout, done.stderr)
    [row] = json.loads(done.stdout)["services"]
    assert (row["verdict"], row["main"]["state"], row["log"]["state"]) == (
        "as wanted", "run", "run")
    assert row["main"]["deaths"] == (0 if sandbox.impl == "ours" else "unknown"), row

    done = run_as_user(sandbox, "metrics")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    labels = '{service="%s",tree="%s",declared="true"}'
    for name, tree in (("rootsvc", "system"), ("runsvdir-apprun1", "apprun1"),
                       ("apprun2/web2", "apprun2")):
        assert "runit_service_up%s" % (labels % (name, tree)) not in text, text
        assert "runit_service_as_wanted%s 0\n" % (labels % (name, tree)) in text, text
    assert "runit_service_up%s 1\n" % (labels % ("apprun1/web1", "apprun1")) in text, text
    assert "runit_service_as_wanted%s 1\n" % (labels % ("apprun1/web1", "apprun1")) in text
