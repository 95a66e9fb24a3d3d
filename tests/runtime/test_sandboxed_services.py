"""The data's ``sandbox`` for real, through what the generator renders, under both runtimes:
our runsvdir (``runtime: python``) and the C one (``runtime: system``) run the same ``./run``,
which execs ``sandbox-run``. Each service says what it sees from inside — /proc/self/status,
whether /usr is writable, what /root, /tmp and /sys/class/net hold, whether port 80 binds — on
its log, beside a service without the sandbox that says the same things of the host, so each
assertion fails without its setting.

Nothing is written outside the test's directory: ``test -w`` asks without writing. A user's
tree is root's (the venv and tmp_path are not reachable for ``nobody``, as
test_runsvdir_nested.py says); sandbox-run as a user without privilege is
test_sandbox_run.py's.
"""

import os

import pytest
import yaml

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.cli.render import write_tree
from runit_provision.protocol.process.sandbox import CAPABILITIES
from runit_provision.render import render

from ..conftest import IN_CI, OUR_BIN, make_bin_dir
from ..pipeline import config_from_file
from .processes import BASE_PATH, running_pid, wait_until

pytestmark = pytest.mark.slow

SAYS = ("grep -E '^(NoNewPrivs|CapBnd|CapEff|CapAmb):' /proc/self/status; "
        "if test -w /usr; then echo usr=writable; else echo usr=read-only; fi; "
        "echo root=$(ls -A /root | wc -l); echo tmp=$(ls -A /tmp | wc -l); "
        "echo net=$(ls /sys/class/net | tr '\\n' ,); "
        "perl -MSocket -e 'socket(S, PF_INET, SOCK_STREAM, 0) or die; "
        "print bind(S, sockaddr_in(80, INADDR_LOOPBACK)) ? \"port80=bound\\n\" : "
        "\"port80=refused\\n\"'; echo said; exec sleep 1000")
HARD = {"no_new_privileges": True, "capabilities": ["net_bind_service"],
        "protect_system": "strict", "protect_home": True, "private_tmp": True,
        "private_network": True}


def data_for(tmp_path, runtime, path):
    command = ["sh", "-c", SAYS]
    return {
        "runtime": runtime, "sv_dir": str(tmp_path / "sv"),
        "service_dir": str(tmp_path / "service"), "log_dir": str(tmp_path / "log"),
        "services": {
            "hard": {"command": command, "sandbox": HARD},
            "hard-user": {"command": command, "user": "nobody",
                          "sandbox": {"no_new_privileges": True,
                                      "capabilities": ["net_bind_service"]}},
            "bare-user": {"command": command, "user": "nobody"},
            "bare": {"command": command},
            "script": {"run": "#!/bin/sh\nexec 2>&1\n" + SAYS + "\n",
                       "sandbox": {"protect_system": "full", "private_tmp": True}},
        },
        "users": {"root": {
            "home": str(tmp_path / "home"), "groups": ["root"],
            "path": path,
            "services": {"mine": {"command": command,
                                  "sandbox": {"no_new_privileges": True,
                                              "private_network": True}}}}},
    }


def said(log_dir):
    """``{word: value}`` of what the service said on its log (``said`` ends it)."""
    current = log_dir / "current"
    wait_until(lambda: current.exists() and "said\n" in current.read_text(), timeout=30,
               what="%s said" % current)
    found = {}
    for line in current.read_text().splitlines():
        line = line.split(" ", 1)[-1]  # after svlogd's timestamp
        key, sep, value = line.partition("=") if "=" in line else line.partition(":")
        if sep:
            found[key] = value.strip()
    return found


def caps(value):
    return {CAPABILITIES[bit] for bit in range(64) if int(value, 16) >> bit & 1}


@pytest.mark.parametrize("runtime", ["python", "system"])
def test_sandboxed_services_see_what_their_settings_say(tree, tmp_path, runtime, which_tool):
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI=true but not root: the sandbox's tests make mounts")
        pytest.skip("needs root")
    impl = "ours" if runtime == "python" else "c"
    svdir, start = tree
    runsvdir = which_tool(impl, "runsvdir")  # skips (fails in CI) without the C runit
    # the C runit's tools first; sandbox-run (ours, for both) after them
    bin_dir = make_bin_dir(tmp_path / "bin", impl)
    path = "%s:%s:%s" % (bin_dir, BASE_PATH, OUR_BIN)
    (tmp_path / "home").mkdir()
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": data_for(tmp_path, runtime, path)}))
    write_tree(render(config_from_file(data, NO_ACCOUNTS)), "/")
    start(runsvdir=runsvdir, env={"PATH": path})
    log = tmp_path / "log"
    hard, bare, script = said(log / "hard"), said(log / "bare"), said(log / "script")
    mine = said(tmp_path / "home" / "logs" / "mine")
    hard_user, bare_user = said(log / "hard-user"), said(log / "bare-user")

    # no new privileges, and the bounding set of one capability (kept effective by root)
    assert (hard["NoNewPrivs"], bare["NoNewPrivs"]) == ("1", "0")
    assert caps(hard["CapBnd"]) == caps(hard["CapEff"]) == {"net_bind_service"}
    assert "sys_admin" in caps(bare["CapBnd"])
    # protect_system: strict, and full for the script (/usr read-only in both)
    assert (hard["usr"], script["usr"], bare["usr"]) == ("read-only", "read-only", "writable")
    # protect_home: /root empty; private_tmp: a /tmp of its own
    assert hard["root"] == "0" and bare["root"] != "0"
    assert hard["tmp"] == script["tmp"] == "0" and bare["tmp"] != "0"
    # private_network: only lo, in the user's tree too
    assert hard["net"] == mine["net"] == "lo," and bare["net"] != "lo,"
    assert mine["NoNewPrivs"] == "1"
    # run as nobody: the capability kept across sandbox-run's user switch, made ambient
    assert caps(hard_user["CapAmb"]) == caps(hard_user["CapEff"]) == {"net_bind_service"}
    assert (hard_user["port80"], bare_user["port80"]) == ("bound", "refused")
    assert caps(bare_user["CapEff"]) == set()
    for name in ("hard", "bare", "script", "hard-user", "bare-user"):
        assert running_pid(svdir / name), name  # and each stays up in its sandbox
