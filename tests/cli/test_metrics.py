"""``runit-provision metrics`` on a live tree of our runtime: a crash loop and a steady service
as Prometheus metrics, checked by Prometheus' own ``promtool check metrics`` and served by
node_exporter's real textfile collector (on 127.0.0.1). The format's pure cases are the health
room's (tests/health/test_metrics.py)."""

import json
import os
import subprocess
import time

import pytest
import yaml

from runit_provision.cli.main import main

from ..livetree import NODE_EXPORTER, free_port, http_get, live_tree, node_exporter_argv, \
    serving
from ..skips import missing
from ..runtime.processes import wait_until

PROMTOOL = "/usr/bin/promtool"


def needs(path):
    if not os.path.exists(path):
        missing(path, "apt-get install prometheus prometheus-node-exporter")


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
