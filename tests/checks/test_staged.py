"""verify --root: a staged tree (an image) checked where apply and install-runtime wrote it —
every path read under the root, owners from the root's own passwd and group, nothing expected
to run; the runtime's installation and its link into init checked from the init room's own
answer for that root.

Every ``hiera-examples/`` node applied under a root (``init: auto``: the root's inittab makes
it sysvinit) verifies clean; drift in the services, the runtime or the init link fails naming
the path, and a second apply puts it back. ``install-runtime --root`` alone, then the services'
apply, verify the same way.
"""

import json
import os

import pytest

from runit_provision.cli.main import main

from ..apply.helpers import staged_root
from ..apply.test_examples import EXAMPLES, GROUP, PASSWD

PREFIX = "/usr/local/lib/runit-provision"
HOMES = ("alice", "bob", "deploy", "apprun", "apprun1", "apprun2")


def image_root(tmp_path):
    """A root as an image build has it before provisioning: accounts, homes, an inittab (so
    ``init: auto`` finds sysvinit) and an empty package database."""
    root = staged_root(tmp_path, passwd=PASSWD, group=GROUP)
    (root / "etc" / "inittab").write_text("id:2:initdefault:\n")
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").write_text("")
    for login in HOMES:
        (root / "home" / login).mkdir(parents=True)
    return root


def node_args(root, node):
    return ["--hiera", str(EXAMPLES / "hiera.yaml"), "--facts",
            str(EXAMPLES / "facts" / (node + ".yaml")), "--root", str(root)]


def verified(argv, capsys):
    """(exit code, {check id: status}, {check id: problems}) of verify --json."""
    capsys.readouterr()
    code = main(["verify", "--json"] + argv)
    report = json.loads(capsys.readouterr().out)
    return (code, {check["id"]: check["status"] for check in report["checks"]},
            {check["id"]: check["problems"] for check in report["checks"]
             if check["status"] != "passed"})


@pytest.mark.parametrize("node", ["web01", "app01", "legacy01"])
def test_apply_then_verify_passes_on_every_example_node(tmp_path, capsys, node):
    root = image_root(tmp_path)
    argv = node_args(root, node)
    assert main(["apply"] + argv) == 0, capsys.readouterr().err
    code, statuses, problems = verified(argv, capsys)
    assert (code, problems) == (0, {})
    assert "runtime::linked into init (init: sysvinit)" in statuses
    assert not [nodeid for nodeid in statuses if nodeid.endswith(("::running", "::supervised",
                                                                   "tools installed"))]


def test_drift_in_a_staged_tree_fails_and_apply_puts_it_back(tmp_path, capsys):
    root = image_root(tmp_path)
    argv = node_args(root, "web01")
    assert main(["apply"] + argv) == 0
    code, statuses, _ = verified(argv, capsys)
    assert code == 0 and "runtime::installed (runtime %s)" % _version() in statuses
    (root / "etc" / "inittab").write_text("id:2:initdefault:\n")  # our line gone
    launcher = root / PREFIX.lstrip("/") / "bin" / "sv"
    launcher.write_text(launcher.read_text().replace("-SI", "-I"))
    (root / "usr/local/bin/chpst").unlink()
    run = next((root / "etc" / "sv").glob("*/run"))
    run.chmod(0o700)
    os.lchown(str(run), 1000, -1)  # alice, in the root's passwd
    code, _, problems = verified(argv, capsys)
    service = run.parent.name
    assert code == 1 and sorted(problems) == sorted([
        "runtime::installed (runtime %s)" % _version(),
        "runtime::linked into init (init: sysvinit)", service + "::files"])
    assert problems[service + "::files"] == [
        "/etc/sv/%s/run: mode 0700, want 0755" % service,
        "/etc/sv/%s/run: owned by alice:root, want root:root" % service]
    installed = problems["runtime::installed (runtime %s)" % _version()]
    assert installed[0].startswith("%s/bin/sv: content differs from the data" % PREFIX)
    assert installed[1:] == ["/usr/local/bin/chpst: not linked (ENOENT)"]
    assert problems["runtime::linked into init (init: sysvinit)"][0].startswith(
        "/etc/inittab: content differs from the data")
    assert main(["apply"] + argv) == 0
    assert verified(argv, capsys)[0] == 0


def test_install_runtime_then_apply_verify_with_systemd(tmp_path, capsys):
    """The image recipe: install-runtime --root with the data, apply --root, verify --root;
    the unit's wants link removed by hand is what verify names."""
    root = image_root(tmp_path)
    (root / "etc" / "inittab").unlink()
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: systemd\nrunit::services:\n  web: {command: /usr/bin/web}\n")
    argv = ["--data", str(data), "--root", str(root)]
    assert main(["install-runtime"] + argv) == 0
    assert main(["apply"] + argv) == 0
    code, statuses, problems = verified(argv, capsys)
    assert (code, problems) == (0, {})
    assert "runtime::linked into init (init: systemd)" in statuses
    wants = "etc/systemd/system/multi-user.target.wants/runit-provision-runsvdir.service"
    (root / wants).unlink()
    code, _, problems = verified(argv, capsys)
    assert code == 1 and problems == {"runtime::linked into init (init: systemd)": [
        "/%s: not linked (ENOENT)" % wants]}


def test_init_none_checks_neither_the_installation_nor_init(tmp_path, capsys):
    root = image_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::services:\n  web: {command: /usr/bin/web}\n")
    argv = ["--data", str(data), "--root", str(root)]
    assert main(["apply"] + argv) == 0
    code, statuses, _ = verified(argv, capsys)
    assert code == 0 and not [nodeid for nodeid in statuses if nodeid.startswith("runtime::")]


def test_a_relative_root_verifies_as_its_absolute_path(tmp_path, capsys, monkeypatch):
    """--root image/ reads the same paths as --root /abs/image (the log directory's writable
    check once read "/" as "image/" and failed with "/ is missing")."""
    root = image_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::services:\n  web: {command: /usr/bin/web}\n")
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    monkeypatch.chdir(tmp_path)
    code, _, problems = verified(["--data", str(data), "--root", "root/"], capsys)
    assert (code, problems) == (0, {})


def test_a_remote_host_skips_the_runtime_and_a_refusal_fails(tmp_path):
    from runit_provision.checks.expected import Unknown, expectations
    from runit_provision.cli.verify import runtime_expected
    from runit_provision.render import render

    from .helpers import config_of

    config, _ = config_of(tmp_path, {"runit": {"init": "auto", "sv_dir": str(tmp_path / "sv")}})
    remote = runtime_expected(config, None, ["ssh://web01"])
    assert isinstance(remote, Unknown) and not remote.is_error
    checks = expectations(config, render(config), runtime=remote).checks
    assert [(c.nodeid, bool(c.skip)) for c in checks if c.group == "runtime"] == [
        ("runtime::tools installed", False), ("runtime::installed", True),
        ("runtime::linked into init (init: auto)", True)]
    refused = Unknown("init: auto found no init system under /x; set init:", is_error=True)
    failing = [c for c in expectations(config, render(config), runtime=refused).checks
               if c.group == "runtime" and c.name.startswith("linked")]
    assert failing[0].test(None) == [refused.reason]


def _version():
    import runit_provision

    return runit_provision.__version__


def test_a_tree_logs_acl_is_verified(tmp_path, capsys):
    """A user tree's log directory is read by its user through an ACL (model/acl.py): verify
    reads the ACL the kernel holds; one lost, or widened to the user's whole group by a
    chmod, fails naming it."""
    root = image_root(tmp_path)
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::users:\n  alice:\n    services:\n"
                    "      notebook: {command: /usr/bin/notebook}\n")
    argv = ["--data", str(data), "--root", str(root)]
    assert main(["apply"] + argv) == 0
    assert verified(argv, capsys)[::2] == (0, {})
    directory = str(root / "var" / "log" / "runsvdir-alice")
    os.removexattr(directory, "system.posix_acl_access")
    code, _, problems = verified(argv, capsys)
    assert code == 1 and problems == {"runsvdir-alice::files": [
        "/var/log/runsvdir-alice: ACL none, want user:1000:r-x,group::r-x,mask::r-x"]}
    assert main(["apply"] + argv) == 0
    os.chmod(directory, 0o770)  # the mask follows the group bits: alice may write
    code, _, problems = verified(argv, capsys)
    assert code == 1 and problems == {"runsvdir-alice::files": [
        "/var/log/runsvdir-alice: mode 0770, want 0750",
        "/var/log/runsvdir-alice: ACL user:1000:r-x,group::r-x,mask::rwx, want "
        "user:1000:r-x,group::r-x,mask::r-x"]}
