"""``runit-provision import`` of a timer's service directory that runit-provision rendered
(docs/jobs.md#timers): the ``schedule`` file read back as ``schedule``, ``persistent``,
``jitter`` and ``time_limit``, the ``job`` as the service's run (``command``/``run``), the
rendered ``run`` (the C runsv's waiter) and ``finish`` recognised by their bytes and not
data of their own, a ``timer-stamp`` left to the waiters — none of them carried as
``files``. Rendered (by the real ``apply``), imported, the same data, and ``plan`` of it
changes nothing; what the data could not keep beside a ``schedule`` file is refused by name.
"""

import os

import pytest
import yaml

from .test_import import applied, root, run_cli, with_host_keys  # noqa: F401 (a fixture)

TIMERS = {
    "backup": {"command": ["/usr/local/bin/backup", "--all", "my dir"], "user": "www-data",
               "group": "adm", "cwd": "/srv", "umask": "0027", "nice": 5,
               "limits": {"nofile": 1024}, "schedule": "Mon..Fri *-*-* 02:30",
               "persistent": True, "jitter": 1.5, "time_limit": 600,
               "env": {"TARGET": "s3://bucket"}, "log": {"timestamps": "iso", "num": 5}},
    "rotate": {"run": "#!/bin/sh\nfind /tmp -mtime +7 -delete\n", "schedule": "30 2 * * 1-5",
               "jitter": 30, "down": True, "log": False},
    "tick": {"command": ["/bin/true"], "schedule": "*:0/15", "time_limit": 0.5,
             "log": False, "enabled": False},
}
APPLIED = yaml.safe_dump({"runit": {"init": "none", "runtime": "system",
                                    "services": TIMERS}}, sort_keys=False)


def imported(root, tmp_path, code=0):
    out = tmp_path / "imported.yaml"
    assert run_cli("import", "--root", root, "/etc/sv", "--out", out) == code
    return out


def test_a_timer_imports_back_as_the_same_data_and_plans_nothing(root, tmp_path, capsys):
    """Every timer key, in both the command and the run form, with a runtime-owned
    ``timer-stamp`` beside one: the data read back is the data applied."""
    applied(root, tmp_path, APPLIED)
    (root / "etc" / "sv" / "backup" / "timer-stamp").write_text("stamp 1 elapse=1764154800\n")
    out = imported(root, tmp_path)
    text = out.read_text()
    assert yaml.safe_load(text)["runit"]["services"] == TIMERS
    assert "files:" not in text and "timer-run" not in text and "last-run" not in text
    assert "# backup: recognised command, user, group, cwd, umask, nice, limits, schedule, " \
           "persistent, jitter, time_limit" in text
    assert "plan would change" not in text + capsys.readouterr().err
    assert run_cli("plan", "--data", with_host_keys(out, tmp_path), "--root", root,
                   "--profile-d", "none") == 0, capsys.readouterr().out
    assert (root / "etc" / "sv" / "backup" / "timer-stamp").exists()


@pytest.mark.parametrize("service, name", [("tick", "finish"), ("rotate", "run")])
def test_a_missing_rendered_file_is_a_change_plan_would_make(root, tmp_path, capsys,
                                                             service, name):
    """No ``finish`` (or no ``run``) beside a ``schedule``: nothing the data would lose —
    plan would write the timer's own, and import says so. Without ``run`` it is a service
    all the same (our runsv starts ``job`` itself): not skipped without a word, given alone
    too."""
    applied(root, tmp_path, APPLIED)
    (root / "etc" / "sv" / service / name).unlink()
    out = imported(root, tmp_path, code=2)
    assert yaml.safe_load(out.read_text())["runit"]["services"] == TIMERS
    assert "%s: plan would change: /etc/sv/%s/%s would be created" % (
        service, service, name) in capsys.readouterr().err
    assert run_cli("import", "--root", root, "/etc/sv/" + service, "--out", out) == 2
    assert list(yaml.safe_load(out.read_text())["runit"]["services"]) == [service]


def _write(path, text):
    path.write_text(text)


REFUSALS = [
    ("run", lambda p: _write(p, "#!/bin/sh\nexec /usr/local/bin/my-waiter\n"),
     "run: beside a schedule file, not the waiter (exec timer-run) runit-provision renders "
     "for a timer: a timer's run is its own, and the data has no key to keep this one"),
    ("run", lambda p: (p.unlink(), os.symlink("/bin/true", str(p))),
     "run: beside a schedule file, not the waiter (exec timer-run) runit-provision renders"),
    ("finish", lambda p: _write(p, "#!/bin/sh\nlogger backup done\n"),
     "finish: beside a schedule file, not the finish that records each run runit-provision "
     "renders for a timer: a timer's finish is its own, and the data has no key to keep "
     "this one"),
    ("schedule", lambda p: _write(p, "0 3 * * *\n"),
     'schedule: not a timer file (its first line is not "timer 1")'),
    ("schedule", lambda p: _write(p, "timer 1\nwhen=*-*-* 25:00\n"),
     "schedule: when=*-*-* 25:00: column 7: the hour 25 is not within 0..23"),
    ("schedule", lambda p: _write(p, "timer 1\nwhen=daily\njitter=soon\n"),
     "schedule: jitter=soon is not a number of seconds"),
    ("schedule", lambda p: (p.unlink(), p.mkdir()),
     "schedule: not a regular file (a directory)"),
    ("job", lambda p: p.unlink(), "job: missing"),
    ("job", lambda p: (p.unlink(), os.symlink("../rotate/job", str(p))),
     "job: a link to ../rotate/job: the data writes a timer's job from its run or command"),
]


@pytest.mark.parametrize("name, spoil, why", REFUSALS,
                         ids=["run-other", "run-link", "finish-other", "schedule-cron",
                              "schedule-when", "schedule-jitter", "schedule-dir", "job-missing",
                              "job-link"])
def test_what_the_data_cannot_keep_beside_a_schedule_is_refused_by_name(
        root, tmp_path, capsys, name, spoil, why):
    """A hand-written waiter or finish would be lost to the timer's own, an unreadable
    ``schedule`` or a missing ``job`` leaves nothing to read: the service is refused with
    why, the other timers imported (exit 3)."""
    applied(root, tmp_path, APPLIED)
    spoil(root / "etc" / "sv" / "backup" / name)
    out = imported(root, tmp_path, code=3)
    err = capsys.readouterr().err
    assert "refused /etc/sv/backup: " + why in err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert services == {key: TIMERS[key] for key in ("rotate", "tick")}
