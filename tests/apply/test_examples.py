"""Every example node of ``hiera-examples/`` applied under a temp ``--root`` (staging): the
first apply converges, the second plan is empty — through the CLI, exit codes included.

The examples say ``init: auto``; the init room's part is a fake here (no entries, no commands),
so what is checked is the applier's own idempotency on realistic data.
"""

import pytest

from runit_provision.cli.main import main

from ..conftest import ROOT

EXAMPLES = ROOT / "hiera-examples"
PASSWD = """\
root:x:0:0:root:/root:/bin/sh
log:x:90:90::/nonexistent:/usr/sbin/nologin
alice:x:1000:1000::/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
deploy:x:1002:1002::/home/deploy:/bin/sh
apprun:x:1003:1003::/home/apprun:/bin/sh
apprun1:x:1004:1004::/home/apprun1:/bin/sh
apprun2:x:1005:1005::/home/apprun2:/bin/sh
www-data:x:33:33::/var/www:/usr/sbin/nologin
apache:x:48:48::/usr/share/httpd:/sbin/nologin
redis:x:999:999::/var/lib/redis:/usr/sbin/nologin
nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin
"""
GROUP = """\
root:x:0:
log:x:90:
alice:x:1000:
bob:x:1001:
deploy:x:1002:
apprun:x:1003:
apprun1:x:1004:
apprun2:x:1005:
developers:x:2000:alice
www-data:x:33:
apache:x:48:
redis:x:999:
nogroup:x:65534:
"""


@pytest.fixture
def no_init(monkeypatch):
    class Part:
        entries = commands = notes = ()

    from runit_provision import initsys

    monkeypatch.setattr(initsys, "desired_runtime", lambda config, fs: Part())


@pytest.mark.parametrize("node", ["web01", "app01", "legacy01"])
def test_an_example_node_converges_and_stays_converged(tmp_path, capsys, no_init, node):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for login in ("alice", "bob", "deploy", "apprun", "apprun1", "apprun2"):
        (root / "home" / login).mkdir(parents=True)
    argv = ["--hiera", str(EXAMPLES / "hiera.yaml"), "--facts",
            str(EXAMPLES / "facts" / (node + ".yaml")), "--root", str(root)]
    assert main(["plan"] + argv) == 2
    assert main(["apply"] + argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["plan"] + argv) == 0
    assert capsys.readouterr().out.startswith("No changes: ")
    assert main(["apply", "--json"] + argv) == 0
    assert '"changed": false' in capsys.readouterr().out


@pytest.mark.parametrize("node", ["web01", "legacy01"])
def test_with_the_init_room_the_runtime_and_init_converge_too(tmp_path, capsys, node):
    """The real initsys (sysvinit: the root has an /etc/inittab): the runtime's copy, its
    launchers and the inittab line are planned and written like the services, and stay
    converged; telinit is never run under --root."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    (root / "etc" / "inittab").write_text("id:2:initdefault:\n")
    for login in ("alice", "bob", "apprun1", "apprun2"):
        (root / "home" / login).mkdir(parents=True)
    argv = ["--hiera", str(EXAMPLES / "hiera.yaml"), "--facts",
            str(EXAMPLES / "facts" / (node + ".yaml")), "--root", str(root)]
    assert main(["apply"] + argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "= runtime: init: sysvinit (/etc/inittab exists)\n" in out
    assert "~ /etc/inittab (content)\n" in out
    assert main(["plan"] + argv) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("No changes: ")
