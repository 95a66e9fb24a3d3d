"""A generic service and its instances, as Void Linux lays out its gettys, run under the C
runsvdir and under ours.

``agetty-generic/run`` takes the instance from its directory's name (``tty=${PWD##*-}``) and
sources ``./conf``; ``agetty-tty1`` and ``agetty-tty2`` are directories whose ``run`` is a link
to it (``links: {run: …}``), each with a ``conf`` of its own, and ``supervise`` a dangling
link into a run directory (``/run/runit/supervise.NAME`` on Void; runsv makes its target).
The data is rendered with its final paths under tmp_path, then supervised: each instance
says its own tty and its own conf.
"""

import os

import pytest
import yaml

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.cli.render import write_tree
from runit_provision.render import render

from ..conftest import make_bin_dir
from ..pipeline import config_from_file
from .processes import BASE_PATH, normalise, run_sv, running_pid, wait_until

pytestmark = pytest.mark.slow

GENERIC_RUN = """\
#!/bin/sh
tty=${PWD##*-}
[ -r conf ] && . ./conf
echo "getty on $tty with $GETTY_ARGS"
exec sleep 1000
"""


def data_for(tmp_path):
    generic = str(tmp_path / "sv" / "agetty-generic" / "run")
    return {
        "sv_dir": str(tmp_path / "sv"), "service_dir": str(tmp_path / "service"),
        "log_dir": str(tmp_path / "log"),
        "services": {
            "agetty-generic": {"run": GENERIC_RUN, "enabled": False, "log": False},
            "agetty-tty1": {"links": {"run": generic},  # absolute, as Void's are
                            "conf": 'GETTY_ARGS="--noclear"\n'},
            "agetty-tty2": {"links": {"run": "../agetty-generic/run"},  # relative
                            "conf": {"content": "GETTY_ARGS=--8bits\n", "mode": "0600"}},
        },
    }


@pytest.mark.parametrize("impl", ["c", "ours"])
def test_instances_of_a_generic_service_run_with_their_own_name_and_conf(tree, tmp_path, impl,
                                                                          which_tool):
    svdir, start = tree
    runsvdir = which_tool(impl, "runsvdir")  # skips (fails in CI) without the C runit
    bin_dir = make_bin_dir(tmp_path / ("bin-" + impl), impl)
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": data_for(tmp_path)}))
    write_tree(render(config_from_file(data, NO_ACCOUNTS)), "/")
    for name in ("agetty-tty1", "agetty-tty2"):
        assert os.readlink(str(tmp_path / "sv" / name / "run")).endswith("agetty-generic/run")
        # dangling, as on a booted Void: runsv makes the link's target (runsv.c, 2.1.2)
        supervise = tmp_path / "run" / "runit" / ("supervise." + name)
        supervise.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(str(supervise), str(tmp_path / "sv" / name / "supervise"))
    start(runsvdir=runsvdir, env={"PATH": "%s:%s" % (bin_dir, BASE_PATH)})
    sv = which_tool(impl, "sv")
    for tty, args in (("tty1", "--noclear"), ("tty2", "--8bits")):
        side = svdir / ("agetty-" + tty)
        wait_until(lambda: running_pid(side) and running_pid(side / "log"), timeout=20,
                   what="agetty-%s and its logger running" % tty)
        out, code = run_sv(["status", str(side)], svdir, sv=sv)
        assert (code, normalise(out)) == (
            0, "run: %s: (pid N) Ns; run: log: (pid N) Ns\n" % side), out
        current = tmp_path / "log" / ("agetty-" + tty) / "current"
        line = "getty on %s with %s" % (tty, args)
        wait_until(lambda: current.exists() and line in current.read_text(),
                   what="%s says %r" % (current, line))
        # runsv's state went through the link, into the run directory
        assert (tmp_path / "run" / "runit" / ("supervise.agetty-" + tty) / "status").exists()
