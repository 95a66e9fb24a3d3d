"""``runit-provision metrics`` on a live tree of our runtime: a crash loop and a steady service
as Prometheus metrics, checked by Prometheus' own ``promtool check metrics`` and served by
node_exporter's real textfile collector (on 127.0.0.1). Pure cases of the format too."""

import json
import os
import subprocess
import time

import pytest
import yaml

from runit_provision.health.metrics import exposition
from runit_provision.health.status import ServiceStatus
from runit_provision.cli.main import main
from runit_provision.protocol.tally import Tally

from ..livetree import NODE_EXPORTER, free_port, http_get, live_tree, node_exporter_argv, \
    serving
from ..sides import made_side
from ..skips import missing
from ..runtime.processes import wait_until

PROMTOOL = "/usr/bin/promtool"
NOW = 1_700_000_000


def needs(path):
    if not os.path.exists(path):
        missing(path, "apt-get install prometheus prometheus-node-exporter")


# -- the format, pure ---------------------------------------------------------------------------
def test_families_labels_and_what_is_left_out_without_an_account():
    tally = Tally()
    for moment in range(6):
        tally.started(9)
        tally.died(11 | 0x80, (NOW - 10 + moment) * 10**9, 10**7)
    rows = [
        ServiceStatus("web", "/etc/sv/web", None, True,
                      made_side("down", 0, 3, "up", True, tally, NOW * 10**9),
                      made_side("run", 12, 100, "up", True, None, NOW * 10**9)),
        ServiceStatus('odd"name', "/home/a/sv/x", "alice", True,
                      made_side("not supervised"), None),
        # not in the data: a name found in a home, shown as status shows it (UTF-8 text)
        ServiceStatus("alice/by\nhand\udcff", "/home/a/service/by\nhand\udcff", "alice", True,
                      made_side("run", 7, 5, "up", True, None, NOW * 10**9), None,
                      declared=False)]
    text = exposition(rows)
    system = 'service="web",tree="system",declared="true"'
    assert 'runit_service_up{%s} 0\n' % system in text
    assert 'runit_service_deaths_total{%s} 6\n' % system in text
    assert 'runit_service_last_exit_signal{%s} 11\n' % system in text
    assert 'runit_service_crash_looping{%s} 1\n' % system in text
    assert 'runit_service_since_timestamp_seconds{%s} %d\n' % (system, NOW - 3) in text
    assert "runit_service_last_exit_code{" not in text  # a signal, not an exit
    assert 'runit_service_log_up{%s} 1\n' % system in text
    assert "runit_service_log_deaths_total" not in text  # no account: absent, not 0
    assert 'runit_service_supervised{service="odd\\"name",tree="alice",declared="true"} 0\n' \
        in text
    # shown_name's escapes (by\nhand\xff), then the format's own (a backslash doubled)
    assert ('runit_service_up{service="alice/by\\\\nhand\\\\xff",tree="alice",'
            'declared="false"} 1\n') in text
    text.encode("utf-8")  # what the textfile is written as: no lone surrogate left
    assert text.count("# TYPE runit_service_deaths_total counter\n") == 1
    assert exposition([]) == ""


def test_as_wanted_is_the_verdict_and_an_unknown_state_is_no_up_0():
    """Issue 44 items 18 and 6: ``runit_service_as_wanted`` is status's verdict, one sample a
    service (its logger's trouble included); a side whose state cannot be told — metrics run
    by a user, who may not read root's supervise/ — has no ``up`` or ``supervised`` at all."""
    tally = Tally()
    for moment in range(6):
        tally.started(9)
        tally.died(3 << 8, (NOW - 10 + moment) * 10**9, 10**7)
    running = made_side("run", 12, 100, "up", True, None, NOW * 10**9)
    rows = [
        ServiceStatus("web", "/etc/sv/web", None, True, running, running),
        ServiceStatus("crashy", "/etc/sv/crashy", None, True,
                      made_side("run", 9, 0, "up", True, tally, NOW * 10**9), running),
        ServiceStatus("quiet", "/etc/sv/quiet", None, True,
                      made_side("down", 0, 5, "down", True, None, NOW * 10**9), None),
        ServiceStatus("mute", "/etc/sv/mute", None, True, running,
                      made_side("down", 0, 5, "up", True, None, NOW * 10**9)),
        ServiceStatus("root-only", "/etc/sv/root-only", None, True,
                      made_side("unknown", now_ns=NOW * 10**9), None)]
    text = exposition(rows)
    wanted = {name: 'runit_service_as_wanted{service="%s",tree="system",declared="true"}'
              % name for name in ("web", "crashy", "quiet", "mute", "root-only")}
    assert [line for line in text.splitlines() if "as_wanted" in line] == [
        "# HELP runit_service_as_wanted 1 when the service is as wanted (status's verdict, its "
        "logger included); 0 makes status exit 3.",
        "# TYPE runit_service_as_wanted gauge",
        wanted["web"] + " 1", wanted["crashy"] + " 0", wanted["quiet"] + " 1",
        wanted["mute"] + " 0", wanted["root-only"] + " 0"]
    assert 'service="root-only"' not in "".join(
        line for line in text.splitlines() if line.startswith(("runit_service_up{",
                                                                "runit_service_supervised{")))
    assert 'runit_service_normally_up{service="root-only",tree="system",declared="true"} 1' \
        in text


# -- a live tree ----------------------------------------------------------------------------------
@pytest.fixture
def live(tmp_path):
    # crashy is reported as not staying up (apply's watch): every step was done
    with live_tree(tmp_path, {"crashy": {"command": ["sh", "-c", "echo dying; exit 3"]},
                              "steady": {"command": ["sleep", "1000"]}}) as data:
        yield data


def metrics_of(data, capsys, *extra):
    capsys.readouterr()
    code = main(["metrics", "--data", str(data)] + list(extra))
    return code, capsys.readouterr().out


@pytest.mark.slow
def test_a_crash_loop_as_metrics_promtool_and_node_exporter_agree(live, tmp_path, capsys):
    needs(PROMTOOL)
    needs(NODE_EXPORTER)
    wait_until(lambda: 'runit_service_crash_looping{service="crashy",tree="system",'
               'declared="true"} 1' in
               metrics_of(live, capsys)[1], timeout=30, what="crashy crash-looping")
    code, text = metrics_of(live, capsys)
    assert code == 0
    crashy, steady = ('service="%s",tree="system",declared="true"' % name
                      for name in ("crashy", "steady"))
    assert 'runit_service_last_exit_code{%s} 3\n' % crashy in text
    assert 'runit_service_up{%s} 1\n' % steady in text
    assert 'runit_service_deaths_total{%s} 0\n' % steady in text
    assert 'runit_service_log_up{%s} 1\n' % crashy in text
    assert 'runit_service_as_wanted{%s} 0\n' % crashy in text  # status's verdict
    assert 'runit_service_as_wanted{%s} 1\n' % steady in text
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                             capture_output=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # the textfile, served by node_exporter's own collector
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    assert metrics_of(live, capsys, "--textfile", str(textfile))[0] == 0
    assert sorted(os.listdir(str(textfile))) == ["runit.prom"]
    port = free_port()
    with serving(node_exporter_argv(port, textfile)):
        served = wait_until(lambda: scrape(port), timeout=20, what="node_exporter serving")
    # node_exporter serves the labels sorted by name
    assert 'runit_service_up{declared="true",service="steady",tree="system"} 1' in served
    assert ('runit_service_crash_looping{declared="true",service="crashy",tree="system"} 1'
            in served)
    assert "node_textfile_scrape_error 0" in served


@pytest.mark.slow
def test_status_json_and_the_fact_tell_the_same_story(live, capsys):
    # one live tree for both (each start waits for a crash loop: seconds of the suite)
    def fact():
        capsys.readouterr()
        main(["status", "--data", str(live), "--fact"])
        return capsys.readouterr().out
    wait_until(lambda: '"crash_looping": true' in fact(), timeout=30, what="crashy looping")
    capsys.readouterr()
    assert main(["status", "--data", str(live), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    crashy = [row for row in report["services"] if row["service"] == "crashy"][0]["main"]
    assert crashy["deaths"] >= 5 and crashy["last_exit"]["code"] == 3
    assert crashy["last_exit"]["ran"] < 1.0 and crashy["crash_looping"] is True

    steady = [row for row in json.loads(fact())["services"] if row["service"] == "steady"][0]
    assert steady["main"] == {"state": "run", "want": "up", "normally": "up", "paused": False,
                              "crash_looping": False, "gave_up": False, "last_exit": "none",
                              "deaths": "0"}
    crashy = [row for row in json.loads(fact())["services"] if row["service"] == "crashy"][0]
    assert crashy["main"]["last_exit"] == "exit 3" and crashy["main"]["deaths"] in (
        "2-9", "10-99")
    # a steady node: the same bytes across a second boundary (its uptime has grown)
    rows = [row for row in json.loads(fact())["services"] if row["service"] == "steady"]
    time.sleep(1.1)  # the point of the test is that time passes; nothing is awaited
    assert [row for row in json.loads(fact())["services"] if row["service"] == "steady"] == rows


def test_a_textfile_directory_that_is_not_one_is_exit_1(tmp_path, capsys):
    data = tmp_path / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": {"services": {}, "sv_dir": str(tmp_path / "sv"),
                                              "service_dir": str(tmp_path / "service")}}))
    code = main(["metrics", "--data", str(data), "--textfile", str(tmp_path / "nowhere")])
    assert code == 1 and "runit-provision metrics:" in capsys.readouterr().err


def scrape(port):
    return http_get("http://127.0.0.1:%d/metrics" % port)
