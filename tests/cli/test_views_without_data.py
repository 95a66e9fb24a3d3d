"""Issue 44, items 16 and 17: the daily views and what is supervised beyond the data.

- 17: ``status`` lists a service linked by hand into the data's service directory ("not in
  the data"); ``logs NAME`` reads it by the same name rule (model/units.py), from the
  directory its canonical ``log/run`` names — it said "no service … in the data". Of a
  service whose directory is a user's, only a directory of that user's is read. (``logs --dir``'s labels:
  tests/logs/test_view.py.)
- 16: data that cannot be read no longer blocks them: ``status``, ``logs`` and ``metrics`` say
  its error first, show what is supervised — in the defaults' ``/etc/service`` (under
  ``--root DIR``) — as not in the data, and exit 1; ``metrics`` exports ``runit_data_valid
  0``; ``restart`` refuses.

Nothing runs here (a state is "not supervised"): what is listed and read is files; the data
relocates every path into the test's directory, or ``--root`` stages a host."""

import json
import os

import pytest

from runit_provision.cli.main import main

from ..apply.helpers import staged_root
from ..logs.helpers import BASE, LogDir
from ..runtime.processes import make_service

DATA = """\
runit:
  init: none
  sv_dir: {t}/sv
  service_dir: {t}/service
  log_dir: {t}/log
  services:
    web: {{command: /usr/bin/web}}
"""
# YAML that does not parse: the data cannot be read
BROKEN = DATA + "    db: [unclosed\n"
CANONICAL = "#!/bin/sh\nexec chpst -u nobody svlogd -tt ./main\n"


def run(capsys, *argv):
    capsys.readouterr()
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def host(tmp_path, monkeypatch, capsys):
    """The data's web, applied (files only: nothing starts it), and two services linked by
    hand into its service directory: ``handy``, whose canonical log/run logs to ./main (two
    lines there), and ``odd``, whose log/run is a script that may log anywhere."""
    data = tmp_path / "data.yaml"
    data.write_text(DATA.format(t=tmp_path))
    assert run(capsys, "apply", "--data", data, "--profile-d", "none", "--wait", "0")[0] in (
        0, 1)  # nothing serves web's link: apply says so
    by_hand = tmp_path / "by-hand"
    make_service(by_hand, "handy", log_run=CANONICAL)
    logged = LogDir(by_hand / "handy/log/main", "human")
    logged.add("handy is up", BASE)
    logged.add("handy serves", BASE + 1)
    make_service(by_hand, "odd", log_run='#!/bin/sh\nexec svlogd "$LOGDIR"\n')
    for name in ("handy", "odd"):
        (tmp_path / "service" / name).symlink_to(by_hand / name)
    return tmp_path, data


# -- 17: what status shows, logs reads --------------------------------------------------------
def test_logs_of_a_service_linked_by_hand_that_status_lists(host, capsys):
    tmp_path, data = host
    code, out, _ = run(capsys, "status", "--data", data, "--json", "--logs", "0")
    assert code == 3
    assert [(row["service"], row["declared"]) for row in json.loads(out)["services"]] == [
        ("web", True), ("handy", False), ("odd", False)]
    code, out, err = run(capsys, "logs", "--data", data, "handy", "-o", "cat")
    assert (code, out, err) == (0, "handy is up\nhandy serves\n", "")
    code, out, _ = run(capsys, "logs", "--data", data, "handy", "-o", "json", "-n", "1")
    assert json.loads(out)["service"] == "handy" and json.loads(out)["tree"] is None
    # status NAME takes the same name
    code, out, _ = run(capsys, "status", "handy", "--data", data, "--json")
    assert [row["service"] for row in json.loads(out)["services"]] == ["handy"]
    # a log/run that is a script: where it logs cannot be told, and it is said
    code, out, err = run(capsys, "logs", "--data", data, "odd")
    assert (code, out) == (1, "")
    assert err == ("runit-provision logs: odd: where it logs cannot be told: %s/log/run is "
                   "not svlogd's canonical form (#!/bin/sh, exec [chpst -u USER] svlogd … DIR);"
                   " read its directory with --dir\n" % (tmp_path / "service/odd"))
    # a name neither declared nor supervised: the rule's error, the names it may have meant
    code, _, err = run(capsys, "logs", "--data", data, "hnady")
    assert code == 1 and err == ("runit-provision logs: no service 'hnady' in the data (did "
                                 "you mean handy?)\n")
    # the data's own come first; by default logs reads the data's services alone
    code, out, _ = run(capsys, "logs", "--data", data, "-o", "cat")
    assert (code, out) == (0, "")


def test_a_users_logger_is_read_only_in_the_users_own_directories(tmp_path, monkeypatch,
                                                                  capsys):
    """Root reads what a user linked into their tree where the user could: a log/run of
    theirs naming root's directory is not read (host/supervised.py's rule for their links) —
    nor one of theirs that root linked into its own service directory."""
    home = tmp_path / "home/alice"
    (tmp_path / "passwd").write_text("alice:x:4242:4242::%s:/bin/sh\n" % home)
    (tmp_path / "group").write_text("alice:x:4242:\n")
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::sv_dir: %s/sv\nrunit::service_dir: %s/service\n"
                    "runit::log_dir: %s/log\nrunit::users: [alice]\n"
                    % (tmp_path, tmp_path, tmp_path))
    secret = LogDir(tmp_path / "root-logs", "human")  # root's
    secret.add("root's own line", BASE)
    make_service(home / "service", "mine", log_run=CANONICAL)
    LogDir(home / "service/mine/log/main", "human").add("alice's line", BASE)
    make_service(home / "service", "peek",
                 log_run="#!/bin/sh\nexec svlogd -tt %s\n" % secret.path)
    for path in [home, home / "service"] + list((home / "service").rglob("*")):
        os.lchown(str(path), 4242, 4242)
    accounts = ("--passwd", tmp_path / "passwd", "--group", tmp_path / "group")
    code, out, err = run(capsys, "logs", "--data", data, *accounts, "alice/mine", "-o", "cat")
    assert (code, out, err) == (0, "alice's line\n", "")
    (tmp_path / "service").mkdir()
    (tmp_path / "service/peek").symlink_to(home / "service/peek")  # root's link
    for name in ("alice/peek", "peek"):
        code, out, err = run(capsys, "logs", "--data", data, *accounts, name, "-o", "cat")
        assert (code, out) == (1, "")
        assert err == ("runit-provision logs: %s: its log/run names %s, which is uid 0's, not "
                       "the service's (uid 4242): not read\n" % (name, secret.path))
    code, out, err = run(capsys, "logs", "--data", data, *accounts, "alice/peek", "-o", "cat")
    assert (code, out) == (1, "")
    assert err == ("runit-provision logs: alice/peek: its log/run names %s, which is uid 0's, "
                   "not the service's (uid 4242): not read\n" % secret.path)


# -- 16: data that cannot be read -------------------------------------------------------------
def test_status_logs_and_metrics_show_the_default_service_directory_under_root(tmp_path,
                                                                              capsys):
    root = staged_root(tmp_path)
    make_service(root / "srv", "handy", log_run=CANONICAL)
    LogDir(root / "srv/handy/log/main", "human").add("handy is up", BASE)
    (root / "etc/service").mkdir()
    (root / "etc/service/handy").symlink_to("/srv/handy")  # as on the staged host
    data = tmp_path / "data.yaml"
    data.write_text(BROKEN.format(t=tmp_path))
    code, out, err = run(capsys, "status", "--data", data, "--root", root)
    assert code == 1
    assert err.splitlines()[-1] == (
        "runit-provision status: the data cannot be read: shown is what is supervised in "
        "/etc/service (the default service directory), as not in the data")
    assert out.splitlines()[1:] == [
        "handy    not supervised  -    -       up        -     not supervised",
        "  not in the data: /etc/service/handy (apply leaves it alone)"]
    assert run(capsys, "logs", "--data", data, "--root", root, "-o", "cat")[:2] == (
        1, "handy is up\n")
    code, out, err = run(capsys, "metrics", "--data", data, "--root", root)
    assert code == 1 and 'runit_service_up{service="handy",tree="system",declared="false"} 0\n' \
        in out and "runit_data_valid 0\n" in out
    (tmp_path / "textfile").mkdir()
    assert run(capsys, "metrics", "--data", data, "--root", root,
               "--textfile", tmp_path / "textfile")[0] == 1
    assert (tmp_path / "textfile/runit.prom").read_text() == out
    # the verbs that act refuse: a name cannot be trusted to a data file that cannot be read
    code, out, err = run(capsys, "restart", "--data", data, "--root", root, "handy")
    assert (code, out) == (1, "") and "malformed YAML" in err
    # valid data: the gauge says so
    data.write_text(DATA.format(t=tmp_path))
    code, out, _ = run(capsys, "metrics", "--data", data, "--root", root)
    assert code == 0 and out.endswith("\nrunit_data_valid 1\n")
