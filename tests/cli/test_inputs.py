"""cli/inputs.py and the pipeline (inputs.py): where accounts come from — the one rule
(``accounts.databases.databases_for``) every command uses, import included — and what the
databases it gives answer: the Accounts a tree is rendered with (the host's for exactly the
logins the data names) and owner names -> ids."""

import grp
import os
import pwd

import pytest

from runit_provision.accounts.databases import (
    Databases, GroupTable, HostGroup, HostPasswd, PasswdTable, databases_for)
from runit_provision.cli.inputs import accounts_from_args
from runit_provision.inputs import logins_named
from runit_provision.cli.main import build_parser, main

STAGED_PASSWD = "root:x:0:0::/staged/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/zsh\n"


def staged(tmp_path, passwd=STAGED_PASSWD, group="root:x:0:\nwheel:x:10:root\n"):
    """A --root DIR whose etc/ holds the databases given (None: not there)."""
    etc = tmp_path / "root" / "etc"
    etc.mkdir(parents=True)
    for name, text in (("passwd", passwd), ("group", group)):
        if text is not None:
            (etc / name).write_text(text)
    return etc.parent


def sources(databases):
    """Where each database comes from: its file, or "host"."""
    return tuple("host" if isinstance(db, (HostPasswd, HostGroup)) else db.path
                 for db in (databases.passwd, databases.group))


def test_the_logins_named_by_a_list_or_a_hash():
    assert logins_named({"users": ["bob", "alice", "bob", 3]}) == ["alice", "bob"]
    assert logins_named({"users": {"carol": {}}}) == ["carol"]
    assert logins_named({"users": "alice"}) == []
    assert logins_named({}) == []


# -- the rule: which file wins, one database at a time -----------------------------------------
def test_an_options_file_wins_over_the_roots(tmp_path):
    root = staged(tmp_path)
    given = tmp_path / "given-passwd"
    given.write_text("root:x:0:0::/given:/bin/sh\n")
    assert sources(databases_for(str(given), None, str(root))) == (
        str(given), str(root / "etc" / "group"))


def test_with_root_its_files_where_they_exist_else_the_host_for_that_database(tmp_path):
    root = staged(tmp_path, group=None)
    assert sources(databases_for(root=str(root))) == (str(root / "etc" / "passwd"), "host")


def test_without_root_or_options_the_host(tmp_path):
    assert sources(databases_for()) == ("host", "host")


def test_root_slash_is_a_root_like_any_other():
    """``--root /`` stages (apply/session.is_staging), and reads /etc's files, for every
    command — import's default (no --root) is the host's databases."""
    expected = tuple(path if os.path.exists(path) else "host"
                     for path in ("/etc/passwd", "/etc/group"))
    assert sources(databases_for(root="/")) == expected


def test_the_data_commands_read_their_options_through_the_rule(tmp_path):
    """render, plan, apply, status, verify, logs, restart/start/stop: one set of options
    (add_input_arguments), one call (accounts_from_args)."""
    root = staged(tmp_path)
    given = tmp_path / "given-passwd"
    given.write_text("root:x:0:0::/given:/bin/sh\n")
    args = build_parser("plan").parse_args(["plan", "--data", "D", "--root", str(root),
                                            "--passwd", str(given)])
    accounts = accounts_from_args(args, ["root"])
    assert accounts.home_of("root") == "/given"
    assert accounts.groups_of("root") == (["root", "wheel"], "root")


def test_import_names_owners_by_the_same_rule(tmp_path, capsys):
    """import: the option's file, else ROOT/etc/NAME; its default (no --root) is the host.
    Owners are compared by number, as plan compares them: the names only say them."""
    root = staged(tmp_path, "staged:x:4000:4000::/:\n", "staged-group:x:4000:\n")
    (root / "etc" / "sv" / "web").mkdir(parents=True)
    run = root / "etc" / "sv" / "web" / "run"
    run.write_text("#!/bin/sh\nexec sleep 1\n")
    os.chown(str(run), 4000, 4000)
    given = tmp_path / "given-passwd"
    given.write_text("given:x:4000:0::/:\n")

    def changes(*options):
        assert main(["import", "--root", str(root), "/etc/sv", "--out", str(tmp_path / "out")]
                    + list(options)) == 2
        return capsys.readouterr().err

    assert "run: owner 4000:4000 (staged:staged-group) would become 0:0 (root:root)" in \
        changes()
    assert "run: owner 4000:4000 (given:staged-group) would become 0:0 (root:root)" in \
        changes("--passwd", str(given))
    assert main(["import", "--root", str(root), "--user", "alice"]) == 1
    assert "no such login in %s/etc/passwd" % root in capsys.readouterr().err
    args = build_parser("import").parse_args(["import", "/etc/sv"])
    assert sources(databases_for(args.passwd, args.group, args.root)) == ("host", "host")


# -- what the databases answer ----------------------------------------------------------------
def test_the_host_is_asked_about_the_named_logins_only():
    root = pwd.getpwnam("root")
    accounts = databases_for().accounts(["root", "no-such-login-here"])
    assert set(accounts.logins) == {"root"}
    assert accounts.home_of("root") == root.pw_dir
    expected = {grp.getgrgid(gid).gr_name for gid in os.getgrouplist("root", root.pw_gid)}
    groups, primary = accounts.groups_of("root")
    assert primary == grp.getgrgid(root.pw_gid).gr_name
    assert groups[0] == primary and set(groups) == expected


def test_root_files_win_over_the_host(tmp_path):
    accounts = databases_for(root=str(staged(tmp_path))).accounts(["root"])
    assert accounts.home_of("root") == "/staged/root"
    assert accounts.groups_of("root") == (["root", "wheel"], "root")


def test_a_missing_root_file_falls_back_to_the_host_for_that_database_only(tmp_path):
    accounts = databases_for(root=str(staged(tmp_path, group=None))).accounts(["root"])
    assert accounts.home_of("root") == "/staged/root"
    assert accounts.groups_of("root")[1] == grp.getgrgid(0).gr_name


def test_owner_names_to_ids_from_the_same_files(tmp_path):
    databases = databases_for(root=str(staged(tmp_path)))
    assert databases.ids_of("alice", None) == (1000, 1000)
    assert databases.ids_of(None, "wheel") == (0, 10)
    assert databases.shell("alice") == "/bin/zsh" and databases.shell("nobody") == "/bin/sh"
    with pytest.raises(KeyError, match="bob"):
        databases.ids_of("bob", None)
    with pytest.raises(KeyError, match="staff"):
        databases.ids_of("alice", "staff")


def test_root_is_zero_where_a_table_does_not_list_it():
    databases = Databases(PasswdTable({}), GroupTable(()))
    assert databases.ids_of(None, None) == (0, 0) and databases.ids_of("root", "root") == (0, 0)


def test_owner_names_to_ids_from_the_host():
    root = pwd.getpwnam("root")
    databases = databases_for()
    assert databases.user("root") == (root.pw_uid, root.pw_gid)
    assert databases.gid(grp.getgrgid(0).gr_name) == 0
    assert databases.shell("root") == (root.pw_shell or "/bin/sh")
    with pytest.raises(KeyError):
        databases.user("no-such-login-here")


def test_numbers_to_names_a_table_whole_the_host_as_asked(tmp_path):
    """import names owners by number: a file answers for every entry (first entry wins, as
    getpwuid), the host for the numbers asked about."""
    tables = databases_for(root=str(staged(tmp_path, STAGED_PASSWD + "toor:x:0:0::/:\n")))
    assert tables.passwd.names([0]) == {0: "root", 1000: "alice"}
    assert tables.group.names([]) == {0: "root", 10: "wheel"}
    host = databases_for()
    assert host.passwd.names([0, 4294967]) == {0: pwd.getpwuid(0).pw_name}
    assert host.group.names([0]) == {0: grp.getgrgid(0).gr_name}
