"""schema/accounts.py: every account the data names must exist where it is applied — the logins
of ``users`` and every run-as identity a ``chpst -u`` of the tree names (a service's ``user``
and ``group``, a system logger's ``USER[:GROUP…]``, a user's ``groups``) — each missing one at
the file:line:col that writes it, with a "did you mean" drawn from the accounts' own names.

The accounts are tables here (``--passwd``/``--group``, ``--root``'s files) and, for the host's
suggestions, a stand-in for its ``/etc/passwd``; the real CLI over them is
tests/cli/test_everyday_input.py."""

import doctest

import pytest

from runit_provision.accounts import databases as databases_module
from runit_provision.accounts import groups_from_text, host, logins_from_text
from runit_provision.accounts.databases import (
    Databases, GroupTable, HostGroup, HostPasswd, PasswdTable)
from runit_provision.errors import DataError
from runit_provision.hiera import load
from runit_provision.schema import accounts as accounts_check
from runit_provision.schema import config_from_data
from runit_provision.schema.accounts import check_accounts_exist, run_as_names

PASSWD = ("alice:x:1000:1000::/home/alice:/bin/sh\n"
          "www-data:x:33:33::/var/www:/usr/sbin/nologin\n"
          "log:x:90:90::/nonexistent:/usr/sbin/nologin\n")
GROUP = "alice:x:1000:\nwww-data:x:33:\nadm:x:4:log\nlog:x:90:\n"


def tables(passwd=PASSWD, group=GROUP):
    return Databases(PasswdTable(logins_from_text(passwd), "/img/etc/passwd"),
                     GroupTable(groups_from_text(group), "/img/etc/group"))


def problems(tmp_path, text, databases=None):
    """The lines of the DataError for data ``text`` (a data.yaml), or [] when none."""
    path = tmp_path / "data.yaml"
    path.write_text(text)
    data, origins = load(data=str(path), facts={}).runit_data()
    databases = databases or tables()
    config = config_from_data(data, origins, databases.accounts(["alice"]))
    try:
        check_accounts_exist(data, origins, config, databases)
    except DataError as exc:
        return [line.replace(str(path), "data.yaml") for line in str(exc).splitlines()]
    return []


HINT = "(chpst -u would fail at every start; apply never creates accounts)"


def test_doctests():
    assert doctest.testmod(accounts_check).failed == 0


def test_a_services_user_and_group_at_their_keys_with_did_you_mean(tmp_path):
    assert problems(tmp_path, (
        "runit::services:\n"
        "  web:\n"
        "    command: /usr/bin/web\n"
        "    user: www-dta\n"
        "    group: www-dat\n")) == [
        "data.yaml:4:5: services.web.user: user 'www-dta' is not in /img/etc/passwd; did "
        "you mean 'www-data'? " + HINT,
        "data.yaml:5:5: services.web.group: group 'www-dat' is not in /img/etc/group; did "
        "you mean 'www-data'? " + HINT]


def test_each_part_of_a_log_user_and_no_suggestion_when_nothing_is_close(tmp_path):
    assert problems(tmp_path, (
        "runit::services:\n"
        "  web:\n"
        "    command: /usr/bin/web\n"
        "    log: {user: 'lgo:adm:qqqqqq'}\n")) == [
        "data.yaml:4:11: services.web.log.user: group 'qqqqqq' is not in /img/etc/group "
        + HINT,
        "data.yaml:4:11: services.web.log.user: user 'lgo' is not in /img/etc/passwd; did you "
        "mean 'log'? " + HINT]


def test_what_defaults_give_is_reported_once_where_defaults_write_it(tmp_path):
    assert problems(tmp_path, (
        "runit::defaults:\n"
        "  user: nobdy\n"
        "  log: {user: nobdy}\n"
        "runit::services:\n"
        "  web: {command: /usr/bin/web}\n"
        "  api: {command: /usr/bin/api}\n"
        "  own: {command: /usr/bin/own, user: www-data, log: {user: log}}\n"
        "  script: {run: exec true, log: false}\n")) == [
        "data.yaml:2:3: defaults.user: user 'nobdy' is not in /img/etc/passwd " + HINT,
        "data.yaml:3:9: defaults.log.user: user 'nobdy' is not in /img/etc/passwd " + HINT]


def test_only_what_a_chpst_of_the_tree_runs_as(tmp_path):
    """A run script drops defaults' user (it sets its own process state), a user's tree
    drops it and runs its loggers as the user, and an absent service runs nothing."""
    assert problems(tmp_path, (
        "runit::defaults: {user: nobdy}\n"
        "runit::users:\n"
        "  alice:\n"
        "    services:\n"
        "      app: {command: /usr/bin/app, log: {user: alice}}\n"
        "runit::services:\n"
        "  script: {run: exec true}\n"
        "  gone: {command: /usr/bin/gone, ensure: absent}\n")) == []


def test_a_users_tree_group_and_groups(tmp_path):
    assert problems(tmp_path, (
        "runit::users:\n"
        "  alice:\n"
        "    groups: [alice, stafff]\n"
        "    services:\n"
        "      app: {command: /usr/bin/app, user: alice, group: admm}\n"
        "runit::services:\n"
        "  moved: {command: /usr/bin/moved, owner: alice, user: alice, group: wwwdata}\n")) == [
        "data.yaml:3:21: users.alice.groups[1]: group 'stafff' is not in /img/etc/group "
        + HINT,
        "data.yaml:5:49: users.alice.services.app.group: group 'admm' is not in "
        "/img/etc/group; did you mean 'adm'? " + HINT,
        "data.yaml:7:63: services.moved.group: group 'wwwdata' is not in /img/etc/group; did "
        "you mean 'www-data'? " + HINT]


def test_root_is_known_where_a_table_does_not_list_it(tmp_path):
    """As the applier's chown: login and group root are 0 where a database lacks them."""
    assert problems(tmp_path, (
        "runit::services:\n"
        "  web: {command: /usr/bin/web, user: root, group: root, log: {user: 'root:root'}}\n"
    )) == []


def test_a_login_of_users_gets_a_did_you_mean_too(tmp_path):
    assert problems(tmp_path, "runit::users: [alice, alcie]\n") == [
        "data.yaml:1:23: users[1]: login 'alcie' does not exist; did you mean 'alice'? (apply "
        "never creates accounts; add it first, or pass --passwd/--root)"]


def test_the_hosts_suggestions_come_from_its_local_files_only(tmp_path, monkeypatch):
    """The host's NSS is asked one name at a time; a "did you mean" lists only the local
    files (never an NSS listing, which LDAP refuses)."""
    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    monkeypatch.setattr(host, "PASSWD_FILE", str(tmp_path / "passwd"))
    monkeypatch.setattr(host, "GROUP_FILE", str(tmp_path / "group"))
    on_host = Databases(HostPasswd(), HostGroup())
    assert problems(tmp_path, (
        "runit::services:\n"
        "  web: {command: /usr/bin/web, user: no-such-user-wwwdata, group: wwwdata}\n"),
        on_host) == [
        "data.yaml:2:32: services.web.user: user 'no-such-user-wwwdata' is not in this host's "
        "passwd " + HINT,
        "data.yaml:2:60: services.web.group: group 'wwwdata' is not in this host's groups; did "
        "you mean 'www-data'? " + HINT]
    monkeypatch.setattr(host, "GROUP_FILE", str(tmp_path / "nowhere"))
    assert host.local_groups() == [] and on_host.group.listed() == []


@pytest.mark.parametrize("databases", [tables(), Databases(HostPasswd(), HostGroup())])
def test_root_always_exists_and_a_name_only_if_the_database_says_so(databases):
    assert databases.has_user("root") and databases.has_group("root")
    assert not databases.has_user("no-such-login-here")
    assert not databases.has_group("no-such-group-here")


def test_run_as_names_follow_the_config_not_the_raw_keys():
    """A service's own key wins over defaults' (the path is its own); a key the service does
    not run with (a run script's defaults) is not named at all."""
    data = {"defaults": {"user": "app", "group": "app"},
            "services": {"web": {"command": "w", "user": "www-data"},
                         "job": {"run": "exec job"}}}
    from runit_provision.accounts import NO_ACCOUNTS

    assert run_as_names(data, config_from_data(data, {}, NO_ACCOUNTS)) == [
        (("services", "web", "user"), "user", "www-data"),
        (("defaults", "group"), "group", "app")]
    assert databases_module.__doc__ and "has_user" in databases_module.__doc__


def test_every_kind_of_problem_in_one_run(tmp_path):
    """Issue 44, item 14: a key's form, a need, a log directory two services share and an
    account the host lacks — each found by a check that runs after the one before — in one
    run of the one pipeline (inputs.config_of), not in one run each. A need of a service
    that is declared but cannot be read is that service's problem, not an unknown need."""
    from runit_provision.inputs import config_of

    (tmp_path / "passwd").write_text(PASSWD)
    (tmp_path / "group").write_text(GROUP)
    data = tmp_path / "data.yaml"
    data.write_text(
        "runit::services:\n"
        "  web:\n"
        "    command: /usr/bin/web\n"
        "    comand: typo\n"
        "    user: www-dta\n"
        "    needs: [nothere, broken]\n"
        "  a: {command: /usr/bin/a, log: {dir: /var/log/same}}\n"
        "  b: {command: /usr/bin/b, log: {dir: /var/log/same, size: many}}\n"
        "  broken: [not, a, hash]\n")
    with pytest.raises(DataError) as raised:
        config_of(data=str(data), facts={}, passwd=str(tmp_path / "passwd"),
                  group=str(tmp_path / "group"), accounts_must_exist=True)
    assert [line.replace(str(data), "data.yaml") for line in str(raised.value).splitlines()] == [
        "data.yaml:4:5: services.web.comand: unknown key (did you mean 'command'?)",
        "data.yaml:5:5: services.web.user: user 'www-dta' is not in %s/passwd; did you mean "
        "'www-data'? %s" % (tmp_path, HINT),
        "data.yaml:6:13: services.web.needs[0]: needs 'nothere', which is not a service of "
        "the system tree",
        "data.yaml:8:28: services.b.log: logs to /var/log/same, as service a does (svlogd locks "
        "its directory)",
        "data.yaml:8:54: services.b.log.size: expected a whole number, got a string",
        "data.yaml:9:3: services.broken: expected a hash, got a list"]
