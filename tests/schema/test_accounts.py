"""Accounts as an input: passwd(5) and group(5) text -> logins and groups, as the C library
reads them (first entry wins; comments, NIS lines and malformed lines skipped)."""

import doctest

import pytest

from runit_provision import accounts
from runit_provision.accounts import (
    NO_ACCOUNTS, Group, Login, accounts_from_text, groups_from_file, logins_from_file)
from runit_provision.errors import DataError

PASSWD = """\
# a comment
root:x:0:0:root:/root:/bin/bash
alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh
alice:x:2000:2000::/elsewhere:/bin/sh
+nis::::::
short:x:1:1
bad:x:one:1::/x:/bin/sh

www:x:33:33:www-data:/var/www:/usr/sbin/nologin
"""
GROUP = """\
root:x:0:
alice:x:1000:
first:x:50:alice
second:x:50:
adm:x:4:syslog,alice,,
www:x:33:
"""


def test_doctests():
    assert doctest.testmod(accounts).failed == 0


def test_parsing_as_the_c_library_reads():
    found = accounts_from_text(PASSWD, GROUP)
    assert found.logins == {"root": Login("root", 0, 0, "/root", "/bin/bash"),
                            "alice": Login("alice", 1000, 1000, "/home/alice", "/bin/sh"),
                            "www": Login("www", 33, 33, "/var/www", "/usr/sbin/nologin")}
    assert found.groups[4] == Group("adm", 4, ("syslog", "alice"))
    assert found.home_of("alice") == "/home/alice" and found.home_of("bob") is None


def test_groups_of_a_login():
    found = accounts_from_text(PASSWD, GROUP)
    assert found.groups_of("alice") == (["alice", "adm", "first"], "alice")
    assert found.groups_of("www") == (["www"], "www")
    assert found.groups_of("nobody") == ([], None)
    # a primary gid no group has: unknown, chpst -u LOGIN decides at run time
    assert accounts_from_text("x:x:5:77::/x:/bin/sh\n", "").groups_of("x") == ([], None)
    assert NO_ACCOUNTS.groups_of("alice") == ([], None)


def test_first_group_of_a_gid_is_the_primary():
    found = accounts_from_text("u:x:9:50::/u:/bin/sh\n", GROUP)
    assert found.groups_of("u") == (["first"], "first")


def test_records_are_frozen():
    found = accounts_from_text(PASSWD, GROUP)
    with pytest.raises(AttributeError):
        found.logins = {}
    with pytest.raises(AttributeError):
        found.logins["alice"].home = "/x"


def test_files(tmp_path):
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    assert logins_from_file(tmp_path / "passwd")["www"].home == "/var/www"
    assert len(groups_from_file(tmp_path / "group")) == 6
    with pytest.raises(DataError, match=r"nowhere: cannot read"):
        logins_from_file(tmp_path / "nowhere")
