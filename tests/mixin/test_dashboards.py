"""The dashboards, pure: Grafana's shape (panels on the grid, targets with an expression and a
legend, the three variables), uids from the config's prefix, every metric a query reads one
``metrics`` writes, a recording rule of the mixin or node_exporter's, and the selector in
every series a query reads."""

import os
import re

from runit_provision.mixin.config import DEFAULTS, config_with
from runit_provision.mixin.dashboards import SCHEMA_VERSION, grafana_dashboards, panel_queries
from runit_provision.mixin.rules import prometheus_rules

from .test_mixin import NODE_EXPORTER, ROOT, SELECTOR, written_families

# a series a query reads: its name, then its matchers
SERIES = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def boards(config=DEFAULTS):
    return grafana_dashboards(config)


def test_both_boards_have_panels_on_the_grid_each_with_a_query():
    assert sorted(boards()) == ["runit-fleet.json", "runit-host.json"]
    for name, board in boards().items():
        assert board["schemaVersion"] == SCHEMA_VERSION
        ids = [panel["id"] for panel in board["panels"]]
        assert len(set(ids)) == len(ids), name
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            for target in panel["targets"]:
                assert target["expr"] and "legendFormat" in target, (name, panel["title"])
        # no two panels overlap: each cell of the grid is one panel's
        cells = [(x, y) for grid in (panel["gridPos"] for panel in board["panels"])
                 for x in range(grid["x"], grid["x"] + grid["w"])
                 for y in range(grid["y"], grid["y"] + grid["h"])]
        assert len(set(cells)) == len(cells), name


def test_the_variables_datasource_instance_and_service():
    for name, board in boards().items():
        variables = {variable["name"]: variable for variable in board["templating"]["list"]}
        assert list(variables) == ["datasource", "instance", "service"], name
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for key in ("instance", "service"):
            assert variables[key]["query"]["query"].startswith(
                "label_values(runit_service_as_wanted{%s" % DEFAULTS["runitSelector"])
    host, fleet = boards()["runit-host.json"], boards()["runit-fleet.json"]
    assert host["templating"]["list"][1]["multi"] is False  # one host a board
    assert fleet["templating"]["list"][1]["multi"] is True


def test_uids_tags_and_refresh_come_from_the_config():
    config = config_with({"dashboardUIDPrefix": "ops-runit", "dashboardTags": ["ops"],
                          "dashboardRefresh": "30s", "datasource": "thanos"})
    made = boards(config)
    assert sorted(board["uid"] for board in made.values()) == ["ops-runit-fleet",
                                                              "ops-runit-host"]
    for board in made.values():
        assert board["tags"] == ["ops"] and board["refresh"] == "30s"
        assert board["templating"]["list"][0]["current"]["value"] == "thanos"


def test_every_metric_read_is_written_recorded_or_node_exporters():
    recorded = {rule["record"] for rule in prometheus_rules(DEFAULTS)["groups"][0]["rules"]}
    read = {name for board in boards().values() for _, expr in panel_queries(board)
            for name, _ in SERIES.findall(expr)}
    assert read - written_families() - recorded - NODE_EXPORTER == set()
    assert read & recorded  # the fleet's rollups are the recording rules


def test_the_selector_and_the_host_variable_are_in_every_series_read():
    config = config_with({"runitSelector": SELECTOR})
    for board in boards(config).values():
        for title, expr in panel_queries(board):
            found = SERIES.findall(expr)
            assert found, (title, expr)
            for name, matchers in found:
                assert matchers.startswith(SELECTOR + ', instance=~"$instance"'), (title, expr)
                if name.startswith("runit_"):  # a family with a service label
                    assert 'service=~"$service"' in matchers, (title, expr)


def test_docs_list_each_panel_with_its_queries():
    with open(os.path.join(ROOT, "docs", "monitoring.md"), encoding="utf-8") as handle:
        text = handle.read()
    dashboards = text[text.index("\n## Dashboards\n"):]
    for board in boards().values():
        for panel in board["panels"]:
            assert "\n| %s | %s | " % (panel["title"], panel["type"]) in dashboards, panel["title"]
            for target in panel["targets"]:
                assert "`%s`" % target["expr"] in dashboards, (panel["title"], target["expr"])


def test_an_empty_selector_leaves_every_query_valid():
    config = config_with({"runitSelector": ""})
    queries = [expr for board in boards(config).values() for _, expr in panel_queries(board)]
    queries += [variable["query"]["query"] for board in boards(config).values()
                for variable in board["templating"]["list"][1:]]
    assert queries and not [expr for expr in queries if re.search(r"\{\s*,", expr)]
    assert 'runit_service_as_wanted{instance=~"$instance"}' in " ".join(queries)
