"""``runit-provision import --systemd NAME.timer``: a ``.timer`` unit and the ``.service`` it
starts become one timer service (issue 46 §2: ``schedule``, ``persistent``, ``jitter``,
``time_limit``); what runit-provision's timers have no word for is refused by name at
``file:line``, or dropped with ``--drop-unsupported``."""

import pytest

from runit_provision.importing.systemd import parse_unit, time_span, translate_timer

from ..skips import missing

TIMER = "/etc/systemd/system/backup.timer"
SERVICE = "/etc/systemd/system/backup.service"
JOB = "[Service]\nType=oneshot\nExecStart=/usr/bin/backup --all\nUser=backup\n"


def timer_of(text, name="backup.timer"):
    return parse_unit(name, [("/etc/systemd/system/" + name, text)])


def service_of(text=JOB, name="backup.service"):
    return parse_unit(name, [("/etc/systemd/system/" + name, text)])


def translated(timer_text, service_text=JOB, **options):
    return translate_timer(timer_of(timer_text), service_of(service_text), **options)


def test_a_timer_and_its_service_become_one_timer_service():
    result = translated("[Unit]\nDescription=nightly\n[Timer]\nOnCalendar=Mon..Fri *-*-* "
                        "02:30\nPersistent=true\nRandomizedDelaySec=5min\n[Install]\n"
                        "WantedBy=timers.target\n",
                        JOB + "RuntimeMaxSec=1h 30min\n")
    assert result.refusals == [] and result.dropped == []
    assert result.name == "backup"
    assert result.data == {"command": ["/usr/bin/backup", "--all"], "user": "backup",
                           "schedule": "Mon..Fri *-*-* 02:30", "persistent": True,
                           "jitter": 300, "time_limit": 5400}
    assert "oneshot" not in result.data and "finish" not in result.data


@pytest.mark.parametrize("timer, service, keys", [
    ("OnCalendar=daily\n", JOB, {"schedule": "daily"}),
    ("OnCalendar=*:0/15\nPersistent=no\n", JOB, {"schedule": "*:0/15"}),
    ("OnCalendar=hourly\nPersistent=yes\n", JOB, {"schedule": "hourly", "persistent": True}),
    ("OnCalendar=hourly\nRandomizedDelaySec=90\n", JOB, {"schedule": "hourly", "jitter": 90}),
    ("OnCalendar=hourly\nRandomizedDelaySec=1500ms\n", JOB,
     {"schedule": "hourly", "jitter": 1.5}),
    ("OnCalendar=hourly\nRandomizedDelaySec=0\n", JOB, {"schedule": "hourly"}),
    ("OnCalendar=hourly\n", JOB + "RuntimeMaxSec=10min\n",
     {"schedule": "hourly", "time_limit": 600}),
    ("OnCalendar=hourly\n", JOB + "RuntimeMaxSec=infinity\n", {"schedule": "hourly"}),
    ("OnCalendar=daily\nOnCalendar=daily\n", JOB, {"schedule": "daily"}),
    ("OnCalendar=weekly\nOnCalendar=\nOnCalendar=daily\n", JOB, {"schedule": "daily"}),
    ("OnCalendar=*-*-* 04:00 Europe/Berlin\n", JOB,
     {"schedule": "*-*-* 04:00 Europe/Berlin"}),
    ("OnCalendar=daily\nWakeSystem=false\nRemainAfterElapse=yes\nOnClockChange=no\n"
     "OnTimezoneChange=false\nFixedRandomDelay=no\n", JOB, {"schedule": "daily"}),
])
def test_each_timer_setting(timer, service, keys):
    result = translated("[Timer]\n" + timer, service)
    assert result.refusals == []
    assert {key: result.data[key] for key in result.data if key in (
        "schedule", "persistent", "jitter", "time_limit")} == keys


def test_accuracy_is_accepted_and_noted():
    result = translated("[Timer]\nOnCalendar=daily\nAccuracySec=1h\n")
    assert result.refusals == [] and result.data["schedule"] == "daily"
    assert any(note.startswith("AccuracySec=1h: accepted; runit-provision's timers fire on "
                               "time") for note in result.notes)
    plain = translated("[Timer]\nOnCalendar=daily\n")
    assert not any("AccuracySec" in note for note in plain.notes)


@pytest.mark.parametrize("setting, why", [
    ("OnBootSec=15min", "a monotonic timer (from boot)"),
    ("OnStartupSec=1h", "a monotonic timer (from the manager's start)"),
    ("OnActiveSec=10", "a monotonic timer (from the timer's start)"),
    ("OnUnitActiveSec=1d", "a monotonic timer (from the job's last start)"),
    ("OnUnitInactiveSec=1d", "a monotonic timer (from the job's last end)"),
    ("WakeSystem=true", "waking a suspended host"),
    ("RemainAfterElapse=no", "a timer's state after its last elapse"),
    ("OnClockChange=yes", "a run on a clock change"),
    ("OnTimezoneChange=true", "a run on a time zone change"),
    ("FixedRandomDelay=yes", "a jitter fixed per host"),
    ("Frobnicate=1", "runit-provision's timers have no equivalent"),
])
def test_unsupported_timer_settings_are_refused_by_name_or_dropped(setting, why):
    text = "[Timer]\nOnCalendar=daily\n%s\n" % setting
    strict = translated(text)
    assert strict.data is None
    assert strict.refusals == ["%s:3: %s: %s" % (TIMER, setting, why)] or \
        strict.refusals[0].startswith("%s:3: %s: %s" % (TIMER, setting, why))
    lenient = translated(text, drop_unsupported=True)
    assert lenient.refusals == [] and lenient.data["schedule"] == "daily"
    assert lenient.dropped[0].startswith("%s:3: %s: " % (TIMER, setting))


@pytest.mark.parametrize("timer, service, refusal", [
    ("OnCalendar=daily\nOnCalendar=weekly\n", JOB,
     "%s:3: OnCalendar= given 2 times (daily at %s:2, weekly at %s:3): a timer takes one "
     "expression" % (TIMER, TIMER, TIMER)),
    ("OnBootSec=5min\n", JOB, "backup.timer: no OnCalendar=: runit-provision's timers run on "
                              "the calendar only"),
    ("OnCalendar=Mon..Fro *-*-* 02:30\n", JOB, "%s:2: OnCalendar=Mon..Fro *-*-* 02:30: "
                                               "column 6" % TIMER),
    ("OnCalendar=0 3 * * *\n", JOB, "%s:2: OnCalendar=0 3 * * *: column 1: not a calendar "
                                    "expression" % TIMER),
    ("OnCalendar=daily\nPersistent=maybe\n", JOB, "%s:3: Persistent=maybe: not a boolean"
     % TIMER),
    ("OnCalendar=daily\nRandomizedDelaySec=soon\n", JOB,
     "%s:3: RandomizedDelaySec=soon: not a time span" % TIMER),
    ("OnCalendar=daily\n", JOB + "RuntimeMaxSec=5 fortnights\n",
     "%s:5: RuntimeMaxSec=5 fortnights: unknown unit 'fortnights'" % SERVICE),
    ("OnCalendar=daily\n", "[Service]\nType=forking\nExecStart=/usr/sbin/d\n",
     "%s:2: Type=forking" % SERVICE),
])
def test_what_a_timer_cannot_say_is_refused_at_file_and_line(timer, service, refusal):
    for lenient in (False, True):
        result = translated("[Timer]\n" + timer, service, drop_unsupported=lenient)
        assert result.data is None
        assert any(line.startswith(refusal) for line in result.refusals), result.refusals


def test_the_job_runs_once_per_elapse():
    """A timer's service is no daemon: no finish from Restart=, no ready from Type=notify,
    no oneshot (implied by schedule); Restart= other than no is refused by name; several
    ExecStart lines of a oneshot become a script that ends 'exit 0'."""
    simple = translated("[Timer]\nOnCalendar=daily\n", "[Service]\nExecStart=/usr/bin/x\n")
    assert simple.data == {"command": ["/usr/bin/x"], "schedule": "daily"}
    notify = translated("[Timer]\nOnCalendar=daily\n",
                        "[Service]\nType=notify\nExecStart=/usr/bin/x\nWatchdogSec=30\n")
    assert "ready" not in notify.data and "watchdog" not in notify.data
    assert any(note.startswith("Type=notify: a timer's job is not waited for ready")
               for note in notify.notes)
    restart = translated("[Timer]\nOnCalendar=daily\n",
                         "[Service]\nExecStart=/usr/bin/x\nRestart=on-failure\n")
    assert restart.refusals == ["%s:3: Restart=on-failure: a timer's job runs once per "
                                "elapse, and is not started again when it ends" % SERVICE]
    several = translated("[Timer]\nOnCalendar=daily\n",
                         "[Service]\nType=oneshot\nExecStart=/bin/a\nExecStart=/bin/b\n")
    assert several.data["run"].splitlines()[-3:] == ["/bin/a || exit $?", "/bin/b || exit $?",
                                                     "exit 0"]
    assert "oneshot" not in several.data


def test_runtime_max_sec_is_a_daemons_unsupported_setting_still():
    from runit_provision.importing.systemd import translate
    result = translate(service_of(JOB + "RuntimeMaxSec=1h\n"))
    assert result.data is None and "RuntimeMaxSec=1h: runit has no equivalent" in \
        result.refusals[0]


def test_time_spans():
    assert [time_span(t) for t in ("5min", "1h 30min", "2d", "1w", "250ms", "0")] == [
        300, 5400, 172800, 604800, 0.25, 0]
    with pytest.raises(ValueError):
        time_span("5 parsecs")


# -- the command: units found under --root, the job not imported twice, the round trip -------
def write_units(root, files):
    unit_dir = root / "etc/systemd/system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (unit_dir / name).write_text(text)
    return unit_dir


def test_a_timer_brings_its_service_and_the_service_is_no_daemon_too(tmp_path, capsys):
    import yaml

    from runit_provision.cli.main import main
    write_units(tmp_path, {
        "backup.timer": "[Timer]\nOnCalendar=*-*-* 02:30\nPersistent=true\nAccuracySec=1h\n",
        "backup.service": JOB + "RuntimeMaxSec=10min\n",
        "report.timer": "[Timer]\nOnCalendar=weekly\nUnit=mailer.service\n",
        "mailer.service": "[Service]\nExecStart=/usr/bin/mailer --weekly\n",
        "web.service": "[Service]\nExecStart=/usr/bin/web\nRestart=always\n",
        "web.timer": "[Timer]\nOnCalendar=daily\n",
    })
    out = tmp_path / "out.yaml"
    code = main(["import", "--root", str(tmp_path), "--systemd", "backup.timer", "backup",
                 "report.timer", "web", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    text = out.read_text()
    services = yaml.safe_load(text)["runit"]["services"]
    assert sorted(services) == ["backup", "report", "web"]  # backup.service: the timer's job
    assert services["backup"] == {"command": ["/usr/bin/backup", "--all"], "user": "backup",
                                  "schedule": "*-*-* 02:30", "persistent": True,
                                  "time_limit": 600}
    assert services["report"] == {"command": ["/usr/bin/mailer", "--weekly"],
                                  "schedule": "weekly"}
    assert "#   backup.service: imported as this timer's job, not as a daemon too" in text
    assert "#   AccuracySec=1h: accepted" in text
    assert "#   web.timer exists beside it: systemd may start it on a schedule" in text
    assert text.splitlines()[0] == "# runit-provision import --systemd: 3 units translated, " \
                                   "0 refused"
    rendered = tmp_path / "rendered"
    assert main(["render", "--data", str(out), "--out", str(rendered)]) == 0
    assert not (rendered / "etc/sv/mailer").exists()


def test_an_imported_timer_renders_its_schedule_file(tmp_path, capsys):
    """The round trip: import → render → the timer's schedule file (contract-timers)."""
    from runit_provision.cli.main import main
    write_units(tmp_path, {
        "backup.timer": "[Timer]\nOnCalendar=*-*-* 02:30\nPersistent=true\n"
                        "RandomizedDelaySec=30\n",
        "backup.service": JOB + "RuntimeMaxSec=10min\n"})
    out = tmp_path / "out.yaml"
    assert main(["import", "--root", str(tmp_path), "--systemd", "backup.timer", "--out",
                 str(out)]) == 0, capsys.readouterr().err
    rendered = tmp_path / "rendered"
    assert main(["render", "--data", str(out), "--out", str(rendered)]) == 0
    schedule = (rendered / "etc/sv/backup/schedule").read_text().splitlines()
    assert schedule[0] == "timer 1" and "when=*-*-* 02:30" in schedule
    assert {"persistent=1", "jitter=30", "time_limit=600"} <= set(schedule)
    assert "/usr/bin/backup --all" in (rendered / "etc/sv/backup/job").read_text()


def test_a_timer_given_as_a_file_finds_its_service_beside_it(tmp_path, capsys):
    from runit_provision.cli.main import main
    units = tmp_path / "units"
    units.mkdir()
    (units / "sync.timer").write_text("[Timer]\nOnCalendar=hourly\nRandomizedDelaySec=30\n")
    (units / "sync.service").write_text("[Service]\nExecStart=/usr/bin/sync-it\n")
    (units / "lost.timer").write_text("[Timer]\nOnCalendar=hourly\n")
    (units / "odd.timer").write_text("[Timer]\nOnCalendar=hourly\nUnit=odd.target\n")
    out = tmp_path / "out.yaml"
    code = main(["import", "--root", str(tmp_path), "--systemd", "/units/sync.timer",
                 "/units/lost.timer", "/units/odd.timer", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "lost.timer refused: lost.timer: its job lost.service: no such unit" in err
    assert "odd.timer refused: /units/odd.timer:3: Unit=odd.target: not a .service" in err
    import yaml
    assert yaml.safe_load(out.read_text())["runit"]["services"] == {
        "sync": {"command": ["/usr/bin/sync-it"], "schedule": "hourly", "jitter": 30}}


def test_every_timer_of_the_machine_imports_or_is_refused_with_a_reason(tmp_path, capsys):
    """The machine's own timers (Debian's apt, dpkg, e2fsprogs, PostgreSQL, Prometheus
    exporters, systemd's): each translated into data that renders, or refused by name."""
    from pathlib import Path

    import yaml

    from runit_provision.cli.main import main
    timers = sorted(path.name for path in Path("/lib/systemd/system").glob("*.timer")
                    if not path.name.endswith("@.timer"))
    if len(timers) < 5:
        missing("a systemd timer corpus (5 .timer units in /lib/systemd/system)",
                "apt-get install systemd, as .ci/run with its other packages")
    out = tmp_path / "out.yaml"
    code = main(["import", "--systemd"] + timers + ["--out", str(out)])
    err = capsys.readouterr().err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    refused = {line.split(" refused: ")[0].rsplit(" ", 1)[-1] for line in err.splitlines()
               if " refused: " in line}
    assert code in (0, 2)
    assert len(services) + len(refused) == len(timers), (sorted(services), refused)
    assert all("schedule" in data for data in services.values())
    assert main(["render", "--data", str(out), "--out", str(tmp_path / "rendered")]) == 0
