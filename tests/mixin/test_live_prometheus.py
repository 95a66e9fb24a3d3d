"""The mixin against a real Prometheus: a live tree of our runtime (a crash loop, a timer whose
runs fail, a done one-shot, a steady service, and a timer that runs ``metrics --textfile`` each
few seconds, as runit::metrics does on a host), the textfile served by a real node_exporter,
scraped every second by a real Prometheus (127.0.0.1, storage in tmp_path) evaluating the committed monitoring/alerts.yaml and rules.yaml. Every alert expected is active
and no other; every query of every dashboard panel returns series — "No data" fails."""

import contextlib
import json
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from runit_provision.health.metrics import CGROUP_FAMILIES
from runit_provision.mixin.config import config_with
from runit_provision.mixin.dashboards import grafana_dashboards

from ..cli.test_metrics import metrics_of, needs
from ..conftest import our_tool
from ..livetree import NODE_EXPORTER, free_port, http_get, live_tree, node_exporter_argv, \
    serving
from ..runtime.processes import wait_until

PROMETHEUS = "/usr/bin/prometheus"
MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
SERVICES = {
    "crashy": {"command": ["sh", "-c", "echo dying; exit 3"]},
    "steady": {"command": ["sleep", "1000"]},
    "setup": {"command": ["true"], "oneshot": True},
    "tick": {"command": ["sh", "-c", "echo failing; exit 3"], "schedule": "*:*:*"},
}
# the alerts expected, pending or firing: (alertname, service); crashy is crash-looping, which
# RunitServiceDown leaves to RunitServiceCrashLooping
EXPECTED_ALERTS = {
    ("RunitServiceCrashLooping", "crashy"),
    ("RunitServiceRestartingOften", "crashy"),
    ("RunitTimerFailed", "tick"),
}
# how long Prometheus may take, on a loaded machine, to start, scrape and evaluate
DEADLINE = 90


@pytest.mark.slow
def test_alerts_fire_and_every_panel_has_data(tmp_path, capsys):
    for path in (PROMETHEUS, NODE_EXPORTER):
        needs(path)
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    writer = {"command": [our_tool("runit-provision"), "metrics", "--data",
                          str(tmp_path / "data.yaml"), "--textfile", str(textfile)],
              "schedule": "*:*:0/2"}
    with live_tree(tmp_path, dict(SERVICES, metrics=writer)) as data:
        label = 'service="%s",tree="system",declared="true"'
        wait_until(lambda: all(line in metrics_of(data, capsys)[1] for line in (
            "runit_service_crash_looping{%s} 1" % (label % "crashy"),
            "runit_timer_last_run_exit_code{%s} 3" % (label % "tick"),
            "runit_service_oneshot_failed{%s} 0" % (label % "setup"))),
            timeout=60, what="crashy looping, tick failed, setup done")
        written = wait_until(lambda: whole_file(textfile / "runit.prom"), timeout=60,
                             what="the metrics timer's first runit.prom")
        exporter_port, port = free_port(), free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(MONITORING / "rules.yaml"), str(MONITORING / "alerts.yaml")],
            "scrape_configs": [{"job_name": "node", "static_configs": [
                {"targets": ["127.0.0.1:%d" % exporter_port]}]}]}))
        with serving(node_exporter_argv(exporter_port, textfile)), serving(
                [PROMETHEUS, "--config.file=%s" % config, "--web.listen-address=127.0.0.1:%d"
                 % port, "--storage.tsdb.path=%s" % (tmp_path / "tsdb")]):
            api = "http://127.0.0.1:%d/api/v1/" % port
            wait_until(lambda: http_get("http://127.0.0.1:%d/-/ready" % port),
                       timeout=DEADLINE, interval=0.2, what="Prometheus ready")
            # a few scrapes, so that a rate over the board's interval has two samples
            wait_until(lambda: _scrapes(api) >= 5, timeout=DEADLINE, interval=0.5,
                       what="five scrapes by Prometheus")
            # RestartingOften's increase() of a series this young is extrapolated: with a few
            # deaths fewer than its threshold seen, it crosses the threshold at one evaluation
            # and falls back at the next, so the alert flaps until more deaths than the
            # threshold are seen outright: wait for some past it, from where it only grows
            wait_until(lambda: _deaths_seen(api) >= 8, timeout=DEADLINE, interval=0.5,
                       what="8 of crashy's deaths seen by Prometheus")
            # the alerts expected, then one more round of every rule group: no other comes
            with contextlib.suppress(AssertionError):  # the assertion below names what differs
                wait_until(lambda: EXPECTED_ALERTS <= active_alerts(api), timeout=DEADLINE,
                           interval=0.5, what="the alerts expected")
            moment = time.time()
            wait_until(lambda: _evaluated_after(port, moment), timeout=DEADLINE, interval=0.5,
                       what="a round of the rules")
            instance = "127.0.0.1:%d" % exporter_port
            empty = [title for title, target in every_target()
                     if not query(api, target, instance) and not _cannot_have(target, written)]
            assert empty == [], "panels with No data: %s" % empty
            active = active_alerts(api)
            assert active == EXPECTED_ALERTS, (active, crashy_over_time(api))
            assert description_of(api, "RunitTimerFailed").endswith(
                "127.0.0.1:%d failed with exit code 3." % exporter_port)  # the alert's value


def whole_file(path):
    """``path``'s text once the writer renamed it into place (it writes new, then renames)."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _evaluated_after(port, moment):
    """Whether every rule group's last evaluation (Prometheus' own metrics) is after
    ``moment`` plus a second."""
    text = http_get("http://127.0.0.1:%d/metrics" % port) or ""
    found = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line.startswith("prometheus_rule_group_last_evaluation_timestamp_seconds{")]
    groups = sum(len(yaml.safe_load((MONITORING / name).read_text())["groups"])
                 for name in ("alerts.yaml", "rules.yaml"))
    return len(found) == groups and min(found) > moment + 1


def _scrapes(api):
    found = query(api, {"expr": "count_over_time(runit_data_valid[1m])", "instant": True}, "")
    return float(found[0]["value"][1]) if found else 0


def every_target():
    """``(board: panel, target)`` of every query of the committed boards."""
    boards = sorted((MONITORING / "dashboards").glob("*.json"))
    assert [path.name for path in boards] == sorted(grafana_dashboards(config_with()))
    return [("%s: %s" % (path.name, panel["title"]), target)
            for path in boards for panel in json.loads(path.read_text())["panels"]
            for target in panel["targets"]]


def _cannot_have(target, written):
    """Whether ``target`` reads a cgroup family this machine's ``metrics`` did not write: its
    controller is not delegated here (the VM tier has them)."""
    return any(name in target["expr"] and name not in written for name, _, _ in CGROUP_FAMILIES)


def query(api, target, instance):
    """The series of a panel's ``target`` as Grafana asks for them — at this moment when it is
    instant, else over the last minute a second apart — the board's variables substituted."""
    expr = (target["expr"].replace("$instance", instance or ".*").replace("$service", ".*")
            .replace("$__rate_interval", "30s").replace("$__interval", "1s"))
    end = time.time()
    if target["instant"]:
        asked = "query?" + urllib.parse.urlencode({"query": expr, "time": end})
    else:
        asked = "query_range?" + urllib.parse.urlencode(
            {"query": expr, "start": end - 60, "end": end, "step": 1})
    found = json.loads(http_get(api + asked) or "{}")
    assert found.get("status") == "success", (expr, found)
    return found["data"]["result"]


def _deaths_seen(api):
    """How many of crashy's deaths Prometheus has seen since its first scrape."""
    series = 'runit_service_deaths_total{service="crashy"}[1h]'
    found = query(api, {"expr": "max_over_time(%s) - min_over_time(%s)" % (series, series),
                        "instant": True}, "")
    return float(found[0]["value"][1]) if found else 0


def crashy_over_time(api):
    """What RunitServiceRestartingOften reads of crashy over the last minute, a second apart —
    its deaths, their increase and its kind — for a failure to say which part moved."""
    found = {}
    for expr in ('runit_service_deaths_total{service="crashy"}',
                 'increase(runit_service_deaths_total{service="crashy"}[1h])',
                 'runit_service_kind{service="crashy"}'):
        series = query(api, {"expr": expr, "instant": False}, "")
        found[expr] = [(labels["metric"], [value for _, value in labels["values"]])
                       for labels in series]
    return found


def description_of(api, name):
    """The description of the active alert ``name``, as Prometheus expanded it."""
    found = json.loads(http_get(api + "alerts") or "{}")
    return next(alert["annotations"]["description"]
                for alert in found.get("data", {}).get("alerts", [])
                if alert["labels"]["alertname"] == name)


def active_alerts(api):
    """``(alertname, service)`` of every alert pending or firing: the expression holds (its
    ``for:`` makes it wait, which is the rule's, not this test's, business)."""
    found = json.loads(http_get(api + "alerts") or "{}")
    return {(alert["labels"]["alertname"], alert["labels"].get("service"))
            for alert in found.get("data", {}).get("alerts", [])}
