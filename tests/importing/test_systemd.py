"""``runit-provision import --systemd``: units translated into data that validates and
renders, or refused with file:line and a reason — never silently dropped. The corpus is
every ``.service`` unit the Debian packages installed on the test machine ship."""

from pathlib import Path

import pytest
import yaml

from runit_provision.cli.main import main
from runit_provision.importing.systemd import (parse_command, parse_unit, specifiers_of,
                                               translate)

from ..skips import missing

UNIT_DIR = Path("/lib/systemd/system")


def unit_of(text, name="web.service"):
    return parse_unit(name, [("/etc/systemd/system/" + name, text)])


def test_a_simple_unit_becomes_keys():
    unit = unit_of("""[Unit]
Description=web
[Service]
ExecStart=/usr/bin/web --port 8080 "two words"
User=www
Group=adm
Environment=PORT=8080 "GREETING=hello world"
WorkingDirectory=/srv/web
UMask=027
Nice=5
LimitNOFILE=4096
LimitCORE=0
Restart=always
[Install]
WantedBy=multi-user.target
""")
    result = translate(unit)
    assert result.refusals == []
    assert result.data == {"command": ["/usr/bin/web", "--port", "8080", "two words"],
                           "user": "www", "group": "adm", "cwd": "/srv/web", "umask": "0027",
                           "nice": 5, "limits": {"nofile": 4096, "core": 0},
                           "env": {"PORT": "8080", "GREETING": "hello world"}}


def test_what_needs_a_script_gets_one():
    unit = unit_of("""[Service]
Type=notify
EnvironmentFile=-/etc/default/web
ExecStartPre=/usr/bin/web --check
ExecStartPre=-/bin/false
ExecStart=@/usr/bin/web web-server $OPTS ${ONE}
ExecReload=/bin/kill -HUP $MAINPID
ExecStop=/usr/bin/web --stop
User=www
SupplementaryGroups=adm ssl-cert
RuntimeDirectory=web
Restart=on-failure
""")
    data = translate(unit).data
    assert data["run"] == (
        "#!/bin/sh\n# from web.service (runit-provision import --systemd)\nexec 2>&1\n"
        "install -d -m 0755 -o www /run/web || exit 1\n"
        "[ -r /etc/default/web ] && { set -a; . /etc/default/web; set +a; }\n"
        "chpst -u www:adm:ssl-cert /usr/bin/web --check || exit $?\n"
        "chpst -u www:adm:ssl-cert /bin/false\n"
        'exec chpst -u www:adm:ssl-cert -b web-server /usr/bin/web $OPTS "${ONE}"\n')
    assert data["control"]["h"].splitlines()[2:] == [
        "MAINPID=$(cat supervise/pid)", "/bin/kill -HUP $MAINPID || exit $?",
        "exit 0  # done: no HUP"]
    assert data["control"]["t"].splitlines()[-1].startswith("exit 1")
    assert data["finish"].splitlines()[-1] == '[ "$1" = 0 ] && exec sv down .'


def test_oneshot_becomes_a_one_shot_with_or_without_remain_after_exit():
    """Issue 46 §1: ``Type=oneshot`` is ``oneshot: true`` (its finish is rendered: no
    ``finish`` of the import's own, no ``sleep infinity`` to look up); ``RemainAfterExit=yes``
    is said, as a done one-shot is as wanted; a ``Restart=`` other than no is not taken."""
    translation = translate(unit_of(
        "[Service]\nType=oneshot\nExecStart=/bin/mount -a\nExecStart=/bin/true\n"
        "RemainAfterExit=yes\n"))
    data = translation.data
    assert data["oneshot"] is True and "finish" not in data
    assert data["run"].splitlines()[-3:] == ["/bin/mount -a || exit $?",
                                             "/bin/true || exit $?", "exit 0"]
    assert any(note.startswith("RemainAfterExit=yes: a one-shot that is done")
               for note in translation.notes)
    plain = translate(unit_of("[Service]\nType=oneshot\nExecStart=/bin/true\n"))
    assert plain.data["oneshot"] is True and "finish" not in plain.data
    assert not any("RemainAfterExit" in note for note in plain.notes)
    retried = translate(unit_of("[Service]\nType=oneshot\nExecStart=/bin/true\n"
                                "Restart=on-failure\n"))
    assert retried.data is None and "Restart=on-failure with Type=oneshot" in \
        retried.refusals[0]
    dropped = translate(unit_of("[Service]\nType=oneshot\nExecStart=/bin/true\n"
                                "Restart=on-failure\n"), drop_unsupported=True)
    assert dropped.data["oneshot"] is True and "finish" not in dropped.data


def test_specifiers_of_a_template_instance():
    assert specifiers_of("getty@tty1.service")["i"] == "tty1"
    assert specifiers_of("systemd-fsck@dev-sda1.service")["I"] == "dev/sda1"
    assert specifiers_of("systemd-fsck@dev-sda1.service")["f"] == "/dev/sda1"
    command = parse_command("/sbin/agetty -o '-p -- \\\\u' %I $TERM", specifiers_of(
        "getty@tty1.service"))
    assert command.words[0] == [("text", "/sbin/agetty")]
    assert command.words[2] == [("text", "-p -- \\u")]
    assert command.words[3] == [("text", "tty1")]
    assert command.has_variables


def test_requires_on_an_imported_unit_is_a_need():
    unit = unit_of("[Unit]\nRequires=db.service network.target\nWants=cache.service\n"
                   "[Service]\nExecStart=/usr/bin/web\nRestart=always\n")
    assert translate(unit, imported={"db"}).data["needs"] == ["db"]


@pytest.mark.parametrize("text, reason", [
    ("[Service]\nType=forking\nExecStart=/usr/sbin/d\n",
     "/etc/systemd/system/web.service:2: Type=forking: runit supervises a process in the "
     "foreground"),
    ("[Service]\nExecStart=/usr/bin/web\nPrivateIPC=yes\n",
     "/etc/systemd/system/web.service:3: PrivateIPC=yes: a hardening setting the sandbox has "
     "not"),
    ("[Service]\nExecStart=+/usr/bin/web\n",
     "/etc/systemd/system/web.service:2: ExecStart=+/usr/bin/web: the '+' prefix"),
    ("[Service]\nExecStart=/usr/bin/web\nRestart=on-abnormal\n",
     "/etc/systemd/system/web.service:3: Restart=on-abnormal"),
    ("[Socket]\nListenStream=80\n", "/etc/systemd/system/web.service:2: [Socket]"),
    ("[Service]\nExecStart=/usr/bin/web\nLimitNOFILE=infinity\n",
     "LimitNOFILE=infinity: chpst sets a number"),
])
def test_what_runit_cannot_do_is_refused_with_file_and_line(text, reason):
    result = translate(unit_of(text))
    assert result.data is None
    assert any(refusal.startswith(reason) or reason in refusal for refusal in result.refusals), \
        result.refusals


LENIENT = """[Unit]
Description=web
[Service]
ExecStart=/usr/bin/web --port 8080
User=www
SystemCallFilter=@system-service
ProtectClock=yes
MemoryMax=50%
ExecStartPost=/usr/bin/web-ready
LimitNOFILE=infinity
Restart=on-abnormal
"""


def test_drop_unsupported_translates_the_rest_and_comments_each_dropped(tmp_path, capsys):
    """Lenient: each setting runit has no word for is dropped with its file:line — in the
    Translation, on stderr and as a comment beside the service — the rest translated (exit
    2); without it the unit stays refused; what would run another program stays refused."""
    result = translate(unit_of(LENIENT), drop_unsupported=True)
    assert result.refusals == []
    assert result.data == {"command": ["/usr/bin/web", "--port", "8080"], "user": "www"}
    where = "/etc/systemd/system/web.service"
    assert result.dropped == [
        "%s:6: SystemCallFilter=@system-service: a seccomp filter: not built (docs/design.md, "
        "\"Seccomp: not built\")" % where,
        "%s:7: ProtectClock=yes: a hardening setting the sandbox has not (docs/sandbox.md "
        "lists what it has)" % where,
        "%s:11: Restart=on-abnormal: runit restarts always, or not (finish)" % where,
        "%s:9: ExecStartPost=/usr/bin/web-ready: runit has no 'after the start' (a check "
        "script runs until the service is ready, but not a command after it)" % where,
        "%s:10: LimitNOFILE=infinity: chpst sets a number (not infinity)" % where,
        "%s:8: MemoryMax=50%%: a share of the host's total: the data gives an amount, the "
        "same on every host" % where]
    unit_file = tmp_path / "web.service"
    unit_file.write_text(LENIENT)
    out = tmp_path / "out.yaml"
    assert main(["import", "--systemd", str(unit_file), "--out", str(out)]) == 2
    assert "web.service refused: %s:6: SystemCallFilter=" % unit_file in capsys.readouterr().err
    assert yaml.safe_load(out.read_text())["runit"]["services"] == {}
    assert main(["import", "--systemd", str(unit_file), "--drop-unsupported",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "web: dropped (--drop-unsupported): %s:8: MemoryMax=50%%" % unit_file in err
    text = out.read_text()
    assert "    #   dropped (--drop-unsupported): %s:7: ProtectClock=yes: a hardening " \
           "setting the sandbox has not (docs/sandbox.md lists what it has)\n" % unit_file in text
    assert yaml.safe_load(text)["runit"]["services"]["web"]["user"] == "www"
    assert main(["render", "--data", str(out), "--out", str(tmp_path / "rendered")]) == 0
    forking = translate(unit_of("[Service]\nType=forking\nExecStart=/usr/sbin/d\n"
                                "ProtectClock=yes\n"), drop_unsupported=True)
    assert forking.data is None and "Type=forking" in forking.refusals[0]


def test_continuation_lines_and_comments():
    unit = unit_of("# a comment\n[Service]\n; another\nExecStart=/usr/bin/web \\\n"
                   "  --port 80\n")
    assert translate(unit).data["command"] == ["/usr/bin/web", "--port", "80"]


def test_a_unit_with_a_syntax_error_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.service"
    bad.write_text("[Service\nExecStart=/bin/true\n")
    out = tmp_path / "out.yaml"
    assert main(["import", "--systemd", str(bad), "--out", str(out)]) == 1
    assert "bad.service:1: a section header without its ]" in capsys.readouterr().err
    assert not out.exists()


def test_every_unit_of_the_machine_imports_or_is_refused_with_a_reason(tmp_path, capsys):
    units = sorted(str(path) for path in UNIT_DIR.glob("*.service"))
    if len(units) < 50:
        missing("a systemd unit corpus (50 units in %s)" % UNIT_DIR,
                "apt-get install systemd, as .ci/run with its other packages")
    out = tmp_path / "out.yaml"
    code = main(["import", "--systemd"] + units + ["--out", str(out)])
    err = capsys.readouterr().err
    assert code in (0, 2), err
    text = out.read_text()
    translated, refused = [int(n) for n in
                           text.splitlines()[0].split(": ")[1].replace(" units translated,",
                                                                         "").split()[:2]]
    assert translated + refused == len(units)
    assert translated >= len(units) // 3
    services = yaml.safe_load(text)["runit"]["services"]
    assert len(services) == translated
    refused_names = {line.split(" refused: ")[0].rsplit(" ", 1)[-1]
                     for line in err.splitlines() if " refused: " in line}
    assert len(refused_names) == refused  # each refused unit said, with its reasons
    assert main(["render", "--data", str(out), "--out", str(tmp_path / "rendered")]) == 0
    lenient = tmp_path / "lenient.yaml"
    assert main(["import", "--systemd"] + units + ["--drop-unsupported", "--out",
                                                   str(lenient)]) == 2
    more = len(yaml.safe_load(lenient.read_text())["runit"]["services"])
    assert more > translated  # what was refused only for a setting runit has no word for
    assert main(["render", "--data", str(lenient), "--out", str(tmp_path / "lenient")]) == 0


def test_type_notify_becomes_readiness_with_its_timeouts():
    """Type=notify, NotifyAccess=, TimeoutStartSec=, WatchdogSec= are ready, ready_timeout and
    watchdog (docs/readiness.md) — translated, no longer ignored — and the data validates."""
    from ..pipeline import config_from_text

    unit = unit_of("[Service]\nType=notify\nNotifyAccess=all\nExecStart=/usr/bin/web\n"
                   "TimeoutStartSec=1min 30s\nWatchdogSec=500ms\nRestart=always\n")
    result = translate(unit)
    assert result.refusals == []
    assert result.data == {"command": ["/usr/bin/web"], "ready": {"notify": {"access": "all"}},
                           "ready_timeout": 90, "watchdog": 1}
    service = config_from_text(yaml.safe_dump({"runit::services": {"web": result.data}})) \
        .services["web"]
    assert service.ready.access == "all" and service.ready.timeout == 90
    plain = translate(unit_of("[Service]\nType=notify\nExecStart=/usr/bin/web\n"
                              "TimeoutSec=infinity\nRestart=always\n"))
    assert plain.data == {"command": ["/usr/bin/web"], "ready": "notify"}
    ignored = translate(unit_of("[Service]\nType=notify\nNotifyAccess=none\n"
                                "ExecStart=/usr/bin/web\nRestart=always\n"))
    assert "ready" not in ignored.data
    assert any("NotifyAccess=none" in note for note in ignored.notes)
    bad = translate(unit_of("[Service]\nType=notify\nExecStart=/usr/bin/web\n"
                            "WatchdogSec=soon\nRestart=always\n"))
    assert bad.data is None and bad.refusals == [
        "/etc/systemd/system/web.service:4: WatchdogSec=soon: not a time span"]
    simple = translate(unit_of("[Service]\nExecStart=/usr/bin/web\nWatchdogSec=30\n"
                               "Restart=always\n"))
    assert "watchdog" not in simple.data  # without notify nothing feeds a watchdog: ignored


def test_options_may_come_between_the_units_and_misplaced_ones_are_refused(tmp_path, capsys):
    """``--systemd A --drop-unsupported B``: both units translated, the option heard (a unit
    after an option is a unit, not a PATH dropped unheard); ``--systemd --drop-unsupported
    A`` too; the header counts in number ("1 unit"); an option of another kind of import is
    bad usage (exit 2), not dropped."""
    for name in ("a", "b"):
        (tmp_path / ("%s.service" % name)).write_text(
            "[Service]\nExecStart=/usr/bin/%s\nProtectClock=yes\n" % name)
    a, b = str(tmp_path / "a.service"), str(tmp_path / "b.service")
    out = tmp_path / "out.yaml"
    assert main(["import", "--systemd", a, "--drop-unsupported", b, "--out", str(out)]) == 2
    text = out.read_text()
    assert sorted(yaml.safe_load(text)["runit"]["services"]) == ["a", "b"]
    assert text.startswith("# runit-provision import --systemd: 2 units translated, 0 refused\n")
    assert main(["import", "--systemd", "--drop-unsupported", a, "--out", str(out)]) == 2
    text = out.read_text()
    assert text.startswith("# runit-provision import --systemd: 1 unit translated, 0 refused\n")
    assert list(yaml.safe_load(text)["runit"]["services"]) == ["a"]
    capsys.readouterr()
    assert main(["import", str(tmp_path), "--drop-unsupported"]) == 2
    assert capsys.readouterr().err == \
        "runit-provision import: --drop-unsupported goes with --systemd\n"
    assert main(["import", "--systemd", a, "--crontab"]) == 2
    assert "--systemd and --crontab: one kind of import at a time" in capsys.readouterr().err
    assert main(["import", "--crontab", "--only", "x"]) == 2
    assert capsys.readouterr().err == "runit-provision import: --only goes with PATHs\n"


def test_a_relative_unit_file_is_the_shells(tmp_path, capsys, monkeypatch):
    """``--systemd units/web.service`` is ./units/web.service, as the shell means it (not
    /units/web.service); a missing one is said plainly."""
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "web.service").write_text("[Service]\nExecStart=/usr/bin/web\n")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "--systemd", "units/web.service"]) == 0, capsys.readouterr().err
    assert "web:" in capsys.readouterr().out
    assert main(["import", "--systemd", "units/none.service"]) == 1
    assert capsys.readouterr().err == (
        "runit-provision import: %s/units/none.service: No such file or directory\n" % tmp_path)


def test_the_cgroup_limits_become_resources_the_schema_reads():
    """MemoryMax=, MemoryHigh=, TasksMax=, CPUQuota=, CPUWeight=, IOWeight= are carried into
    ``resources`` as the data spells them (docs/resources.md); an empty assignment is
    systemd's default (no limit) and carries nothing; the data validates to the same
    numbers."""
    from ..pipeline import config_from_text

    result = translate(unit_of("[Service]\nExecStart=/usr/bin/web\nMemoryMax=256M\n"
                               "MemoryHigh=209715200\nTasksMax=infinity\nCPUQuota=150%\n"
                               "CPUWeight=20\nIOWeight=10000\nRestart=always\n"))
    assert result.refusals == [] and result.notes == []
    assert result.data == {"command": ["/usr/bin/web"], "resources": {
        "memory_max": "256M", "memory_high": 209715200, "tasks_max": "infinity",
        "cpu_quota": "150%", "cpu_weight": 20, "io_weight": 10000}}
    service = config_from_text(yaml.safe_dump({"runit::services": {"web": result.data}})) \
        .services["web"]
    assert service.resources == {"memory_max": 256 << 20, "memory_high": 209715200,
                                 "tasks_max": None, "cpu_quota": 150, "cpu_weight": 20,
                                 "io_weight": 10000}
    reset = translate(unit_of("[Service]\nExecStart=/usr/bin/web\nMemoryMax=1G\nMemoryMax=\n"
                              "Restart=always\n"))
    assert reset.data == {"command": ["/usr/bin/web"]}


@pytest.mark.parametrize("mode, stop, note", [
    ("control-group", None, None),
    ("process", "main", None),
    ("mixed", None, "KillMode=mixed: systemd sends TERM to the main process, then KILL"),
    ("none", "main", "KillMode=none: systemd leaves every process running at stop"),
])
def test_kill_mode_becomes_stop(mode, stop, note):
    result = translate(unit_of("[Service]\nExecStart=/usr/bin/web\nKillMode=%s\n"
                               "Restart=always\n" % mode))
    assert result.refusals == []
    assert result.data.get("stop") == stop and ("stop" in result.data) == (stop is not None)
    said = [line for line in result.notes if line.startswith("KillMode")]
    assert [line[:len(note)] for line in said] == ([note] if note else [])
    assert not any("KillMode" in line for line in result.notes if line.startswith("ignored"))


@pytest.mark.parametrize("setting, why", [
    ("MemoryMax=50%", "a share of the host's total"),
    ("MemoryHigh=1.5G", "expected bytes: a whole number, or one with K, M, G or T"),
    ("TasksMax=15%", "a share of the host's total"),
    ("TasksMax=0", "expected a whole number of tasks (1 or more), or infinity"),
    ("CPUQuota=12.5%", "expected a percent of one CPU"),
    ("CPUWeight=idle", "the idle scheduling class"),
    ("IOWeight=20000", "expected a whole number from 1 to 10000"),
    ("KillMode=all", "KillMode=all: unknown"),
    ("DeviceAllow=/dev/null rw", "DeviceAllow=/dev/null rw: runit has no equivalent"),
    ("IPAddressDeny=any", "IPAddressDeny=any: runit has no equivalent"),
])
def test_cgroup_values_the_data_cannot_say_refuse_the_unit(setting, why):
    result = translate(unit_of("[Service]\nExecStart=/usr/bin/web\n%s\nRestart=always\n"
                               % setting))
    assert result.data is None
    said = why if why.startswith(setting) else "%s: %s" % (setting, why)
    assert len(result.refusals) == 1 and result.refusals[0].startswith(
        "/etc/systemd/system/web.service:3: " + said), result.refusals
    if not setting.startswith("KillMode"):  # an unknown mode is no setting to drop
        lenient = translate(unit_of("[Service]\nExecStart=/usr/bin/web\n%s\nRestart=always\n"
                                    % setting), drop_unsupported=True)
        assert lenient.data == {"command": ["/usr/bin/web"]} and len(lenient.dropped) == 1
