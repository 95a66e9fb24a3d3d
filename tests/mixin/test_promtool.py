"""The mixin's rule files under Prometheus' own ``promtool``: ``check rules`` on what is
committed under monitoring/, and ``test rules`` — its evaluator, with ``for:`` and time — on
alert_cases.yaml: each alert fires for its case and resolves, and no other one fires; each
recording rule's value."""

import os
import re
import subprocess

import pytest
import yaml

from runit_provision.mixin.alerts import prometheus_alerts
from runit_provision.mixin.config import DEFAULTS
from runit_provision.mixin.rules import prometheus_rules

from ..cli.test_metrics import PROMTOOL, needs

HERE = os.path.dirname(os.path.abspath(__file__))
MONITORING = os.path.join(os.path.dirname(os.path.dirname(HERE)), "monitoring")
CASES = os.path.join(HERE, "alert_cases.yaml")
HOST = {"instance": "host1:9100", "job": "node"}
RECORDS_AT = "15m"
ALERTS = prometheus_alerts(DEFAULTS)["groups"][0]["rules"]


def series_labels(key):
    """``(metric, labels)`` of a case's series key, with the defaults the file's head says."""
    metric, _, inside = key.partition("{")
    labels = dict(re.findall(r'(\w+)="([^"]*)"', inside))
    if metric.startswith(("runit_service_", "runit_timer_")):
        labels = {"tree": "system", "declared": "true", **labels}
    return metric, {**labels, **HOST}


def alert_labels(alert, given):
    """The labels an alert of ``alert`` fires with: ``given``, completed as the series they
    come from are (a service's: its tree and declared), and the alert's severity."""
    labels = {**HOST, **given}
    if "service" in given:
        labels = {"tree": "system", "declared": "true", **labels}
    return {**labels, **alert["labels"]}


# the one choice an annotation makes by the alert's value (mixin/alerts.TIMER_END)
BY_SIGN = re.compile(r"\{\{ if lt \$value 0\.0 \}\}(.*?)\{\{ else \}\}(.*?)\{\{ end \}\}")


def annotations(alert, labels, value=None):
    """The alert's annotations as Prometheus expands them for ``labels`` and ``value`` (they
    use only ``{{ $labels.NAME }}``, and ``{{ $value }}`` in BY_SIGN's choice)."""
    def expanded(text):
        if BY_SIGN.search(text):
            text = BY_SIGN.sub(lambda found: found.group(1 if value < 0 else 2), text)
        text = text.replace("{{ $value }}", "%g" % value if value is not None else "?")
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda found: labels[found.group(1)],
                      text)
    return {key: expanded(text) for key, text in alert["annotations"].items()}


def promtool_tests(cases):
    """promtool's ``tests:`` for ``cases`` (alert_cases.yaml, read)."""
    tests = []
    for case in cases["cases"]:
        series = {**cases["healthy"], **case["series"]}
        inputs = []
        for key, values in series.items():
            metric, labels = series_labels(key)
            inputs.append({"series": "%s{%s}" % (metric, ",".join(
                '%s="%s"' % pair for pair in sorted(labels.items()))), "values": values})
        checks = []
        for at, firing in case["checks"].items():
            unknown = set(firing) - {alert["alert"] for alert in ALERTS}
            assert not unknown, (case["name"], unknown)
            for alert in ALERTS:
                expected = []
                for given in firing.get(alert["alert"], []):
                    given = dict(given)
                    value = given.pop("value", None)  # the alert's value, not a label
                    labels = alert_labels(alert, given)
                    expected.append({"exp_labels": labels,
                                     "exp_annotations": annotations(alert, labels, value)})
                checks.append({"eval_time": at, "alertname": alert["alert"],
                               "exp_alerts": expected})
        values = [{"expr": record, "eval_time": RECORDS_AT, "exp_samples": [
            {"labels": "%s{%s}" % (record, ",".join(
                '%s="%s"' % pair for pair in sorted(HOST.items()))), "value": value}]}
            for record, value in case.get("records", {}).items()]
        tests.append({"name": case["name"], "interval": "1m", "input_series": inputs,
                      "alert_rule_test": checks, "promql_expr_test": values})
    return tests


def test_every_alert_fires_in_a_case_and_resolves():
    with open(CASES, encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    fired = set()
    for case in cases["cases"]:
        checks = list(case["checks"].values())
        fired.update(*checks)
        if any(checks):
            assert checks[-1] == {}, case["name"]  # the last check: resolved
    assert fired == {alert["alert"] for alert in ALERTS}
    recorded = {record for case in cases["cases"] for record in case.get("records", {})}
    assert recorded == {rule["record"] for rule in prometheus_rules(DEFAULTS)["groups"][0][
        "rules"]}


@pytest.mark.slow  # a real promtool: Debian's prometheus, installed by .ci/run
@pytest.mark.parametrize("name", ["alerts.yaml", "rules.yaml"])
def test_promtool_checks_the_committed_rule_files(name):
    needs(PROMTOOL)
    checked = subprocess.run([PROMTOOL, "check", "rules", os.path.join(MONITORING, name)],
                             capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.slow
def test_promtool_fires_and_resolves_each_alert(tmp_path):
    needs(PROMTOOL)
    alerts, rules = tmp_path / "alerts.yaml", tmp_path / "rules.yaml"
    alerts.write_text(yaml.safe_dump(prometheus_alerts(DEFAULTS)))
    rules.write_text(yaml.safe_dump(prometheus_rules(DEFAULTS)))
    with open(CASES, encoding="utf-8") as handle:
        cases = yaml.safe_load(handle)
    tests = tmp_path / "alerts_test.yaml"
    tests.write_text(yaml.safe_dump({
        "rule_files": [str(alerts), str(rules)], "evaluation_interval": "1m",
        "tests": promtool_tests(cases)}, sort_keys=False))
    tested = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True,
                            text=True, timeout=300)
    assert tested.returncode == 0, tested.stdout + tested.stderr
