"""A rendered tree runs: under the C runsvdir and under ours, every service comes up and every
logger writes ``current``; under ours the loggers are hosted (log pid == the tree's logger host).

The tree is relocated through the data (``sv_dir``, ``service_dir``, ``log_dir``, the user's
``home``) under tmp_path, written with its final paths, and supervised with PATH holding one
implementation's tools (``make_bin_dir``). It holds two system services (``worker`` needs
``web``: the ``sv -w N start`` guard), and a user tree for root (``runsvdir-root``: chpst -u,
-e ./env, -L lock, a user service with its own logger). USER is root for the reason
test_runsvdir_nested.py gives (the venv and tmp_path are not reachable for ``nobody``).
"""

import pytest
import yaml

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.cli.render import write_tree
from runit_provision.render import render

from ..conftest import make_bin_dir
from ..pipeline import config_from_file
from .processes import (BASE_PATH, logger_host_of, normalise, run_sv, running_pid,
                        status_record, wait_until)

pytestmark = pytest.mark.slow


def data_for(tmp_path, bin_dir):
    return {
        "sv_dir": str(tmp_path / "sv"), "service_dir": str(tmp_path / "service"),
        "log_dir": str(tmp_path / "log"),
        "services": {
            "web": {"command": ["sh", "-c", 'echo "web up: $GREETING"; exec sleep 1000'],
                    "env": {"GREETING": "hello $(world)"}},
            "worker": {"command": ["sh", "-c", "echo worker up; exec sleep 1000"],
                       "needs": ["web"], "log": {"size": 100000, "num": 2}},
        },
        "users": {"root": {
            "home": str(tmp_path / "home"), "groups": ["root"],
            "path": "%s:%s" % (bin_dir, BASE_PATH),
            "services": {"app": {"command": ["sh", "-c", "echo app up as $USER; "
                                                         "exec sleep 1000"]}}}},
    }


@pytest.mark.parametrize("impl", ["c", "ours"])
def test_a_rendered_tree_runs(tree, tmp_path, impl, which_tool):
    svdir, start = tree
    runsvdir = which_tool(impl, "runsvdir")  # skips (fails in CI) without the C runit
    bin_dir = make_bin_dir(tmp_path / ("bin-" + impl), impl)
    (tmp_path / "home").mkdir()
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": data_for(tmp_path, bin_dir)}))
    write_tree(render(config_from_file(data, NO_ACCOUNTS)), "/")  # final paths: under tmp_path
    proc = start(runsvdir=runsvdir, env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)})
    sv = which_tool(impl, "sv")
    home = tmp_path / "home"
    sides = {"web": svdir / "web", "worker": svdir / "worker",
             "runsvdir-root": svdir / "runsvdir-root", "app": home / "service" / "app"}
    for name, side in sides.items():
        wait_until(lambda: running_pid(side) and running_pid(side / "log"), timeout=20,
                   what="%s and its logger running" % name)
        out, code = run_sv(["status", str(side)], svdir, sv=sv)
        assert (code, normalise(out)) == (
            0, "run: %s: (pid N) Ns; run: log: (pid N) Ns\n" % side), out
    logs = {tmp_path / "log" / "web": "web up: hello $(world)\n",
            tmp_path / "log" / "worker": "worker up\n",
            home / "logs" / "app": "app up as root\n",
            home / "logs" / "runsvdir": None}
    for directory, line in logs.items():
        current = directory / "current"
        wait_until(lambda: current.exists() and (line is None or line in current.read_text()),
                   what="%s written" % current)
    assert (tmp_path / "log" / "worker" / "config").read_text() == "s100000\nn2\n"
    assert (home / "service" / ".runsvdir.lock").exists()  # chpst -L's lock
    if impl == "ours":
        inner = running_pid(svdir / "runsvdir-root")
        for name, side in sides.items():
            tree = inner if name == "app" else proc.pid
            # hosted in its tree's logger host, not a process of its own
            assert status_record(side / "log").pid == logger_host_of(tree), name
    # sv down on the user's tree takes it down whole (control/t: HUP to the inner runsvdir)
    app = running_pid(sides["app"])
    out, code = run_sv(["-w", "15", "down", "runsvdir-root"], svdir, sv=sv)
    assert (code, normalise(out)) == (0, "ok: down: runsvdir-root: Ns, normally up\n"), out
    wait_until(lambda: not running_pid(sides["app"]), what="the user's service gone")
    assert not _alive(app)


def _alive(pid):
    import os
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
