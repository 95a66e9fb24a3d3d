"""A root service's writable sandbox path is never where a user points it (docs/security.md,
docs/sandbox.md): as an attacker, apprun1 makes ``drop`` in their home a link to a stand-in
for ``/etc``. ``apply`` refuses, at the path in the data, a writable path of a root service that
a user may replace; ``sandbox-run`` refuses at start a path a user made replaceable after
the plan, and binds a writable path from the descriptor its walk checked — the root service
writes nothing where the link leads. Under our runtime and the C runit (``runtime: system``).
"""

import os

import pytest

from runit_provision.protocol.process.sandbox import Sandbox as Spec, spec_bytes
from tests.conftest import OUR_BIN

pytestmark = pytest.mark.slow

STRICT = {"protect_system": "strict"}


def planted(sandbox):
    """apprun1's ``drop``, a link to the stand-in for /etc (root's, beside the tree)."""
    target = sandbox.path("etc")
    sandbox.as_user("apprun1", "ln -s %s drop" % target)
    return sandbox.home("apprun1") / "drop", target


def test_apply_refuses_a_root_services_writable_path_a_user_may_replace(sandbox):
    drop, _ = planted(sandbox)
    sandbox.services["rootsvc"]["sandbox"] = dict(STRICT, read_write_paths=[str(drop)])
    report = sandbox.apply(check=False)
    assert report["exit"] != 0
    assert "data.yaml:" in report["msg"], report
    assert "services.rootsvc.sandbox.read_write_paths[0]: " in report["msg"], report
    assert "a user may replace: %s" % drop in report["msg"], report["msg"]
    assert "uid %d's" % sandbox.ns.users["apprun1"] in report["msg"], report["msg"]
    assert not (sandbox.sv_dir / "rootsvc").exists()  # nothing applied


def test_a_writable_path_only_root_may_replace_is_planned(sandbox):
    """Root's directories all the way, the last one a user's (a service's state directory,
    which its owner cannot replace): planned as any other."""
    kept = sandbox.path("srv/data")
    kept.mkdir(parents=True)
    kept.chmod(0o700)
    os.chown(str(kept), sandbox.ns.users["apprun2"], sandbox.ns.users["apprun2"])
    sandbox.services["rootsvc"]["sandbox"] = dict(STRICT, read_write_paths=[str(kept)])
    report = sandbox.apply(check=False, args=("--check",))
    assert report["exit"] == 2, report  # changes to make, no refusal


def test_sandbox_run_refuses_at_start_a_path_a_user_replaced_since_the_plan(sandbox):
    drop, target = planted(sandbox)
    spec = sandbox.path("spec")
    spec.write_bytes(spec_bytes(Spec(protect_system="strict", read_write_paths=[str(drop)])))
    done = sandbox.ns.run([OUR_BIN / "sandbox-run", spec, "sh", "-c",
                           "echo written >%s/planted" % drop])
    assert done.returncode == 111, (done.stdout, done.stderr)
    assert "a user may replace: %s" % drop in done.stderr, done.stderr
    assert not (target / "planted").exists()
