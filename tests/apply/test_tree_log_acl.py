"""A user tree's log directory under a temp ``--root``, through the CLI: root:root 0750 and an
access ACL that lets its user alone read and search it (model/acl.py), read back from the
kernel — its xattr decoded, and ``getfacl``'s own words where it is installed. A host applied
before (the directory in the user's primary group, no ACL) converges to it, plan says so as it
says a mode, ``--json`` carries it, and the second plan is empty; nothing restarts for it."""

import json
import os
import shutil
import subprocess

import pytest

from runit_provision.cli.main import main
from runit_provision.model.acl import XATTR, acl_from_bytes, readers_acl

from ..skips import missing, needs_root
from .helpers import staged_root

# alice and bob share the primary group users: the mode alone would let bob read alice's log
PASSWD = ("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n"
          "bob:x:1001:100::/home/bob:/bin/sh\n")
GROUP = "root:x:0:\nusers:x:100:\n"
DATA = """\
runit:
  init: none
  runtime: system
  users:
    alice:
      services:
        notebook: {command: /usr/bin/notebook}
"""
TREE_LOG = "var/log/runsvdir-alice"
GETFACL = ["user::rwx", "user:1000:r-x", "group::r-x", "mask::r-x", "other::---"]


@pytest.fixture
def staged(tmp_path):
    needs_root("apply sets owners, and an ACL, only as root")
    root = staged_root(tmp_path, PASSWD, GROUP)
    (root / "home" / "alice").mkdir(parents=True)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    return root, ["--data", str(data), "--root", str(root), "--profile-d", "none"]


def test_the_tree_log_is_root_s_and_alice_alone_reads_it(staged, capsys):
    root, args = staged
    assert main(["plan"] + args) == 2
    assert ("+ /var/log/runsvdir-alice (directory 0750, acl user:1000:r-x,group::r-x,mask::r-x)"
            in capsys.readouterr().out)
    assert main(["apply", "--json"] + args) == 0, capsys.readouterr().err
    created = step_of(json.loads(capsys.readouterr().out), "/" + TREE_LOG)
    assert (created["action"], created["mode"]) == ("create", "0750")
    assert created["acl"] == "user::rwx,user:1000:r-x,group::r-x,mask::r-x,other::---"
    directory = root / TREE_LOG
    info = os.stat(str(directory))
    assert (oct(info.st_mode & 0o7777), info.st_uid, info.st_gid) == ("0o750", 0, 0)
    assert acl_from_bytes(os.getxattr(str(directory), XATTR)) == readers_acl(0o750, [1000])
    assert os.stat(str(directory / "config")).st_gid == 0
    assert main(["plan"] + args) == 0
    assert capsys.readouterr().out.startswith("No changes: ")


@pytest.mark.slow  # a real tool: the Debian tiers' pure step has no getfacl
def test_getfacl_says_the_acl_in_its_own_words(staged, capsys):
    if shutil.which("getfacl") is None:
        missing("getfacl", "apt-get install acl")
    root, args = staged
    assert main(["apply"] + args) == 0
    done = subprocess.run(["getfacl", "--omit-header", "--numeric", str(root / TREE_LOG)],
                          stdout=subprocess.PIPE, check=True)
    assert [line for line in done.stdout.decode().splitlines() if line] == GETFACL


def test_a_tree_log_of_the_users_group_converges_to_the_acl(staged, capsys):
    """As an apply before the ACL left it: root:users 0750, no ACL (bob could read it)."""
    root, args = staged
    assert main(["apply"] + args) == 0
    directory = str(root / TREE_LOG)
    os.removexattr(directory, XATTR)
    os.chown(directory, 0, 100)
    os.chown(os.path.join(directory, "config"), 0, 100)
    capsys.readouterr()
    assert main(["plan"] + args) == 2
    assert ("~ /var/log/runsvdir-alice (owner 0:100 -> 0:0; acl none -> "
            "user:1000:r-x,group::r-x,mask::r-x)") in capsys.readouterr().out
    assert main(["apply", "--json"] + args) == 0
    result = json.loads(capsys.readouterr().out)
    changed = step_of(result, "/" + TREE_LOG)
    assert changed["action"] == "change" and changed["acl"].startswith("user::rwx,user:1000:")
    assert result["restarts"] == []
    assert acl_from_bytes(os.getxattr(directory, XATTR)) == readers_acl(0o750, [1000])
    assert os.stat(directory).st_mode & 0o7777 == 0o750
    assert main(["plan"] + args) == 0


def test_a_chmod_that_widened_the_mask_is_put_back(staged, capsys):
    """chmod rewrites an ACL's mask: 0770 gives alice write through it. The mode is set
    first, then the ACL, so what the kernel holds after the apply is the data's."""
    root, args = staged
    assert main(["apply"] + args) == 0
    directory = str(root / TREE_LOG)
    os.chmod(directory, 0o770)
    capsys.readouterr()
    assert main(["plan"] + args) == 2
    out = capsys.readouterr().out
    assert "mode 0770 -> 0750" in out and "mask::rwx -> " in out
    assert main(["apply"] + args) == 0
    assert acl_from_bytes(os.getxattr(directory, XATTR)) == readers_acl(0o750, [1000])
    assert os.stat(directory).st_mode & 0o7777 == 0o750


def step_of(result, path):
    return next(step for step in result["actions"] if step["path"] == path)
