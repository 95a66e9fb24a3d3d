"""The data's ``sandbox`` as the service directory's ``sandbox`` file and ``./run``'s
``sandbox-run`` line, under both runtimes (docs/sandbox.md)."""

import pytest

from runit_provision.protocol.process.sandbox import Sandbox, spec_from_bytes

from .helpers import text_of, tree_from_text

WEB = ("runit::services:\n"
       "  web:\n    command: [/usr/bin/web, --port, '80']\n    user: www-data\n"
       "    sandbox: {no_new_privileges: true, capabilities: [CAP_NET_BIND_SERVICE],"
       " protect_system: strict, read_write_paths: [/var/lib/web]}\n")


@pytest.mark.parametrize("runtime", ["python", "system"])
def test_a_command_runs_through_sandbox_run_which_switches_the_user(runtime):
    tree = tree_from_text("runit::runtime: %s\n" % runtime + WEB)
    assert spec_from_bytes(text_of(tree, "/etc/sv/web/sandbox").encode()) == Sandbox(
        no_new_privileges=True, capabilities=["net_bind_service"], protect_system="strict",
        read_write_paths=["/var/lib/web"])
    # the user is sandbox-run's, not chpst's: the capability is kept across the switch
    assert text_of(tree, "/etc/sv/web/run") == (
        "#!/bin/sh\nexec 2>&1\nexec sandbox-run ./sandbox -u www-data /usr/bin/web --port 80\n")


def test_chpst_keeps_the_rest_and_a_cwd_names_the_file_whole():
    tree = tree_from_text(
        "runit::services:\n  job:\n    command: /usr/bin/job\n    user: app\n    group: app\n"
        "    cwd: /srv/job\n    env: {A: b}\n    nice: 5\n    sandbox: {private_tmp: true}\n")
    assert text_of(tree, "/etc/sv/job/run").endswith(
        "cd /srv/job || exit 1\nexec chpst -e /etc/sv/job/env -n 5 sandbox-run "
        "/etc/sv/job/sandbox -u app:app /usr/bin/job\n")


def test_a_run_script_is_started_in_the_sandbox_after_its_needs():
    tree = tree_from_text(
        "runit::services:\n  db: {command: /usr/bin/db}\n  app:\n    needs: [db]\n"
        "    run: |\n      #!/bin/sh\n      exec 2>&1\n      exec /usr/bin/app\n"
        "    sandbox: {protect_home: true}\n")
    # the guard talks to db's supervise/ outside the sandbox, which may make it read-only
    assert text_of(tree, "/etc/sv/app/run") == (
        "#!/bin/sh\nsv -w 7 start /etc/sv/db || exit 1\nexec sandbox-run ./sandbox ./sandboxed\n")
    assert text_of(tree, "/etc/sv/app/sandboxed") == "#!/bin/sh\nexec 2>&1\nexec /usr/bin/app\n"


def test_a_timers_job_and_a_users_service_run_in_theirs():
    tree = tree_from_text(
        "runit::users:\n  alice:\n    home: /home/alice\n    services:\n"
        "      notes: {command: /usr/bin/notes, user: alice, sandbox: {private_network: true}}\n"
        "runit::services:\n  purge: {command: /usr/bin/purge, schedule: daily,"
        " sandbox: {protect_system: full}}\n")
    assert text_of(tree, "/etc/sv/purge/job").endswith(
        "exec sandbox-run ./sandbox /usr/bin/purge\n")
    # a user's tree is the user already: sandbox-run makes a user namespace, no -u
    assert text_of(tree, "/home/alice/sv/notes/run").endswith(
        "exec sandbox-run ./sandbox /usr/bin/notes\n")


def test_defaults_merge_key_by_key_and_nothing_on_is_no_sandbox():
    tree = tree_from_text(
        "runit::defaults:\n  sandbox: {no_new_privileges: true, private_tmp: true}\n"
        "runit::services:\n  a: {command: /usr/bin/a, sandbox: {private_tmp: false}}\n"
        "  b: {command: /usr/bin/b, sandbox: {no_new_privileges: false, private_tmp: false}}\n")
    assert text_of(tree, "/etc/sv/a/sandbox") == "sandbox 1 no_new_privileges\n"
    assert "/etc/sv/b/sandbox" not in {entry.path for entry in tree}
    assert text_of(tree, "/etc/sv/b/run").endswith("exec /usr/bin/b\n")


def test_under_the_c_runsv_the_cgroup_is_entered_before_the_sandbox():
    tree = tree_from_text("runit::runtime: system\nrunit::services:\n  web: {command: "
                          "/usr/bin/web, resources: {tasks_max: 10}, sandbox: {private_tmp: true}}\n")
    assert text_of(tree, "/etc/sv/web/run") == (
        "#!/bin/sh\nexec 2>&1\nrunsv-cgroup enter $$ || exit 1\n"
        "exec sandbox-run ./sandbox /usr/bin/web\n")
