"""The one table of what a change does (apply/effects.py): every file the renderer writes has a
row, the docs show the table as the module holds it, and the planner's decision follows it.

The renderer is asked for every key of the data, under both runtimes and in a user's tree:
a path in a service directory or a log directory with no row of its own — other than the
files and links the data carries by name — fails, so a new file cannot be written without
saying what its change does to the running service.
"""

import posixpath
from pathlib import Path

import pytest

from runit_provision.apply.effects import (ROWS, Effect, Role, decide, effect_of,
                                           markdown_table, role_in_service)
from runit_provision.model.tree import Directory, File, Symlink
from runit_provision.model.units import declared_units

from ..pipeline import config_from_text
from runit_provision.render import render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "apply.md"

EVERY_KEY = """
runit::runtime: %(runtime)s
runit::services:
  web:
    command: [/usr/bin/web, --port, "8080"]
    user: www-data
    env: {PORT: "8080"}
    cwd: /srv/web
    umask: "0027"
    nice: 5
    limits: {nofile: 4096}
    resources: {memory_max: 256M, tasks_max: 64}
    stop: group
    sandbox: {private_tmp: true, protect_system: strict}
    needs: [migrate, cache]
    check: {tcp: 8080}
    finish: 'sleep 1'
    control: {h: 'exit 0'}
    restart: {give_up_after: 5, within: 60, delay: 1, max_delay: 30, steps: 4}
    conf: "A=1\\n"
    files: {README: "how web is run\\n", tools/rotate: {content: "#!/bin/sh\\n", mode: "0755"}}
    links: {tools/current: /srv/web/current}
    log: {prefix: "web: ", size: 100000}
  script:
    run: "#!/bin/sh\\nexec /usr/bin/script\\n"
    sandbox: {protect_home: read-only}
  cache:
    command: /usr/bin/cache
    ready: notify
    down: true
    stop: main
  migrate:
    command: /usr/bin/migrate
    oneshot: true
  purge:
    command: /usr/bin/purge
    schedule: "*:0/15"
    persistent: true
    time_limit: 60
  agent:
    command: /usr/bin/agent
    ready: {fd: 3}
  tty1:
    links: {run: /etc/sv/web/run, log/run: /etc/sv/web/log/run}
    conf: "TTY=1\\n"
runit::users:
  alice:
    resources: {memory_max: 2G}
    services:
      notebook:
        command: /usr/bin/notebook
        env: {A: "1"}
        resources: {tasks_max: 32}
        restart: {give_up_after: 3, within: 60}
"""

CARRIED = {"README", "tools", "tools/rotate", "tools/current"}  # the data's files: and links:


def rendered_paths(runtime):
    """``[(unit, path relative to its directory or log directory, entry)]`` of every entry
    the renderer writes for ``EVERY_KEY`` under ``runtime``."""
    config = config_from_text(EVERY_KEY % {"runtime": runtime})
    tree = render(config)
    units = declared_units(config)
    found = []
    for entry in tree:
        for unit in units:
            for base in (unit.path, unit.log_dir):
                if base is not None and entry.path.startswith(base + "/"):
                    found.append((unit, posixpath.relpath(entry.path, base), entry,
                                  base == unit.log_dir))
    return found


@pytest.mark.parametrize("runtime", ["python", "system"])
def test_every_file_the_renderer_writes_has_a_row_of_its_own(runtime):
    named = set()
    for unit, relative, entry, in_log_dir in rendered_paths(runtime):
        if in_log_dir:
            assert relative == "config", (unit.label, relative)
            named.add(Role.LOG_CONFIG)
            continue
        role = role_in_service(relative)
        if isinstance(entry, Directory):
            assert role in (Role.ENV, Role.CONTROL, Role.LOG, Role.FILES), relative
            assert role is not Role.FILES or relative in CARRIED, (unit.label, relative)
            continue
        assert isinstance(entry, (File, Symlink))
        if role is Role.FILES:
            assert relative in CARRIED, "%s: %s has no row in apply/effects.py" % (
                unit.label, relative)
        named.add(role)
    # every row a file can have is met by the data above: the data covers the table
    file_rows = {row.role for row in ROWS} - {Role.LOG, Role.LINK}
    assert file_rows <= named | {Role.FILES}, sorted(role.value for role in file_rows - named)


def test_the_docs_show_the_table_the_module_holds():
    assert markdown_table() in DOCS.read_text()


def test_each_row_names_its_reason():
    for row in ROWS:
        assert row.why and row.effect in Effect
        assert effect_of(row.role) == (row.effect, row.why)


@pytest.mark.parametrize("roles,restart,limits,rearm,log", [
    ({Role.SANDBOX}, ["sandbox"], [], [], None),
    ({Role.SANDBOXED, Role.CGROUP}, ["sandboxed"], [], [], None),
    ({Role.READY}, ["ready"], [], [], None),
    ({Role.CGROUP, Role.FINISH}, [], ["cgroup"], [], None),
    ({Role.LOG_RUN, Role.LOG_CONFIG}, [], [], [], Effect.LOG_RESTART),
    ({Role.LOG_CONFIG, Role.GIVE_UP}, [], [], [], Effect.LOG_HUP),
])
def test_what_changed_roles_call_for(roles, restart, limits, rearm, log):
    decision = decide(roles)
    assert [role.value for role in decision.restart] == restart
    assert [role.value for role in decision.limits] == limits
    assert [role.value for role in decision.rearm] == rearm
    assert (decision.log[0] if decision.log else None) is log


def test_a_timer_reads_its_run_files_at_its_next_run():
    decision = decide({Role.SANDBOX, Role.ENV, Role.JOB, Role.SCHEDULE, Role.CGROUP},
                      is_timer=True)
    assert decision.restart == () and decision.rearm == (Role.SCHEDULE,)
    assert decision.limits == (Role.CGROUP,)
    assert sorted(role.value for role, _ in decision.left) == ["env", "job", "sandbox"]
