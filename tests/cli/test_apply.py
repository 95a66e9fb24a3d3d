"""``runit-provision plan | apply | status`` under ``--root`` (staging: nothing started, no sv):
exit codes (plan 0/2/1, apply 0/1, status 0/3/1), the lines, ``--diff`` and its masked
secrets, ``--json`` (Ansible's contract), ``--only``, the lock, the init room's call site, and
bad input — each with a clear message and nothing written."""

import fcntl
import gc
import json
import os

import pytest

from runit_provision.cli.main import main
from runit_provision.initsys.records import command
from runit_provision.model.tree import File
from runit_provision.shown import shown_name

from ..apply.helpers import staged_root

DATA = """\
runit::init: none
runit::services:
  web:
    command: /usr/bin/web --port 8080
    env: {PORT: "8080", TOKEN: s3cret}
  db: {command: /usr/bin/db, log: false}
"""
PASSWD = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"
GROUP = "root:x:0:\nalice:x:1000:\n"


@pytest.fixture
def staged(tmp_path):
    """A --root DIR with its own passwd and group, and a data file."""
    root = staged_root(tmp_path, passwd=PASSWD, group=GROUP)
    (root / "home" / "alice").mkdir(parents=True)
    data = tmp_path / "data.yaml"
    data.write_text(DATA)
    return root, data


def args(command, root, data, *extra):
    return [command, "--data", str(data), "--root", str(root)] + list(extra)


def test_a_call_leaves_the_cyclic_collector_as_it_found_it(staged):
    # main pauses the collector for its run (SPEC 6: apply's speed); a caller's stays on,
    # and only main as the program (argv None) freezes what it built
    root, data = staged
    frozen = gc.get_freeze_count()
    assert gc.isenabled()
    assert main(args("apply", root, data)) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        assert main(args("plan", root, data)) == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_plan_apply_plan_exit_codes_and_lines(staged, capsys):
    root, data = staged
    assert main(args("plan", root, data)) == 2
    out = capsys.readouterr().out
    assert "+ /etc/sv/web/run (file 0755)\n" in out
    assert "+ /etc/service/web -> /etc/sv/web\n" in out
    assert out.endswith("Plan: 17 to create, 0 to change, 0 to remove, 0 service actions; "
                        "0 up to date.\n")
    assert not (root / "etc" / "sv").exists()  # plan writes nothing
    assert main(args("apply", root, data)) == 0
    assert capsys.readouterr().out.endswith("Applied: 17 created.\n")
    assert os.readlink(str(root / "etc/service/web")) == "/etc/sv/web"  # final paths
    assert main(args("plan", root, data)) == 0
    assert capsys.readouterr().out == "No changes: 15 paths up to date.\n"
    assert main(args("apply", root, data, "--check")) == 0
    assert main(args("apply", root, data)) == 0
    assert capsys.readouterr().out.endswith("Nothing to do.\n")


def test_brief_counts_what_a_new_service_directory_holds(staged, capsys):
    """One line for a new service directory (and its log directory) instead of one per path;
    changes inside existing ones are still listed path by path, and the summary counts all."""
    root, data = staged
    assert main(args("plan", root, data, "--brief")) == 2
    out = capsys.readouterr().out
    assert "+ /etc/sv/web (directory 0755), and 6 paths in it\n" in out
    assert "+ /var/log/web (directory 0755), and 1 path in it\n" in out
    assert "/etc/sv/web/run" not in out
    assert out.endswith("Plan: 17 to create, 0 to change, 0 to remove, 0 service actions; "
                        "0 up to date.\n")
    assert main(args("apply", root, data)) == 0
    (root / "etc/sv/web/run").write_text("#!/bin/sh\nexec true\n")
    capsys.readouterr()
    assert main(args("plan", root, data, "--brief")) == 2
    assert "~ /etc/sv/web/run (content)\n" in capsys.readouterr().out


def test_drift_is_planned_then_reverted_and_diffs_mask_env(staged, capsys):
    root, data = staged
    assert main(args("apply", root, data)) == 0
    run = root / "etc/sv/web/run"
    run.write_text("#!/bin/sh\nexec /usr/bin/web --debug\n")
    (root / "etc/sv/web/env/TOKEN").write_text("leaked\n")
    capsys.readouterr()
    assert main(args("plan", root, data, "--diff")) == 2
    out = capsys.readouterr().out
    assert "~ /etc/sv/web/run (content)\n" in out
    assert "    -exec /usr/bin/web --debug\n" in out
    assert "    +exec chpst -e ./env /usr/bin/web --port 8080\n" in out
    assert "    -(secret: 7 bytes; --show-secrets shows it)\n" in out
    assert "    +(secret: 7 bytes, changed; --show-secrets shows it)\n" in out
    assert "s3cret" not in out and "leaked" not in out
    assert "= web: run changed; no restart: --root: nothing is started\n" in out
    assert main(args("plan", root, data, "--diff", "--show-secrets")) == 2
    out = capsys.readouterr().out
    assert "    -leaked\n" in out and "    +s3cret\n" in out
    assert main(args("apply", root, data)) == 0
    assert run.read_text().endswith("--port 8080\n")
    assert main(args("plan", root, data)) == 0


def test_json_is_ansibles_contract(staged, capsys):
    root, data = staged
    assert main(args("plan", root, data, "--json")) == 2
    report = json.loads(capsys.readouterr().out)
    assert (report["changed"], report["failed"], report["check_mode"]) == (True, False, True)
    assert report["root"] == str(root)
    first = report["actions"][0]
    assert first == {"action": "create", "path": "/etc/service", "kind": "directory",
                     "reasons": ["new"], "service": None, "mode": "0755"}
    secret = next(diff for diff in report["diff"]
                  if diff["after_header"] == "/etc/sv/web/env/TOKEN")
    assert secret == {"before_header": "/dev/null", "after_header": "/etc/sv/web/env/TOKEN",
                      "before": "", "after": "(secret: 7 bytes; --show-secrets shows it)\n"}
    assert main(args("apply", root, data, "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["changed"] is True and report["check_mode"] is False
    assert len(report["actions"]) == 17 and report["restarts"] == []
    (root / "etc/sv/web/run").chmod(0o644)
    assert main(args("apply", root, data, "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["actions"] == [{"action": "change", "path": "/etc/sv/web/run",
                                  "kind": "file", "reasons": ["mode 0644 -> 0755"],
                                  "service": "web", "mode": "0755"}]
    assert report["diff"] == []  # a mode put back has no diff
    assert {"path": "/etc/sv/db/run", "reason": "up to date"} in report["noops"]
    assert main(args("apply", root, data, "--json")) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["changed"], report["actions"]) == (False, [])


def test_only_limits_the_plan_to_the_services_named(staged, capsys):
    root, data = staged
    assert main(args("apply", root, data, "--only", "db")) == 0
    assert (root / "etc/sv/db/run").exists() and not (root / "etc/sv/web").exists()


def test_a_second_apply_refuses_after_the_lock_timeout(staged, capsys):
    root, data = staged
    lock = root / "etc" / ".runit-provision.lock"
    held = os.open(str(lock), os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # another apply, as far as flock can tell
        assert main(args("apply", root, data, "--lock-timeout", "0.2")) == 1
        assert main(args("plan", root, data, "--lock-timeout", "0.2")) == 1
    finally:
        os.close(held)
    assert capsys.readouterr().err == 2 * (
        "runit-provision %s: another runit-provision apply holds the lock %s; gave up "
        "after 0.2s (--lock-timeout)\n") % ("apply", lock, "plan", lock)
    assert not (root / "etc" / "sv" / "web").exists()
    assert main(args("apply", root, data)) == 0  # the lock left by a killed apply: taken over
    assert not lock.exists()  # and removed with the lock


def test_an_apply_leaves_no_lock_file_and_locks_no_directory(staged, capsys):
    root, data = staged
    held = os.open(str(root / "etc"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # what anyone who can read /etc can do
        assert main(args("apply", root, data, "--lock-timeout", "0")) == 0
    finally:
        os.close(held)
    assert (root / "etc" / "sv" / "web" / "run").exists()
    assert sorted(os.listdir(str(root / "etc"))) == ["group", "passwd", "service", "sv"]


@pytest.mark.parametrize("text, message", [
    ("runit::services:\n  web: {command: [a\n", "data.yaml:2:18: malformed YAML: this [ is "
                                                  "not closed"),
    ("runit::services:\n  ../x: {command: /bin/true}\n", "data.yaml:2:3: services.../x:"),
    ("runit::services:\n  web: {comand: /bin/true}\n",
     "data.yaml:2:9: services.web.comand: unknown key (did you mean 'command'?)"),
    ("runit::users: [alice, nosuchlogin]\n",
     "data.yaml:1:23: users[1]: login 'nosuchlogin' does not exist (apply never creates "
     "accounts; add it first, or pass --passwd/--root)"),
])
def test_bad_input_is_a_clear_message_and_nothing_is_written(staged, capsys, text, message):
    root, data = staged
    data.write_text(text)
    assert main(args("apply", root, data)) == 1
    assert message in capsys.readouterr().err
    assert sorted(os.listdir(str(root))) == ["etc", "home"]
    assert sorted(os.listdir(str(root / "etc"))) == ["group", "passwd"]


def test_an_unwritable_target_is_a_clear_message(staged, capsys):
    root, data = staged
    (root / "etc" / "sv").write_text("a file, not a directory")
    assert main(args("apply", root, data)) == 1
    assert capsys.readouterr().err == ("runit-provision apply: /etc/sv is a file where a "
                                       "directory should be; move it away\n")


def test_init_other_than_none_asks_the_init_room(staged, capsys, monkeypatch):
    root, data = staged
    data.write_text(DATA.replace("runit::init: none", "runit::init: systemd"))
    asked = []

    class Part:
        notes = ["init: systemd (as given)"]
        entries = [File("/etc/systemd/system/runit-provision.service", "[Unit]\n", 0o644)]
        commands = [command(["systemctl", "daemon-reload"], "the unit changed",
                            after=["/etc/systemd/system/runit-provision.service"])]

    def desired_runtime(config, fs):
        asked.append((config.init, fs.root, fs.lstat("/etc/systemd/system/none")))
        return Part()

    from runit_provision import initsys

    monkeypatch.setattr(initsys, "desired_runtime", desired_runtime)
    assert main(args("plan", root, data)) == 2
    out = capsys.readouterr().out
    assert "+ /etc/systemd/system/runit-provision.service (file 0644)\n" in out
    assert "= systemctl daemon-reload: --root: no command is run\n" in out
    assert asked == [("systemd", str(root), None)]


def test_init_none_leaves_the_runtime_and_init_alone(staged, capsys, monkeypatch):
    """init: none: apply writes neither the runtime's installation nor a link into init, and
    does not even ask the init room; install-runtime --init none installs the runtime without
    linking it, and apply leaves that installation as it is."""
    root, data = staged
    from runit_provision import initsys

    desired_runtime = initsys.desired_runtime

    def asked(*args, **kwargs):
        raise AssertionError("the init room was asked")

    monkeypatch.setattr(initsys, "desired_runtime", asked)
    assert main(args("apply", root, data)) == 0
    assert sorted(os.listdir(str(root))) == ["etc", "home", "var"]
    assert sorted(os.listdir(str(root / "etc"))) == ["group", "passwd", "service", "sv"]
    monkeypatch.setattr(initsys, "desired_runtime", desired_runtime)
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").write_text("")
    capsys.readouterr()
    assert main(["install-runtime", "--data", str(data), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "+ /usr/local/lib/runit-provision/current -> " in out
    assert "+ /usr/local/bin/sv -> /usr/local/lib/runit-provision/bin/sv" in out
    assert "/etc/systemd" not in out and "inittab" not in out and "/etc/runit" not in out
    assert sorted(os.listdir(str(root / "etc"))) == ["group", "passwd", "service", "sv"]
    monkeypatch.setattr(initsys, "desired_runtime", asked)
    assert main(args("plan", root, data)) == 0  # the installation is not apply's business


def test_status_under_root_lists_every_service_and_exits_3(staged, capsys):
    root, data = staged
    assert main(args("apply", root, data)) == 0
    capsys.readouterr()
    assert main(["status", "--data", str(data), "--root", str(root)]) == 3
    assert capsys.readouterr().out == (
        "SERVICE  STATE           PID  UPTIME  NORMALLY  WANT  LOG\n"
        "db       not supervised  -    -       up        -     -\n"
        "web      not supervised  -    -       up        -     not supervised\n")
    assert main(["status", "--data", str(data), "--root", str(root), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["not_running"] == ["db", "web"]
    assert report["services"][0] == {
        "service": "db", "path": "/etc/sv/db", "tree": None, "declared": True, "note": None,
        "enabled": True, "wanted": True, "running": False, "verdict": "not running",
        "log": None, "main": {"state": "not supervised", "pid": None, "uptime": None, "want": None,
                 "normally": "up", "paused": False, "starts": "unknown", "deaths": "unknown",
                 "last_exit": "unknown", "deaths_in_window": "unknown",
                 "crash_looping": "unknown", "gave_up": "unknown"}, "owed": []}


def test_status_shows_the_restarts_an_apply_owes(staged, capsys):
    root, data = staged
    assert main(args("apply", root, data)) == 0
    (root / "etc/sv/.pending-restarts").write_text(
        "restart\t/etc/sv/web\tweb\tenv changed\nhup\t/etc/sv/web/log\tweb/log\t"
        "log config changed\n")
    capsys.readouterr()
    assert main(["status", "--data", str(data), "--root", str(root)]) == 3
    assert capsys.readouterr().out == (
        "SERVICE  STATE           PID  UPTIME  NORMALLY  WANT  LOG\n"
        "db       not supervised  -    -       up        -     -\n"
        "web      not supervised  -    -       up        -     not supervised\n"
        "  web: restart owed (env changed): the next runit-provision apply does it\n"
        "  web/log: hup owed (log config changed): the next runit-provision apply does it\n")
    assert main(["status", "--data", str(data), "--root", str(root), "--json"]) == 3
    web = json.loads(capsys.readouterr().out)["services"][1]
    assert web["owed"] == [
        {"action": "restart", "target": "/etc/sv/web", "reason": "env changed"},
        {"action": "hup", "target": "/etc/sv/web/log", "reason": "log config changed"}]


def test_status_reads_a_down_link_as_runsv_does(staged, capsys):
    # runsv stats ``down`` at its start: a link counts by what it points at, and a dangling one
    # marks nothing down (a plain lstat would call both "normally down").
    root, data = staged
    assert main(args("apply", root, data)) == 0
    db, web = root / "etc" / "sv" / "db", root / "etc" / "sv" / "web"
    (db / "down.target").write_text("")
    os.symlink("down.target", str(db / "down"))
    os.symlink("down.missing", str(web / "down"))

    def normally():
        capsys.readouterr()
        main(["status", "--data", str(data), "--root", str(root), "--json"])
        return {row["service"]: row["main"]["normally"]
                for row in json.loads(capsys.readouterr().out)["services"]}

    assert normally() == {"db": "down", "web": "up"}
    (db / "down.target").unlink()
    (web / "down.missing").write_text("")
    assert normally() == {"db": "up", "web": "down"}


def test_the_profile_snippet_follows_data_that_relocates_everything(tmp_path, capsys,
                                                                     monkeypatch):
    """No --root, every path of the data in one directory (a sandbox): the SVDIR snippet is
    planned in that directory's etc/profile.d, never in the host's /etc."""
    # Whether alice could run this interpreter's sv (one under /root, as pyenv's, she cannot:
    # she would be refused, tests/security/test_sv_runnable.py) is not what this test is about.
    from runit_provision.apply import job
    monkeypatch.setattr(job, "users_who_cannot_run", lambda logins, identities, sv: {})
    sandbox = tmp_path / "sandbox"
    (sandbox / "home" / "alice").mkdir(parents=True)
    passwd, group = tmp_path / "passwd", tmp_path / "group"
    passwd.write_text(PASSWD)
    group.write_text(GROUP)
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::sv_dir: {0}/etc/sv\nrunit::service_dir: "
                    "{0}/etc/service\nrunit::log_dir: {0}/var/log\nrunit::users:\n  alice:\n"
                    "    home: {0}/home/alice\n".format(sandbox))
    assert main(["plan", "--data", str(data), "--passwd", str(passwd), "--group", str(group),
                 "--json"]) == 2
    paths = [action["path"] for action in json.loads(capsys.readouterr().out)["actions"]
             if action["action"] != "wait"]
    assert str(sandbox / "etc/profile.d/runit-provision.sh") in paths
    assert not [path for path in paths if not path.startswith(str(sandbox))]


def test_status_shows_the_last_lines_of_each_log(staged, capsys):
    root, data = staged
    assert main(args("apply", root, data)) == 0
    capsys.readouterr()
    current = root / "var" / "log" / "web" / "current"
    current.write_text("".join("@4000000065540000000000%02x line %d\n" % (index, index)
                               for index in range(5)))
    assert main(["status", "--data", str(data), "--root", str(root), "--logs", "2"]) == 3
    out = capsys.readouterr().out
    assert out.split("\nweb:\n", 1)[1].splitlines()[0].endswith(" line 3")
    assert out.rstrip().endswith(" line 4")
    assert main(["status", "--data", str(data), "--root", str(root), "--logs", "1",
                 "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    web = next(item for item in report["services"] if item["service"] == "web")
    assert len(web["logs"]) == 1 and web["logs"][0].endswith(" line 4")


# -- names from outside, safe to print (docs/security.md, N7) ------------------------------------
PLANTED = [b"esc\x1b]0;PWNED\x07\x1b[2Jx", b"nl\nfake: line", b"bad\xffname", b"csi\xc2\x9bm"]


def test_planted_names_targets_and_contents_are_shown_escaped_and_json_exact(staged, capsys):
    root, data = staged
    assert main(args("apply", root, data)) == 0
    control = os.fsencode(root / "etc/sv/web/control")
    os.mkdir(control)
    for name in PLANTED:
        open(os.path.join(control, name), "wb").close()
    (root / "etc/sv/web/run").write_bytes(b"#!/bin/sh\nexec web \x1b[2J\tnow\n")
    link = root / "etc/service/web"
    link.unlink()
    os.symlink(b"/etc/sv/\x1b[31mweb", os.fsencode(link))
    capsys.readouterr()
    assert main(args("plan", root, data, "--diff")) == 2
    lines = capsys.readouterr().out.split("\n")
    for name in PLANTED:
        shown = "- /etc/sv/web/control/%s (file: not declared)" % shown_name(os.fsdecode(name))
        assert shown in lines, (shown, lines)
    assert "    -exec web \\x1b[2J\tnow" in lines  # a line of text: its tab kept
    assert ("~ /etc/service/web -> /etc/sv/web (target /etc/sv/\\x1b[31mweb -> /etc/sv/web)"
            in lines)
    assert all(line.replace("\t", " ").isprintable() for line in lines), lines
    assert main(args("plan", root, data, "--json")) == 2
    text = capsys.readouterr().out
    text.encode("utf-8")  # no surrogate left: valid UTF-8
    report = json.loads(text)
    removed = {item["path"] for item in report["actions"] if item["action"] == "remove"}
    assert removed >= {"/etc/sv/web/control/" + os.fsdecode(name) for name in PLANTED}
    assert all(line.isprintable() for line in text.split("\n"))


def test_a_limit_the_hosts_cgroup_cannot_honour_refuses_plan_and_apply(
        staged, capsys, monkeypatch):
    """On the host it converges, plan and apply ask its cgroup v2 (the seam: one lacking
    the memory controller) and refuse memory_max, naming it and how hosts offer it; under
    --root they never ask: the image runs on another host's kernel, whose apply asks."""
    from runit_provision.host import cgroup

    def lacking():
        return "/sys/fs/cgroup/unified", frozenset({"hugetlb"})

    monkeypatch.setattr(cgroup, "cgroup_hierarchy", lacking)
    root, data = staged
    limited = DATA.replace("  db:", "    resources: {memory_max: 256M}\n  db:")
    data.write_text(limited)
    assert main(args("plan", root, data)) == 2  # changes to make: the data is checked only
    assert main(args("apply", root, data)) == 0
    assert "memory" not in capsys.readouterr().err
    live = root.parent / "live"
    data.write_text("runit::sv_dir: %s/sv\nrunit::service_dir: %s/service\n"
                    "runit::log_dir: %s/log\n%s" % (live, live, live, limited))
    for command in ("plan", "apply"):
        assert main([command, "--data", str(data)]) == 1
        err = capsys.readouterr().err
        assert "data.yaml:9:17: services.web.resources.memory_max: needs the memory " \
               "controller, which this host's cgroup v2 (/sys/fs/cgroup/unified) does not " \
               "offer (it has only hugetlb): boot with systemd.unified_cgroup_hierarchy=1" in err
    assert not live.exists()


def test_plan_says_a_users_service_limits_are_the_users_in_text_and_json(staged, capsys,
                                                                        monkeypatch):
    """Under the service, in both outputs: its cgroup is in the user's tree's, the user's to
    change (apply/desired.user_limits_caveats); root's own service gets no such line."""
    from runit_provision.host import cgroup

    monkeypatch.setattr(cgroup, "cgroup_hierarchy",
                        lambda: ("/sys/fs/cgroup", ["cpu", "io", "memory", "pids"]))
    root, data = staged
    data.write_text(DATA.replace("  db:", "    resources: {memory_max: 256M}\n  db:") +
                    "runit::users:\n  alice:\n    resources: {tasks_max: 200}\n"
                    "    services:\n      notebook:\n        command: /usr/bin/notebook\n"
                    "        resources: {memory_max: 128M}\n")
    said = ("resources: the user's to change, as their tree's cgroup is theirs; root's "
            "bound is users.alice.resources, on the whole tree")
    assert main(args("plan", root, data)) == 2
    out = capsys.readouterr().out
    assert "= /home/alice/sv/notebook: %s\n" % said in out
    assert out.count("resources: the user's") == 1
    assert main(args("plan", root, data, "--json")) == 2
    noops = json.loads(capsys.readouterr().out)["noops"]
    assert {"path": "/home/alice/sv/notebook", "reason": said} in noops
