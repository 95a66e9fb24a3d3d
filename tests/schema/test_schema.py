"""The schema: error cases as data files, and the typed values of good data — all through
the path users take (``tests/pipeline.py``: hiera.load(data=FILE) -> runit_data -> schema)."""

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

from runit_provision import model
from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.errors import DataError
from runit_provision.model import Check, Config, Log

from ..pipeline import config_from_file, config_from_text

HERE = Path(__file__).parent
CASES = sorted(path.stem for path in (HERE / "errors").glob("*.yaml"))


@pytest.mark.parametrize("case", CASES)
def test_error_case(case):
    """Every problem of the file at once, one line each: FILE:LINE:COL: key.path: message."""
    path = HERE / "errors" / (case + ".yaml")
    expected = (HERE / "errors" / (case + ".expected")).read_text().replace("FILE", str(path))
    with pytest.raises(DataError) as info:
        config_from_file(path)
    assert str(info.value) + "\n" == expected


def test_both_spellings_mean_the_same():
    hash_spelling = config_from_text(
        "runit:\n  sv_dir: /srv/sv\n  users: [alice]\n"
        "  services:\n    web: {command: /usr/bin/web}\n")
    key_spelling = config_from_text(
        "runit::sv_dir: /srv/sv\nrunit::users: [alice]\n"
        "runit::services:\n  web: {command: /usr/bin/web}\nother::key: 1\n")
    assert hash_spelling == key_spelling
    assert hash_spelling.sv_dir == "/srv/sv"


def test_a_key_in_both_spellings_is_an_error_naming_both_places():
    with pytest.raises(DataError) as info:
        config_from_text("runit:\n  sv_dir: /a\n  users: []\nrunit::sv_dir: /b\n"
                         "runit::users: [alice]\n")
    lines = str(info.value).split("\n")
    assert len(lines) == 2
    assert "data.yaml:4:1: runit::sv_dir: also given as runit.sv_dir at " in lines[0]
    assert lines[0].endswith("data.yaml:2:3; use one spelling")
    assert "data.yaml:5:1: runit::users: also given as runit.users at" in lines[1]


def test_a_runit_key_that_is_not_a_hash():
    with pytest.raises(DataError, match=r"data.yaml:1:1: runit: expected a hash of settings, "
                                        r"got a list"):
        config_from_text("runit: [a, b]\n")


def test_defaults_are_merged_under_every_service():
    config = config_from_text("""
runit::defaults:
  user: www
  env: {LANG: C, MODE: prod}
  log: {size: 1000, num: 3}
  restart_on_change: false
runit::services:
  web:
    command: /usr/bin/web --port 8080
    env: {MODE: dev}
    log: {num: 9}
  quiet:
    command: [/usr/bin/q, "a b"]
    log: false
""")
    web = config.services["web"]
    assert web.command == ["/usr/bin/web", "--port", "8080"]
    assert web.user == "www" and web.restart_on_change is False
    assert web.env == {"LANG": "C", "MODE": "dev"}
    assert web.log == Log(size=1000, num=9)
    quiet = config.services["quiet"]
    assert quiet.command == ["/usr/bin/q", "a b"] and quiet.log is False


def test_defaults_reject_per_service_keys():
    with pytest.raises(DataError, match=r"defaults.command: not allowed in defaults"):
        config_from_text("runit::defaults: {command: x}\n")


def test_top_level_defaults():
    config = config_from_text("runit::services: {web: {command: x}}\n")
    assert (config.runtime, config.sv_dir, config.service_dir, config.log_dir,
            config.sv_timeout, config.init) == ("python", "/etc/sv", "/etc/service",
                                                "/var/log", 7, "auto")
    web = config.services["web"]
    assert (web.enabled, web.ensure, web.down, web.restart_on_change) == (
        True, "present", False, True)
    assert web.log == Log()  # the stock logger


def test_users_from_the_databases_and_from_data():
    config = config_from_text("""
runit::users:
  alice:
    services: {app: {command: x}}
  carol: {home: /srv/carol, groups: [carol, adm]}
runit::services:
  web: {command: y, owner: alice}
""")
    alice, carol = config.users["alice"], config.users["carol"]
    assert alice.home == "/home/alice" and alice.groups == ["alice", "adm", "staff"]
    assert sorted(alice.services) == ["app", "web"]
    assert alice.service_dir == "/home/alice/service" and alice.sv_dir == "/home/alice/sv"
    assert alice.log_dir == "/home/alice/logs/runsvdir"
    # carol is not in passwd: rendering goes on with what the data says (apply checks logins)
    assert carol.groups == ["carol", "adm"] and carol.primary_group == "carol"
    assert "web" not in config.services


def test_an_unknown_login_renders_with_chpst_picking_the_primary_group():
    config = config_from_text("runit::users: [dave]\n")
    assert config.users["dave"].groups == [] and config.users["dave"].home == "/home/dave"


def test_a_user_tree_service_runs_as_that_user():
    with pytest.raises(DataError, match=r"users.alice.services.app.user: a service in "
                                        r"alice's tree runs as alice"):
        config_from_text("runit::users:\n  alice:\n    services:\n"
                         "      app: {command: x, user: www}\n")


def test_runsvdir_service_names_are_taken():
    with pytest.raises(DataError, match=r"runsvdir-alice is defined twice"):
        config_from_text("runit::users: [alice]\n"
                         "runit::services: {runsvdir-alice: {command: x}}\n")


def test_structured_checks():
    config = config_from_text("""
runit::services:
  a: {command: x, check: {tcp: 8080}}
  b: {command: x, check: {tcp: "10.0.0.1:53"}}
  c: {command: x, check: {http: "http://localhost:8080/health"}}
  d: {command: x, check: {command: "pg_isready -q"}}
  e: {command: x, check: "exec true"}
""")
    checks = {name: service.check for name, service in config.services.items()}
    assert checks == {"a": Check(kind="tcp", value=("127.0.0.1", 8080)),
                      "b": Check(kind="tcp", value=("10.0.0.1", 53)),
                      "c": Check(kind="http", value="http://localhost:8080/health"),
                      "d": Check(kind="command", value=["pg_isready", "-q"]),
                      "e": Check(kind="script", value="#!/bin/sh\nexec true\n")}


def test_a_template_path_is_relative_to_its_file(tmp_path):
    config = config_from_text("runit::services: {web: {template: t/run.j2}}\n",
                              path=str(tmp_path / "data.yaml"))
    assert config.services["web"].template == str(tmp_path / "t" / "run.j2")


def test_malformed_yaml_names_the_place():
    with pytest.raises(DataError, match=r"data.yaml:\d+:\d+: malformed YAML"):
        config_from_text("runit::services:\n  web: [unclosed\n")


def test_model_doctests():
    assert doctest.testmod(model).failed == 0


def test_model_is_stdlib_only():
    code = ("import sys, runit_provision.model; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jinja2', 'yaml', 'ruamel', 'difflib', 'shlex')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_schema_reads_no_host_accounts():
    """Accounts are an input: validating users loads neither pwd nor grp."""
    code = ("import sys; from runit_provision.schema import config_from_data; "
            "from runit_provision.accounts import NO_ACCOUNTS; "
            "config = config_from_data({'users': ['root', 'alice']}, {}, NO_ACCOUNTS); "
            "print(config.users['root'].home, config.users['root'].groups, "
            "sorted(m for m in sys.modules if m in ('pwd', 'grp')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out == "/home/root [] []\n"


def test_config_is_a_frozen_record():
    assert Config(runtime="python") != Config(runtime="system")
    config = config_from_text("runit::services: {web: {command: x, log: {size: 5}}}\n")
    for record, field in ((config, "sv_dir"), (config.services["web"], "user"),
                          (config.services["web"].log, "user")):
        with pytest.raises(AttributeError, match="frozen"):
            setattr(record, field, "changed")


def test_the_same_data_with_other_accounts():
    text = "runit::users: [alice]\n"
    assert config_from_text(text).users["alice"].groups == ["alice", "adm", "staff"]
    alice = config_from_text(text, accounts=NO_ACCOUNTS).users["alice"]
    assert (alice.groups, alice.primary_group, alice.home) == ([], None, "/home/alice")


def test_defaults_that_do_not_apply_are_dropped_not_errors():
    config = config_from_text("""
runit::users: [alice]
runit::defaults: {umask: "0022", user: www, nice: 3}
runit::services:
  script: {run: "exec sleep 1"}
  mine: {command: x, owner: alice}
  other: {command: y}
  gone: {ensure: absent}
""")
    script = config.services["script"]
    assert (script.umask, script.user, script.nice) == (None, None, None)
    mine = config.users["alice"].services["mine"]
    assert (mine.user, mine.umask, mine.nice) == (None, "0022", 3)
    assert config.services["other"].user == "www"
    assert config.services["gone"].ensure == "absent"


def test_conf_files_and_links_merge_through_defaults():
    """``files`` and ``links`` are hashes: merged with defaults' key by key; ``conf`` is
    replaced whole; process state only defaults gave yields to an instance's
    ``links.run``."""
    config = config_from_text("""
runit::defaults:
  umask: "0022"
  conf: "A=1\\n"
  files: {README: "shared\\n", NOTES: {content: "", mode: "0600"}}
  links: {check: /etc/sv/generic/check}
runit::services:
  generic: {run: "exec sleep 1", conf: {content: "B=2\\n", mode: "0640"}}
  tty1: {links: {run: ../generic/run}, files: {README: "mine\\n"}}
""")
    generic, tty1 = config.services["generic"], config.services["tty1"]
    assert generic.conf == ("B=2\n", 0o640) and tty1.conf == ("A=1\n", 0o644)
    assert tty1.files == {"README": ("mine\n", 0o644), "NOTES": ("", 0o600)}
    assert tty1.links == {"check": "/etc/sv/generic/check", "run": "../generic/run"}
    assert tty1.umask is None and generic.umask is None


def test_a_run_scripts_own_process_state_is_an_error():
    with pytest.raises(DataError, match=r"services.s: umask: only with command"):
        config_from_text("runit::services: {s: {run: x, umask: '0022'}}\n")


def test_needs_across_trees_say_why():
    with pytest.raises(DataError, match=r"needs 'db', which is not a service of alice's tree "
                                        r"\(needs stay within one tree"):
        config_from_text("runit::users: [alice]\nrunit::services:\n  db: {command: x}\n"
                         "  app: {command: y, owner: alice, needs: [db]}\n")


def test_a_give_up_policy_and_its_bounds():
    config = config_from_text("runit::services: {web: {command: x, restart: "
                              "{give_up_after: 5}}}\n")
    assert config.services["web"].restart == (5, 60)
    for bad, message in (("{give_up_after: 0}", r"restart.give_up_after: 0 is out of range"),
                         ("{give_up_after: 65}", r"65 is out of range \(1..64\)"),
                         ("{give_up_after: 3, within: 0}", r"restart.within: 0 is out of"),
                         ("{give_up: 3}", r"restart.give_up: unknown key"),
                         ("3", r"restart: expected a hash")):
        with pytest.raises(DataError, match=message):
            config_from_text("runit::services: {web: {command: x, restart: %s}}\n" % bad)


def test_a_backoff_and_its_defaults_merge_beside_a_give_up_policy():
    """``restart``'s back-off keys (docs/restart.md): defaults for what is not given, a
    service's keys over ``defaults``', the give-up policy beside them untouched."""
    config = config_from_text(
        "runit::defaults: {restart: {delay: 2, jitter: 0.5}}\n"
        "runit::services:\n"
        "  web: {command: x, restart: {max_delay: 60, steps: 5, give_up_after: 9}}\n"
        "  api: {command: y, restart: {reset_after: 600}}\n"
        "  plain: {command: z, restart: {give_up_after: 3}}\n"
        "  none: {command: z}\n")
    web, api = config.services["web"], config.services["api"]
    assert web.restart == (9, 60)
    assert web.backoff == model.Backoff(delay=2, max_delay=60, steps=5, jitter=0.5,
                                        reset_after=60)
    assert api.restart is None
    assert api.backoff == model.Backoff(delay=2, max_delay=2, steps=0, jitter=0.5,
                                        reset_after=600)
    lone = config_from_text("runit::services: {x: {command: x, restart: {jitter: 3}}}\n")
    assert lone.services["x"].backoff == model.Backoff(delay=1, max_delay=1, steps=0,
                                                       jitter=3, reset_after=60)
    none = config_from_text("runit::services: {x: {command: z, restart: {give_up_after: 3}}}\n")
    assert none.services["x"].backoff is None


def test_a_timer_s_keys_are_typed_and_defaults_that_do_not_apply_are_dropped():
    """``schedule`` makes a timer (model.Schedule, with persistent, jitter and time_limit as
    numbers); what ``defaults`` give that a timer refuses (finish, ready, restart, oneshot)
    is dropped for it, and a timer's keys from ``defaults`` are dropped for a daemon."""
    config = config_from_text("""
runit::defaults: {finish: "echo bye", ready: notify, restart: {give_up_after: 5},
                  oneshot: true, jitter: 30, time_limit: 60}
runit::services:
  purge: {command: /usr/bin/purge, schedule: "*:0/15", persistent: true, jitter: 2.5}
  nightly: {command: /usr/bin/backup, schedule: "30 2 * * *"}
  web: {command: /usr/bin/web, oneshot: false}
""")
    purge, nightly, web = (config.services[name] for name in ("purge", "nightly", "web"))
    assert purge.schedule == model.Schedule(text="*:0/15", kind="calendar",
                                            normalized="*-*-* *:00/15:00")
    assert (purge.persistent, purge.jitter, purge.time_limit) == (True, 2.5, 60.0)
    assert (purge.finish, purge.ready, purge.restart, purge.oneshot) == (None, None, None,
                                                                         False)
    assert (nightly.schedule.kind, nightly.persistent, nightly.jitter) == ("cron", False, 30.0)
    assert web.schedule is None and (web.jitter, web.time_limit) == (0.0, None)
    assert web.finish == "#!/bin/sh\necho bye\n" and web.restart == (5, 60)


def test_schedule_is_not_allowed_in_defaults():
    with pytest.raises(DataError, match=r"defaults.schedule: not allowed in defaults"):
        config_from_text("runit::defaults: {schedule: daily}\n"
                         "runit::services: {web: {command: x}}\n")


def test_resources_are_typed_and_merge_with_defaults_key_by_key():
    """``resources`` (docs/resources.md) as ``protocol.cgroupfs.settings`` takes them: bytes,
    tasks, percent of one CPU, weights; None for infinity. ``defaults`` merge under a
    service's own key by key, as ``limits``; ``stop`` is ``group`` unless given."""
    config = config_from_text("""
runit::defaults: {resources: {memory_max: 1G, tasks_max: 64, cpu_weight: 50}, stop: main}
runit::users:
  alice:
    resources: {memory_max: 2G, tasks_max: infinity}
    services:
      notebook: {command: /usr/bin/nb, resources: {memory_max: 512M}}
runit::services:
  web:
    command: /usr/bin/web
    resources: {memory_max: 268435456, memory_high: 200M, cpu_quota: 150%, io_weight: 100,
                tasks_max: infinity}
    stop: group
  plain: {command: /usr/bin/plain}
""")
    web, plain = config.services["web"], config.services["plain"]
    assert web.resources == {"memory_max": 256 << 20, "memory_high": 200 << 20,
                             "tasks_max": None, "cpu_weight": 50, "cpu_quota": 150,
                             "io_weight": 100}
    assert web.stop == "group" and plain.stop == "main"
    assert plain.resources == {"memory_max": 1 << 30, "tasks_max": 64, "cpu_weight": 50}
    alice = config.users["alice"]
    assert alice.resources == {"memory_max": 2 << 30, "tasks_max": None}
    assert alice.services["notebook"].resources == {"memory_max": 512 << 20, "tasks_max": 64,
                                                    "cpu_weight": 50}


def test_without_resources_a_service_has_none_and_its_stop_is_the_runtimes_default():
    config = config_from_text("runit::users: [bob]\nrunit::services: {web: {command: x}}\n")
    # None: group under our runsv, runit's under the C one (docs/resources.md)
    assert (config.services["web"].resources, config.services["web"].stop) == ({}, None)
    assert config.users["bob"].resources == {}


def test_a_default_memory_max_below_a_services_memory_high_is_a_problem():
    with pytest.raises(DataError, match=r"data.yaml:2:\d+: services.web.resources.memory_high: "
                                        r"1073741824 bytes is above memory_max \(536870912"):
        config_from_text("runit::defaults: {resources: {memory_max: 512M}}\n"
                         "runit::services: {web: {command: x, resources: {memory_high: 1G}}}\n")


def test_a_bad_pair_of_memory_bounds_is_said_once_where_a_bound_was_written():
    """Of defaults, once at defaults' memory_high (not once per service); a service's own
    memory_max below a default memory_high, at its memory_max."""
    with pytest.raises(DataError) as info:
        config_from_text("runit::defaults: {resources: {memory_max: 512M, memory_high: 1G}}\n"
                         "runit::services: {web: {command: x}, db: {command: y}}\n")
    assert str(info.value).count("\n") == 0
    assert ":1:49: defaults.resources.memory_high: 1073741824 bytes is above memory_max " \
           "(536870912 bytes)" in str(info.value)
    with pytest.raises(DataError, match=r":2:\d+: services.web.resources.memory_max: "
                                        r"268435456 bytes is below memory_high \(1073741824"):
        config_from_text("runit::defaults: {resources: {memory_high: 1G}}\n"
                         "runit::services: {web: {command: x, resources: {memory_max: 256M}}}\n")


def test_notify_beside_a_private_network_of_defaults_is_said_once():
    """Both from defaults: once, at defaults' ready; a service's own private_network under
    a default notify: at its private_network."""
    with pytest.raises(DataError) as info:
        config_from_text("runit::defaults: {ready: notify, sandbox: {private_network: true}}\n"
                         "runit::services: {web: {command: x}, db: {command: y}}\n")
    assert str(info.value).count("\n") == 0 and ":1:19: defaults.ready: ready: notify with " \
        "sandbox.private_network" in str(info.value)
    with pytest.raises(DataError, match=r":2:\d+: services.web.sandbox.private_network: "):
        config_from_text("runit::defaults: {ready: notify}\nrunit::services: {web: {command: x, "
                         "sandbox: {private_network: true}}}\n")


def test_a_path_private_tmp_hides_is_refused_where_its_list_was_written():
    """``private_tmp`` from ``defaults`` and a service's own path under /tmp: refused at the
    path; a default list under /var/tmp with a service's own ``private_tmp``: at defaults'.
    A path beside /tmp (``/tmpfs``) is not hidden."""
    with pytest.raises(DataError) as info:
        config_from_text(
            "runit::defaults: {sandbox: {private_tmp: true}}\n"
            "runit::services:\n"
            "  web: {command: x, sandbox: {read_write_paths: [/tmpfs, /tmp/web]}}\n"
            "  db: {command: y}\n")
    assert str(info.value).count("\n") == 0
    assert ":3:58: services.web.sandbox.read_write_paths[1]: private_tmp replaces /tmp" \
        in str(info.value)
    with pytest.raises(DataError, match=r":1:\d+: defaults.sandbox.read_only_paths\[0\]: "
                                        r"private_tmp replaces /var/tmp .* the host's /var/tmp/x"):
        config_from_text("runit::defaults: {sandbox: {read_only_paths: [-/var/tmp/x]}}\n"
                         "runit::services: {web: {command: x, sandbox: {private_tmp: true}}}\n")
