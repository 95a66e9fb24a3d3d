"""``runit-provision import --crontab``: crontab lines become timer services (issue 46 §2) —
the five fields as the schedule, the command run by ``$SHELL -c`` with cron's ``%`` rules,
the user, the environment cron gives the line; ``@reboot`` a one-shot; ``MAILTO`` named;
what cannot be carried exactly refused at ``file:line``. Debian 12's own ``/etc/crontab``
(cron-daemon-common 3.0pl1-162) and e2fsprogs' ``/etc/cron.d/e2scrub_all`` as fixtures."""

import os
import re
import subprocess

import pytest
import yaml

from runit_provision.cli.main import main
from runit_provision.importing.cron import (names_of, read_crontab, services_of, slug_of,
                                            split_percent)

# Debian 12 (bookworm): /etc/crontab of cron-daemon-common 3.0pl1-162, byte for byte
DEBIAN_CRONTAB = """\
# /etc/crontab: system-wide crontab
# Unlike any other crontab you don't have to run the `crontab'
# command to install the new version when you edit this file
# and files in /etc/cron.d. These files also have username fields,
# that none of the other crontabs do.

SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin

# Example of job definition:
# .---------------- minute (0 - 59)
# |  .------------- hour (0 - 23)
# |  |  .---------- day of month (1 - 31)
# |  |  |  .------- month (1 - 12) OR jan,feb,mar,apr ...
# |  |  |  |  .---- day of week (0 - 6) (Sunday=0 or 7) OR sun,mon,tue,wed,thu,fri,sat
# |  |  |  |  |
# *  *  *  *  * user-name command to be executed
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }
52 6\t1 * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }
#
"""
# Debian 12: /etc/cron.d/e2scrub_all of e2fsprogs 1.47.0-2
E2SCRUB = """\
30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron
10 3 * * * root test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r
"""
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin"
HOMES = {"root": "/root", "ann": "/home/ann", "backup": "/var/backups"}


def imported(text, file_name="/etc/cron.d/jobs", system=True, tree_user=None):
    table = read_crontab(text, file_name, system=system)
    services = services_of([(job, file_name) for job in table.jobs], HOMES.get, tree_user)
    return table, {name: data for name, data, _notes, _where in services}


def test_debians_own_crontab_imports_whole():
    """Debian's /etc/crontab: four run-parts jobs, the three guarded by anacron carried as
    they are (they run nothing when anacron is installed, as under cron), SHELL and PATH
    carried, named after the directory run-parts runs."""
    table, services = imported(DEBIAN_CRONTAB, "/etc/crontab")
    assert table.refused == [] and table.mail == []
    assert sorted(services) == ["cron-daily", "cron-hourly", "cron-monthly", "cron-weekly"]
    assert services["cron-hourly"] == {
        "command": ["/bin/sh", "-c", "cd / && run-parts --report /etc/cron.hourly"],
        "cwd": "/root", "schedule": "17 * * * *",
        "env": {"SHELL": "/bin/sh", "PATH": DEBIAN_PATH, "HOME": "/root", "LOGNAME": "root",
                "USER": "root"}}
    assert services["cron-daily"]["command"][2] == (
        "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }")
    assert [services[name]["schedule"] for name in (
        "cron-daily", "cron-weekly", "cron-monthly")] == ["25 6 * * *", "47 6 * * 7",
                                                           "52 6 1 * *"]
    notes = services_of([(job, "/etc/crontab") for job in table.jobs], HOMES.get)[1][2]
    assert any("does nothing when anacron is installed" in note for note in notes)


def test_a_cron_d_file_with_its_user_field():
    table, services = imported(E2SCRUB, "/etc/cron.d/e2scrub_all")
    assert table.refused == []
    assert services["e2scrub_all_cron"]["schedule"] == "30 3 * * 0"
    assert services["e2scrub_all"]["command"] == [
        "/bin/sh", "-c", "test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all "
                         "-A -r"]
    assert services["e2scrub_all"]["env"]["PATH"] == "/usr/bin:/bin"  # cron's own


@pytest.mark.parametrize("line, key, value", [
    ("*/15 9-17 * * mon-fri backup /usr/bin/x", "schedule", "*/15 9-17 * * mon-fri"),
    ("30 4 1,15 * 5 backup /usr/bin/x", "schedule", "30 4 1,15 * 5"),  # dom OR dow: the grammar's
    ("0\t3  * * *\tbackup /usr/bin/x", "schedule", "0 3 * * *"),
    ("@daily backup /usr/bin/x", "schedule", "@daily"),
    ("@HOURLY backup /usr/bin/x", "schedule", "@HOURLY"),
    ("@reboot backup /usr/bin/x", "oneshot", True),
    ("0 3 * * * backup /usr/bin/x --all  2>&1", "command",
     ["/bin/sh", "-c", "/usr/bin/x --all  2>&1"]),
    ("0 3 * * * backup /usr/bin/x", "user", "backup"),
    ("0 3 * * * backup /usr/bin/x", "cwd", "/var/backups"),
    ("0 3 * * * backup date +\\%F", "command", ["/bin/sh", "-c", "date +%F"]),
    ("0 3 * * * backup cat%one%two", "command",
     ["/bin/sh", "-c", "printf %s 'one\ntwo' | /bin/sh -c cat"]),
    ("0 3 * * * backup cat%a\\%b%", "command",
     ["/bin/sh", "-c", "printf %s 'a%b\n' | /bin/sh -c cat"]),
])
def test_each_part_of_a_line(line, key, value):
    table, services = imported(line + "\n")
    assert table.refused == []
    (data,) = services.values()
    assert data[key] == value
    assert ("schedule" in data) != ("oneshot" in data)


def test_root_runs_without_a_user_key_and_an_unknown_login_has_no_home():
    _table, services = imported("0 3 * * * root /usr/bin/x\n0 4 * * * ghost /usr/bin/y\n")
    assert "user" not in services["x"] and services["x"]["env"]["HOME"] == "/root"
    assert services["y"]["user"] == "ghost" and "HOME" not in services["y"]["env"]
    assert "cwd" not in services["y"]


def test_environment_lines_apply_to_the_lines_after_them():
    text = ("SHELL=/bin/bash\n0 1 * * * root one\nPATH = /opt/bin:/usr/bin \n"
            "GREETING=\"  hi there  \"\nEMPTY=\nLOGNAME=someone\nHOME=/srv\n"
            "0 2 * * * root two\n")
    _table, services = imported(text)
    assert services["one"]["command"] == ["/bin/bash", "-c", "one"]
    assert services["one"]["env"] == {"SHELL": "/bin/bash", "PATH": "/usr/bin:/bin",
                                      "HOME": "/root", "LOGNAME": "root", "USER": "root"}
    assert services["two"]["env"] == {
        "SHELL": "/bin/bash", "PATH": "/opt/bin:/usr/bin", "HOME": "/srv",
        "EMPTY": "", "LOGNAME": "root", "USER": "root"}
    # its blanks at the end kept: set by env(1), which env/ files cannot (chpst -e cuts them)
    assert services["two"]["command"] == ["/usr/bin/env", "GREETING=  hi there  ",
                                          "/bin/bash", "-c", "two"]
    assert services["two"]["cwd"] == "/srv"


def test_mail_settings_are_named_not_carried():
    table, services = imported("MAILTO=ops@example.org\nMAILTO=\"\"\n0 1 * * * root x\n")
    assert [(name, value) for name, value, _where in table.mail] == [
        ("MAILTO", "ops@example.org"), ("MAILTO", "")]
    assert table.mail[0][2] == "/etc/cron.d/jobs:1"
    assert "MAILTO" not in services["x"]["env"]


def test_a_users_crontab_has_no_user_field():
    text = "# DO NOT EDIT THIS FILE\n*/5 * * * * /home/ann/bin/poll --quiet\n"
    table, services = imported(text, "/var/spool/cron/crontabs/ann", system=False,
                               tree_user="ann")
    assert table.refused == []
    assert services["poll"]["command"] == ["/bin/sh", "-c", "/home/ann/bin/poll --quiet"]
    assert "user" not in services["poll"]
    assert services["poll"]["env"]["LOGNAME"] == "ann"


@pytest.mark.parametrize("line, refusal", [
    ("0 3 * * * root printf 'a\\\\b'", "/etc/cron.d/jobs:1: printf 'a\\\\b': a doubled "
                                        "backslash"),
    ("5/10 * * * * root x", "/etc/cron.d/jobs:1: 5/10 * * * *: column 1: 5/10: Debian's cron "
                            "takes a step only after '*' or a range"),
    ("0 0 * * mon-sun root x", "/etc/cron.d/jobs:1: 0 0 * * mon-sun: column 9: the range "
                               "mon-sun runs backwards"),
    ("61 * * * * root x", "/etc/cron.d/jobs:1: 61 * * * *: column 1: the minute 61"),
    ("@fortnightly root x", "/etc/cron.d/jobs:1: @fortnightly: column 1: unknown shorthand"),
    ("0 3 * * * root", "/etc/cron.d/jobs:1: 0 3 * * * root: not a job (five time fields, the "
                       "user and a command) nor a NAME=value line"),
    ("MY-VAR=1", "/etc/cron.d/jobs:1: MY-VAR=1: not a variable name the data can carry"),
])
def test_what_cannot_be_carried_is_refused_at_file_and_line(line, refusal):
    table = read_crontab(line + "\n0 4 * * * root fine\n", "/etc/cron.d/jobs")
    assert len(table.refused) == 1, table.refused
    assert "%s: %s" % table.refused[0] == refusal or \
        ("%s: %s" % table.refused[0]).startswith(refusal), table.refused
    assert [job.command for job in table.jobs] == ["fine"]  # the rest imported


def test_percent_rules():
    assert split_percent("echo 100\\%") == ("echo 100%", None)
    assert split_percent("cat%") == ("cat", "")
    assert split_percent("a\\b%c") == ("a\\b", "c")  # a backslash before another: kept
    with pytest.raises(ValueError):
        split_percent("echo \\\\%")


@pytest.mark.parametrize("command, slug", [
    ("cd / && run-parts --report /etc/cron.hourly", "cron-hourly"),
    ("test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }",
     "cron-daily"),
    ("[ -x /usr/lib/php/sessionclean ] && if true; then /usr/lib/php/sessionclean; fi",
     "if"),
    ("FOO=1 /usr/local/bin/Backup.sh --all", "backup-sh"),
    ("nice -n 19 /usr/bin/updatedb", "updatedb"),
    ("'unterminated", "unterminated"),
    ("test -d /x", "cron"),
])
def test_names_from_commands(command, slug):
    assert slug_of(command) == slug


def test_names_are_unique_and_stable():
    text = "0 1 * * * root /usr/bin/backup a\n0 2 * * * root /usr/bin/backup b\n" \
           "0 3 * * * root /usr/bin/other\n"
    table = read_crontab(text, "/etc/cron.d/jobs")
    names = names_of([(job, "/etc/cron.d/jobs") for job in table.jobs])
    assert names[2] == "other"
    assert names[0].startswith("backup-") and names[1].startswith("backup-")
    assert len(set(names)) == 3 and len(names[0]) == len("backup-") + 6
    # a line added before them renames neither
    more = read_crontab("0 0 * * * root /usr/bin/backup c\n" + text, "/etc/cron.d/jobs")
    again = names_of([(job, "/etc/cron.d/jobs") for job in more.jobs])
    assert again[1:3] == names[:2]
    twice = read_crontab("0 1 * * * root x\n0 1 * * * root x\n", "/etc/cron.d/jobs")
    assert len(set(names_of([(job, "f") for job in twice.jobs]))) == 2


def write_host(tmp_path):
    (tmp_path / "etc/cron.d").mkdir(parents=True)
    (tmp_path / "var/spool/cron/crontabs").mkdir(parents=True)
    (tmp_path / "etc/crontab").write_text(DEBIAN_CRONTAB)
    (tmp_path / "etc/cron.d/e2scrub_all").write_text(E2SCRUB)
    (tmp_path / "etc/cron.d/old.dpkg-old").write_text("0 1 * * * root x\n")
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n"
                                         "ann:x:1000:1000::/home/ann:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nann:x:1000:\n")
    (tmp_path / "var/spool/cron/crontabs/ann").write_text(
        "# DO NOT EDIT THIS FILE\nMAILTO=ann@example.org\n@reboot /home/ann/bin/warm\n"
        "0 0 * * * printf 'a\\\\b'\n")
    (tmp_path / "var/spool/cron/crontabs/ghost").write_text("@reboot true\n")


def test_the_cli_reads_what_cron_reads_under_root(tmp_path, capsys):
    """--crontab with no FILE: /etc/crontab, /etc/cron.d/* (names Debian's cron reads) and
    each user's crontab into that user's tree; a line or file refused is named (exit 2), the
    rest written; MAILTO named on stderr."""
    write_host(tmp_path)
    out = tmp_path / "out.yaml"
    code = main(["import", "--root", str(tmp_path), "--crontab", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "/etc/cron.d/old.dpkg-old: skipped: Debian's cron reads no file there" in err
    assert "/var/spool/cron/crontabs/ann:2: MAILTO=ann@example.org: not carried: a job's " \
           "output goes to its service's log" in err
    # stderr escapes what it names (docs/security.md): each backslash is shown doubled
    assert "refused /var/spool/cron/crontabs/ann:4: printf 'a\\\\\\\\b': a doubled " \
           "backslash" in err
    assert "refused /var/spool/cron/crontabs/ghost: ghost is not in the accounts" in err
    data = yaml.safe_load(out.read_text())["runit"]
    assert data["users"]["ann"]["home"] == "/home/ann"
    assert data["users"]["ann"]["services"]["warm"]["oneshot"] is True
    assert main(["import", "--root", str(tmp_path), "--crontab", "/etc/cron.d/missing"]) == 1
    assert "/etc/cron.d/missing: no such file or directory" in capsys.readouterr().err


def test_debians_crontab_and_cron_d_import_into_valid_data(tmp_path, capsys):
    """import of /etc/crontab and /etc/cron.d: data the schema takes, and renders."""
    write_host(tmp_path)
    out = tmp_path / "out.yaml"
    assert main(["import", "--root", str(tmp_path), "--crontab", "/etc/crontab",
                 "/etc/cron.d", "--out", str(out)]) == 0, capsys.readouterr().err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert sorted(services) == ["cron-daily", "cron-hourly", "cron-monthly", "cron-weekly",
                                "e2scrub_all", "e2scrub_all_cron"]
    assert services["cron-weekly"]["schedule"] == "47 6 * * 7"
    rendered = tmp_path / "rendered"
    assert main(["render", "--data", str(out), "--out", str(rendered)]) == 0


def test_debians_crontab_renders_its_schedule_files(tmp_path, capsys):
    """The round trip: import → render → each service directory's ``schedule`` file says the
    five fields, its ``job`` the command."""
    write_host(tmp_path)
    out = tmp_path / "out.yaml"
    assert main(["import", "--root", str(tmp_path), "--crontab", "/etc/crontab",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    rendered = tmp_path / "rendered"
    assert main(["render", "--data", str(out), "--out", str(rendered)]) == 0
    schedule = (rendered / "etc/sv/cron-weekly/schedule").read_text().splitlines()
    assert schedule[0] == "timer 1" and "when=47 6 * * 7" in schedule
    job = (rendered / "etc/sv/cron-daily/job").read_text()
    assert "run-parts --report /etc/cron.daily" in job


def test_without_root_the_hosts_accounts_are_asked(tmp_path, capsys):
    """No --root, no --passwd: the host's accounts (NSS) are asked for a user's home, and
    never for the system crontab's (no owner)."""
    crontab = tmp_path / "jobs"
    crontab.write_text("@reboot root /usr/bin/warm-cache\n")
    out = tmp_path / "out.yaml"
    assert main(["import", "--crontab", str(crontab), "--system-crontab",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    data = yaml.safe_load(out.read_text())["runit"]["services"]["warm-cache"]
    assert data["oneshot"] is True and data["env"]["HOME"] == "/root"


# -- which format a file is read in (issue 59 §5) -----------------------------------------------
AMBIGUOUS = "*/5 * * * * backup /srv\n"  # the system's: backup runs /srv; ann's: she runs it


def test_a_file_elsewhere_is_read_as_the_command_line_says_never_guessed(tmp_path, capsys):
    """A crontab outside /etc/crontab, /etc/cron.d and the spool: without --user LOGIN or
    --system-crontab an error that names both (nothing written); with one, read so, and
    which format was read is said on stderr and in the YAML's header."""
    write_host(tmp_path)
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv/jobs").write_text(AMBIGUOUS)
    out = tmp_path / "out.yaml"
    command = ["import", "--root", str(tmp_path), "--crontab", "/srv/jobs", "--out", str(out)]
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "runit-provision import: /srv/jobs: which crontab it is cannot be told from " \
           "where it lies" in err
    assert "give --user LOGIN for LOGIN's crontab (no user field), or --system-crontab " \
           "for a system crontab (the user field)" in err
    assert not out.exists()

    assert main(command + ["--system-crontab"]) == 0, capsys.readouterr().err
    assert "/srv/jobs: read as a system crontab (its lines have the user field)" in \
        capsys.readouterr().err
    text = out.read_text()
    assert "# /srv/jobs: read as a system crontab" in text
    assert yaml.safe_load(text)["runit"]["services"]["srv"]["user"] == "backup"

    assert main(command + ["--user", "ann"]) == 0, capsys.readouterr().err
    assert "/srv/jobs: read as ann's crontab (no user field; its jobs run as ann)" in \
        capsys.readouterr().err
    data = yaml.safe_load(out.read_text())["runit"]
    job = data["users"]["ann"]["services"]["backup"]
    assert job["command"] == ["/bin/sh", "-c", "backup /srv"] and "user" not in job
    assert job["schedule"] == "*/5 * * * *" and data["services"] == {}


def test_user_reads_that_users_crontab_and_a_contradiction_is_refused(tmp_path, capsys):
    """--user LOGIN --crontab alone: LOGIN's crontab in the spool, nothing else; --user with
    a system crontab, with another user's, or with --system-crontab, is refused."""
    write_host(tmp_path)
    out = tmp_path / "out.yaml"
    root = ["import", "--root", str(tmp_path), "--out", str(out)]
    assert main(root + ["--user", "ann", "--crontab"]) == 2  # its doubled backslash refused
    data = yaml.safe_load(out.read_text())["runit"]
    assert data["services"] == {} and list(data["users"]["ann"]["services"]) == ["warm"]
    capsys.readouterr()
    assert main(root + ["--user", "ann", "--crontab", "/etc/crontab"]) == 1
    assert "/etc/crontab is a system crontab (its lines have the user field): --user ann " \
           "reads a user's crontab; leave out --user" in capsys.readouterr().err
    assert main(root + ["--user", "root", "--crontab", "/var/spool/cron/crontabs/ann"]) == 1
    assert "/var/spool/cron/crontabs/ann is ann's crontab, not root's" in \
        capsys.readouterr().err
    assert main(root + ["--system-crontab", "--crontab", "/var/spool/cron/crontabs/ann"]) == 1
    assert "/var/spool/cron/crontabs/ann is ann's crontab (no user field): leave out " \
           "--system-crontab" in capsys.readouterr().err
    assert main(root + ["--system-crontab", "--user", "ann", "--crontab"]) == 2
    assert "--user LOGIN (a user's crontab) and --system-crontab: one or the other" in \
        capsys.readouterr().err


def test_a_relative_file_is_the_shells(tmp_path, capsys, monkeypatch):
    """``--crontab jobs`` is ./jobs, as the shell means it (not /jobs)."""
    (tmp_path / "jobs").write_text("0 3 * * * root /usr/bin/nightly\n")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "--crontab", "jobs", "--system-crontab"]) == 0, \
        capsys.readouterr().err
    assert "nightly:" in capsys.readouterr().out


# -- what a line carries (issue 59 §1, §5) -------------------------------------------------------
QUOTED = """\
MAILTO=ops@example.org
0 1 * * * root /usr/bin/before
QUOTED="  spaced value  "
0 2 * * * root printf '[\\%s]' "$QUOTED"
*/5 * * * * root /usr/bin/after
"""


def test_a_quoted_value_is_carried_exactly_and_every_line_after_it_imported(tmp_path,
                                                                              capsys):
    """crontab(5): a quoted value keeps its blanks. An env/ file cannot end in blanks (chpst
    -e cuts them), so env(1) sets it before the command: the job sees the value exactly, and
    the lines after it are imported (not refused as invalid data)."""
    crontab = tmp_path / "jobs"
    crontab.write_text(QUOTED)
    out = tmp_path / "out.yaml"
    assert main(["import", "--crontab", str(crontab), "--system-crontab",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    services = yaml.safe_load(out.read_text())["runit"]["services"]
    assert sorted(services) == ["after", "before", "printf"]
    job = services["printf"]
    assert "QUOTED" not in job["env"]
    assert job["command"][:2] == ["/usr/bin/env", "QUOTED=  spaced value  "]
    # run as chpst -e would: the env/ values, then the command's argv
    done = subprocess.run(job["command"], env=dict(job["env"], PATH=os.environ["PATH"]),
                          stdout=subprocess.PIPE, timeout=30, check=True)
    assert done.stdout == b"[  spaced value  ]"
    assert main(["render", "--data", str(out), "--out", str(tmp_path / "rendered")]) == 0


def test_mailto_is_a_comment_beside_each_job_it_reaches(tmp_path, capsys):
    """MAILTO is not carried (a job's output goes to its log), but said beside each job whose
    line comes after it — not only on stderr."""
    crontab = tmp_path / "jobs"
    crontab.write_text("0 0 * * * root /usr/bin/first\n" + QUOTED)
    out = tmp_path / "out.yaml"
    assert main(["import", "--crontab", str(crontab), "--system-crontab",
                 "--out", str(out)]) == 0
    text = out.read_text()
    said = "%s:2: MAILTO=ops@example.org: not carried: a job's output goes to its " \
           "service's log (svlogd), not by mail" % crontab
    assert said in capsys.readouterr().err
    comments, name = {}, None
    for line in text.splitlines():
        if re.match(r"    # \S+: recognised", line):
            name = line.split()[1].rstrip(":")
        if line.startswith("    #") and name:
            comments[name] = comments.get(name, "") + line + "\n"
    assert said not in comments["first"]
    assert all(said in comments[name] for name in ("before", "printf", "after"))


def test_comments_show_the_line_as_written_and_counts_agree_in_number(tmp_path, capsys):
    """The YAML comment quotes the crontab's line as written — ``+\\%F``, not ``+\\\\%F`` —
    a newline or an escape sequence still escaped; "1 job imported"."""
    crontab = tmp_path / "jobs"
    crontab.write_text("0 3 * * * root date +\\%F\t>/tmp/day\n")
    out = tmp_path / "out.yaml"
    assert main(["import", "--crontab", str(crontab), "--system-crontab",
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "#   from %s:1: 0 3 * * * root date +\\%%F >/tmp/day\n" % crontab in text
    assert text.startswith("# runit-provision import --crontab: 1 job imported, 0 refused\n")
    assert yaml.safe_load(text)["runit"]["services"]["date"]["command"][2] == \
        "date +%F\t>/tmp/day"


def test_the_top_level_help_names_what_import_turns_into_data(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "import turn existing service directories, systemd units or crontabs into " \
           "data" in " ".join(capsys.readouterr().out.split())
