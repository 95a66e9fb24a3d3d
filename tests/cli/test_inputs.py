"""cli/inputs.py: where accounts come from — files given, ``--root``'s, or the host's for
exactly the logins the data names."""

import argparse
import grp
import os
import pwd

from runit_provision.cli.inputs import accounts_from_args, host_accounts, logins_named


def args(**given):
    values = dict(passwd=None, group=None, root=None)
    values.update(given)
    return argparse.Namespace(**values)


def test_the_logins_named_by_a_list_or_a_hash():
    assert logins_named({"users": ["bob", "alice", "bob", 3]}) == ["alice", "bob"]
    assert logins_named({"users": {"carol": {}}}) == ["carol"]
    assert logins_named({"users": "alice"}) == []
    assert logins_named({}) == []


def test_the_host_is_asked_about_the_named_logins_only():
    root = pwd.getpwnam("root")
    accounts = host_accounts(["root", "no-such-login-here"])
    assert set(accounts.logins) == {"root"}
    assert accounts.home_of("root") == root.pw_dir
    expected = {grp.getgrgid(gid).gr_name for gid in os.getgrouplist("root", root.pw_gid)}
    groups, primary = accounts.groups_of("root")
    assert primary == grp.getgrgid(root.pw_gid).gr_name
    assert groups[0] == primary and set(groups) == expected


def test_root_files_win_over_the_host(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0::/staged/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\nwheel:x:10:root\n")
    accounts = accounts_from_args(args(root=str(tmp_path)), ["root"])
    assert accounts.home_of("root") == "/staged/root"
    assert accounts.groups_of("root") == (["root", "wheel"], "root")


def test_a_missing_root_file_falls_back_to_the_host_for_that_database_only(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("root:x:0:0::/staged/root:/bin/sh\n")
    accounts = accounts_from_args(args(root=str(tmp_path)), ["root"])
    assert accounts.home_of("root") == "/staged/root"
    assert accounts.groups_of("root")[1] == grp.getgrgid(0).gr_name
