"""A user's sandboxed service, for real: the user's tree is our runsvdir running as the user
(``nobody``), its service's ``./run`` execs ``sandbox-run`` without privilege, which makes a
user namespace and applies the sandbox there (docs/sandbox.md, "Without privilege"); and
where the host allows no user namespace, the service does not run and says why. In the VM,
whose sysctls are the test's to change."""

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from tests.conftest import our_tool
from tests.runtime.processes import SH, make_service, wait_until
from tests.vm.test_resources import vmtree  # noqa: F401 (the fixture)

SAYS = ("grep -E '^(NoNewPrivs|CapEff):' /proc/self/status | tr -d '\\t'; "
        "if test -w /usr; then echo usr=writable; else echo usr=read-only; fi; "
        "echo tmp=$(ls -A /tmp | wc -l); echo net=$(ls /sys/class/net | tr '\\n' ,); "
        "echo netns=$(readlink /proc/self/ns/net); "
        "echo said")
MAX_USERNS = Path("/proc/sys/user/max_user_namespaces")


@pytest.fixture
def users_tree(vmtree, scratch):
    """``(start, home, outer)``: root's tree with ``runsvdir-nobody`` (as the generator
    renders it), the user's tree on ``scratch/home/service``."""
    svdir, start, _cgroup = vmtree
    home = scratch / "home"
    scratch.chmod(0o755)
    outer = make_service(svdir, "runsvdir-nobody", run=SH + (
        'exec 2>&1\nexec env -i PATH="$PATH" chpst -u nobody -e ./env -L %s/.runsvdir.lock '
        "runsvdir %s\n" % (home / "service", home / "service")))
    (outer / "env").mkdir()
    (outer / "env" / "HOME").write_text(str(home) + "\n")
    return start, home, outer


def sandboxed(home, name, line, says=SAYS):
    service = make_service(home / "service", name, run=SH + "exec >%s/%s.out 2>&1\nexec %s "
                           "./sandbox sh -c %s\n" % (home, name, our_tool("sandbox-run"),
                                                     "'%s'" % says.replace("'", "'\\''")))
    (service / "sandbox").write_text(line + "\n")
    return service


def chown_to_nobody(path):
    user = pwd.getpwnam("nobody")
    subprocess.run(["chown", "-R", "%d:%d" % (user.pw_uid, user.pw_gid), str(path)],
                   check=True)


def said(path):
    wait_until(lambda: path.exists() and "said\n" in path.read_text(), timeout=120,
               what="%s said" % path)
    lines = path.read_text().splitlines()
    return dict((line if "=" in line else line.replace(":", "=", 1)).split("=", 1)
                for line in lines if "=" in line or ":" in line)


def test_a_users_service_is_sandboxed_in_a_user_namespace(users_tree):
    start, home, _outer = users_tree
    sandboxed(home, "hard", "sandbox 1 no_new_privileges private_tmp protect_system=strict "
                            "private_network")
    sandboxed(home, "bare", "sandbox 1")
    chown_to_nobody(home)
    start()
    hard, bare = said(home / "hard.out"), said(home / "bare.out")
    assert (hard["NoNewPrivs"], bare["NoNewPrivs"]) == ("1", "0")
    assert hard["usr"] == bare["usr"] == "read-only"  # nobody's anyway; strict's too
    assert hard["tmp"] == "0" and bare["tmp"] != "0"
    # a network namespace of its own, with lo alone (the VM's own has no other link)
    assert hard["net"] == "lo," and hard["netns"] != bare["netns"]
    assert bare["netns"] == os.readlink("/proc/self/ns/net")


def test_where_the_host_allows_no_user_namespace_the_service_does_not_run(users_tree):
    start, home, _outer = users_tree
    sandboxed(home, "hard", "sandbox 1 private_tmp")
    chown_to_nobody(home)
    before = MAX_USERNS.read_text()
    MAX_USERNS.write_text("0\n")
    try:
        start()
        out = home / "hard.out"
        wait_until(lambda: out.exists() and "sandbox-run" in out.read_text(), timeout=120,
                   what="sandbox-run's refusal")
        assert out.read_text().splitlines()[0] == (
            "sandbox-run: fatal: unable to make a user namespace (not root): out of disk "
            "space (user.max_user_namespaces)")
        assert "said" not in out.read_text()  # never run without its sandbox
    finally:
        MAX_USERNS.write_text(before)
