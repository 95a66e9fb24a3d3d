"""schema/sandbox.py's ``check_user_namespaces``: a user's sandboxed service on a host that
refuses a user namespace to a user is a problem where its sandbox is written — asked by plan
and apply (``inputs.config_of``'s ``userns``); host/userns.py reads the kernel's switches.
The answer is handed in here (the seam); sandbox-run's own refusal is test_sandbox_run's."""

import pytest

from runit_provision.errors import DataError
from runit_provision.host.userns import user_namespaces_refused
from runit_provision.inputs import config_of

DATA = """\
runit::users:
  alice:
    services:
      nb: {command: /usr/bin/nb, sandbox: {private_tmp: true}}
      plain: {command: /usr/bin/plain}
  root:
    services:
      mine: {command: /usr/bin/mine, sandbox: {private_tmp: true}}
runit::services:
  web: {command: /usr/bin/web, sandbox: {private_tmp: true}}
  notes: {command: /usr/bin/notes, owner: alice, sandbox: {protect_system: true}}
"""
REFUSED = "user.max_user_namespaces = 0"


def config(tmp_path, text, userns):
    path = tmp_path / "data.yaml"
    path.write_text(text)
    return config_of(data=str(path), facts={}, passwd=None, userns=userns)[0]


def test_a_host_that_allows_them_takes_every_sandbox(tmp_path):
    assert config(tmp_path, DATA, lambda: None).users["alice"].services["nb"].sandbox


def test_each_users_sandbox_is_named_where_it_is_written(tmp_path):
    with pytest.raises(DataError) as info:
        config(tmp_path, DATA, lambda: REFUSED)
    lines = [line.split("data.yaml:", 1)[1] for line in str(info.value).splitlines()]
    why = ("a user's service is sandboxed in a user namespace, which this host refuses to a "
           "user (user.max_user_namespaces = 0): sandbox-run would refuse every start "
           "(docs/sandbox.md)")
    # root's services and root's own tree need none
    assert lines == ["4:34: users.alice.services.nb.sandbox: " + why,
                     "11:50: services.notes.sandbox: " + why]


def test_defaults_are_named_once_when_a_user_has_services(tmp_path):
    text = ("runit::defaults: {sandbox: {no_new_privileges: true}}\nrunit::users:\n  alice:\n"
            "    services: {a: {command: /usr/bin/a}, b: {command: /usr/bin/b}}\n")
    with pytest.raises(DataError) as info:
        config(tmp_path, text, lambda: REFUSED)
    assert str(info.value).count("defaults.sandbox: a user's service") == 1


def test_defaults_reach_a_service_put_in_a_users_tree_by_owner(tmp_path):
    text = ("runit::defaults: {sandbox: {no_new_privileges: true}}\nrunit::users:\n  alice: {}\n"
            "runit::services:\n  notes: {command: /usr/bin/notes, owner: alice}\n"
            "  web: {command: /usr/bin/web}\n")
    with pytest.raises(DataError) as info:
        config(tmp_path, text, lambda: REFUSED)
    assert [line.split("data.yaml:", 1)[1].split(": ")[1] for line in
            str(info.value).splitlines()] == ["defaults.sandbox"]
    assert config(tmp_path, text.replace("owner: alice", "user: nobody"), lambda: REFUSED)


@pytest.mark.parametrize("files, why", [
    ({}, None),
    ({"user/max_user_namespaces": "15000\n"}, None),
    ({"user/max_user_namespaces": "0\n"}, "user.max_user_namespaces = 0"),
    ({"user/max_user_namespaces": "10\n", "kernel/unprivileged_userns_clone": "0\n"},
     "kernel.unprivileged_userns_clone = 0"),
    ({"kernel/apparmor_restrict_unprivileged_userns": "1\n"},
     "kernel.apparmor_restrict_unprivileged_userns = 1"),
    ({"kernel/apparmor_restrict_unprivileged_userns": "0\n"}, None),
])
def test_the_kernels_switches(tmp_path, files, why):
    for name, value in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(value)
    assert user_namespaces_refused(str(tmp_path)) == why
