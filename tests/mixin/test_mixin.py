"""The mixin, pure: every alert's labels and annotations, every metric its expressions read
is one ``metrics`` writes (or node_exporter's), config's selector in every one of them and
its thresholds where they belong; ``runit-provision mixin`` writes, and checks, what the
repository keeps under monitoring/."""

import os
import re
import subprocess

import pytest
import yaml

from runit_provision.cli.main import main
from runit_provision.health import metrics
from runit_provision.mixin.alerts import prometheus_alerts
from runit_provision.mixin.config import DEFAULTS, ConfigError, config_with
from runit_provision.mixin.rules import prometheus_rules

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITORING = os.path.join(ROOT, "monitoring")
SELECTOR = 'job="runit",env="prod"'
# node_exporter's own series an expression may read
NODE_EXPORTER = {"node_textfile_mtime_seconds"}


def written_families():
    """Every family name health/metrics.py writes."""
    names = {metrics.AS_WANTED[0], metrics.KIND[0], metrics.DATA_VALID}
    names.update(prefix + suffix for prefix in ("runit_service_", "runit_service_log_")
                 for suffix, _, _ in metrics.FAMILIES)
    names.update(name for name, _, _ in metrics.TIMER_FAMILIES + metrics.CGROUP_FAMILIES)
    return names


def alerts(config=DEFAULTS):
    return prometheus_alerts(config)["groups"][0]["rules"]


def expressions(config):
    return [rule["expr"] for group in (prometheus_alerts(config), prometheus_rules(config))
            for rule in group["groups"][0]["rules"]]


def test_every_alert_has_a_name_severity_and_annotations_into_the_docs():
    with open(os.path.join(ROOT, "docs", "monitoring.md"), encoding="utf-8") as handle:
        headings = {line[4:].strip() for line in handle if line.startswith("### ")}
    names = [alert["alert"] for alert in alerts()]
    assert len(set(names)) == len(names)
    for alert in alerts():
        name = alert["alert"]
        assert re.fullmatch(r"Runit(?:[A-Z][a-z]+)+", name), name
        assert alert["labels"]["severity"] in ("critical", "warning", "info"), name
        notes = alert["annotations"]
        assert set(notes) == {"summary", "description", "runbook_url"}, name
        assert "{{ $labels.instance }}" in notes["description"], name
        if name.startswith(("RunitService", "RunitLogger", "RunitOneshot", "RunitTimer")):
            assert "{{ $labels.service }}" in notes["description"], name
            assert "{{ $labels.tree }}" in notes["description"], name
        assert notes["runbook_url"] == "docs/monitoring.md#" + name.lower()
        assert name in headings, name  # the anchor the runbook_url points at


def test_every_metric_read_is_one_metrics_writes_or_node_exporters():
    read = {name for expr in expressions(DEFAULTS)
            for name in re.findall(r"([a-z_]+)\{", expr)}
    assert read - written_families() - NODE_EXPORTER == set()
    assert metrics.KIND[0] in read


def test_the_selector_is_in_every_series_an_expression_reads():
    config = config_with({"runitSelector": SELECTOR})
    for expr in expressions(config):
        selectors = re.findall(r"[a-z_]+\{([^}]*)\}", expr)
        assert selectors, expr
        for matchers in selectors:
            assert matchers.startswith(SELECTOR), expr


def test_thresholds_and_durations_come_from_the_config():
    config = config_with({"restartsPerHourThreshold": 12, "textfileStaleSeconds": 900,
                          "timerMissedGraceSeconds": 60, "serviceDownFor": "15m",
                          "loggerDownFor": "2m",
                          "runbookURLPattern": "https://wiki.example/runit#%s"})
    found = {alert["alert"]: alert for alert in alerts(config)}
    restarting = found["RunitServiceRestartingOften"]
    assert "[1h]) > 12 and " in restarting["expr"]
    assert "more than 12 times" in restarting["annotations"]["description"]
    assert found["RunitMetricsStale"]["expr"].endswith("> 900")
    assert "> 60 unless" in found["RunitTimerMissed"]["expr"]
    assert found["RunitServiceDown"]["for"] == "15m"
    assert found["RunitTreeDown"]["for"] == "15m"
    assert found["RunitLoggerDown"]["for"] == "2m"
    assert found["RunitServiceGaveUp"]["annotations"]["runbook_url"] == \
        "https://wiki.example/runit#runitservicegaveup"


def test_a_config_with_an_unknown_key_or_a_wrong_type_is_refused_whole():
    with pytest.raises(ConfigError) as raised:
        config_with({"restartsPerHour": 3, "textfileStaleSeconds": "5m"})
    assert "restartsPerHour: unknown key" in str(raised.value)
    assert "textfileStaleSeconds: expected int, got '5m'" in str(raised.value)


@pytest.mark.parametrize("key, value, why", [
    ("runitSelector", "job=node",
     "'job=node' is not PromQL label matchers: the value of job is not a quoted string "
     "(job=\"node\")"),
    ("runitSelector", 'job="node",', "it ends with a comma"),
    ("runitSelector", '{job="node"}', "no label name at column 1"),
    ("runitSelector", 'job="node" env="prod"', "a comma expected at column 12"),
    ("serviceDownFor", "5 min", "'5 min' is not a Prometheus duration"),
    ("loggerDownFor", "", "'' is not a Prometheus duration"),
    ("runbookURLPattern", "https://wiki.example/runit", "has no %s where the anchor goes"),
    ("runbookURLPattern", "https://wiki.example/%d#%s", "has a % that is not %s or %%"),
])
def test_a_value_that_would_make_a_rule_prometheus_rejects_is_refused(key, value, why):
    with pytest.raises(ConfigError) as raised:
        config_with({key: value})
    assert str(raised.value).startswith(key + ": ") and why in str(raised.value)


@pytest.mark.parametrize("selector", [
    "", 'job="node"', "job='node',env!~`test.*`", ' job = "node" , env=~"a,b" ',
    'job="say \\"hi\\""'])
def test_every_selector_promql_takes_is_taken(selector):
    config = config_with({"runitSelector": selector})
    assert all("{," not in expr and ",}" not in expr for expr in expressions(config))


@pytest.mark.slow  # a real promtool: Debian's prometheus, installed by .ci/run
@pytest.mark.parametrize("selector", ["", "job='node',env!~`test.*`", 'job="say \\"hi\\""'])
def test_promtool_takes_the_rules_of_every_selector_taken(tmp_path, selector):
    from .test_promtool import PROMTOOL, needs

    needs(PROMTOOL)
    config = config_with({"runitSelector": selector})
    for name, made in (("alerts.yaml", prometheus_alerts), ("rules.yaml", prometheus_rules)):
        (tmp_path / name).write_text(yaml.safe_dump(made(config)))
    checked = subprocess.run([PROMTOOL, "check", "rules", str(tmp_path / "alerts.yaml"),
                              str(tmp_path / "rules.yaml")], capture_output=True, text=True,
                             timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_committed_files_are_what_mixin_makes_today(capsys):
    code = main(["mixin", "--check", MONITORING])
    assert (code, capsys.readouterr().err) == (0, "")


def test_mixin_writes_with_a_config_and_check_names_what_differs(tmp_path, capsys):
    settings = tmp_path / "mixin.yaml"
    settings.write_text("runitSelector: 'job=\"runit\"'\nrestartsPerHourThreshold: 9\n")
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["mixin", "--config", str(settings), "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert (said.out, said.err) == (
        "Wrote 5 files under %s: alerts.yaml, rules.yaml, dashboards/runit-fleet.json, "
        "dashboards/runit-host.json, mixin.libsonnet.\nSettings: runitSelector: "
        "'job=\"runit\"', restartsPerHourThreshold: 9 (from %s); the others the "
        "defaults.\n" % (out, settings), "")
    written = yaml.safe_load((out / "alerts.yaml").read_text())
    assert written == prometheus_alerts(config_with(
        {"runitSelector": 'job="runit"', "restartsPerHourThreshold": 9}))
    assert (out / "alerts.yaml").read_text().startswith("# Made by runit-provision mixin")
    assert "importstr 'rules.yaml'" in (out / "mixin.libsonnet").read_text()
    assert main(["mixin", "--config", str(settings), "--check", str(out)]) == 0
    assert capsys.readouterr().out == "5 files under %s are what it would write.\n" % out
    (out / "dashboards").mkdir(exist_ok=True)
    (out / "dashboards" / "old.json").write_text("{}\n")
    assert main(["mixin", "--check", str(out)]) == 1  # the defaults differ: another selector
    err = capsys.readouterr().err
    for name in ("alerts.yaml", "rules.yaml", "dashboards/old.json"):
        assert "runit-provision mixin: %s: differs from what it would write\n" % (
            out / name) in err


@pytest.mark.parametrize("text, why", [
    ("restartsPerHourThreshold: lots\n", "restartsPerHourThreshold: expected int, got 'lots'"),
    ("runitSelector: job=node\n", "runitSelector: 'job=node' is not PromQL label matchers: "
                                  "the value of job is not a quoted string (job=\"node\")")],
    ids=["a wrong type", "a selector PromQL rejects"])
def test_a_bad_config_file_is_an_error_naming_it(tmp_path, capsys, text, why):
    settings = tmp_path / "mixin.yaml"
    settings.write_text(text)
    assert main(["mixin", "--config", str(settings), "--out", str(tmp_path / "out")]) == 1
    assert capsys.readouterr() == ("", "runit-provision mixin: %s: %s\n" % (settings, why))
    assert not (tmp_path / "out").exists()
    settings.write_text("- a list\n")
    assert main(["mixin", "--config", str(settings), "--out", str(tmp_path / "out")]) == 1
    assert "expected a mapping of settings" in capsys.readouterr().err


def test_the_timer_alert_says_how_its_run_ended():
    from .test_promtool import annotations

    alert = {rule["alert"]: rule for rule in alerts()}["RunitTimerFailed"]
    labels = {"service": "backup", "tree": "system", "instance": "host1:9100"}
    assert annotations(alert, labels, 3)["description"].endswith(
        "host1:9100 failed with exit code 3.")
    assert annotations(alert, labels, -1)["description"].endswith(
        "host1:9100 was ended by a signal (its time_limit's, or another).")
