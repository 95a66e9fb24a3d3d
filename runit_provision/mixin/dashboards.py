"""mixin: ``grafanaDashboards`` — the fleet board and the host board as Grafana dashboard JSON
(schemaVersion 39), templated by ``datasource``, ``instance`` and ``service``. Pure: a
``_config`` in, dicts out; each panel is a row of a table below (kind, title, description,
queries), laid out left to right on Grafana's 24-column grid. Every query carries the
config's selector; docs/monitoring.md lists each panel with its query.
"""

SCHEMA_VERSION = 39

# the selector of a query: the config's (with its comma: none when it is empty), the host
# variable, and the service variable where the family has a service label (node_exporter's
# textfile families have none)
_HOST = '%(selectorAndComma)sinstance=~"$instance"'
_SERVICE = _HOST + ', service=~"$service"'
# node_exporter's textfile collector names runit.prom by its base name or its path
_TEXTFILE = _HOST + ', file=~"(.*/)?runit\\\\.prom"'

# value mappings of the 0/1 families, as a state timeline colours them
_AS_WANTED = ((0, "not as wanted", "red"), (1, "as wanted", "green"))
# down is no fault by itself (a done one-shot, a timer between runs): the verdict says that
_UP = ((0, "down", "#808080"), (1, "run", "green"))
_LOGGER = ((0, "logger down", "red"), (1, "logger up", "green"))

# a table column of a Unix time: Grafana's dateTime units count milliseconds
_TIME = "dateTimeAsIso"

# (kind, title, description, ((expr, legend[, unit]), ...), width, height, options)
# kind: stat, table (instant, one row a series; several queries merged by their labels),
# timeseries, state-timeline; a merged table's column is named by its query's legend and
# takes its unit; options: unit, mappings, red (the value, or the setting, it turns red at)
FLEET = (
    ("stat", "Hosts reporting", "Hosts whose runit.prom node_exporter serves.",
     (("count(instance:runit_services:count{%s})" % _HOST, ""),), 4, 4, {}),
    ("stat", "Services not as wanted", "Services status would exit 3 for (its verdict).",
     (("sum(instance:runit_services_not_as_wanted:count{%s})" % _HOST, ""),), 4, 4,
     {"red": 1}),
    ("stat", "Crash-looping", "Services that died often within a short time.",
     (("sum(instance:runit_services_crash_looping:count{%s})" % _HOST, ""),), 4, 4,
     {"red": 1}),
    ("stat", "Given up", "Services runsv stopped restarting (their give-up policy).",
     (("sum(instance:runit_services_given_up:count{%s})" % _HOST, ""),), 4, 4, {"red": 1}),
    ("stat", "Loggers down", "Loggers down while their service runs.",
     (("sum(instance:runit_loggers_down:count{%s})" % _HOST, ""),), 4, 4, {"red": 1}),
    ("stat", "Jobs failing", "One-shots and timers whose last run failed.",
     (("(sum(instance:runit_oneshots_failed:count{%s}) or vector(0)) + "
       "(sum(instance:runit_timers_failed:count{%s}) or vector(0))" % (_HOST, _HOST), ""),),
     4, 4, {"red": 1}),
    ("table", "Services not as wanted",
     "Each host's services whose verdict is not as wanted (status exits 3).",
     (("runit_service_as_wanted{%s} == 0" % _SERVICE, ""),), 12, 8, {}),
    ("table", "Crash loops and give-ups",
     "Services crash-looping now, or whose give-up policy stopped their restarts.",
     (("runit_service_crash_looping{%s} == 1 or runit_service_gave_up{%s} == 1"
       % (_SERVICE, _SERVICE), ""),), 12, 8, {}),
    ("timeseries", "Services not as wanted, by host", "The count of each host over time.",
     (("instance:runit_services_not_as_wanted:count{%s}" % _HOST, "{{instance}}"),),
     12, 8, {}),
    ("timeseries", "Restarts per hour, by host", "Deaths nobody asked for (each restarted "
                                                 "unless given up), over five minutes.",
     (("instance:runit_service_deaths:rate5m{%s} * 3600" % _HOST, "{{instance}}"),),
     12, 8, {}),
    ("timeseries", "Restarts, busiest services", "Deaths over the interval, the ten services "
                                                  "with most.",
     (("topk(10, increase(runit_service_deaths_total{%s}[$__rate_interval]))" % _SERVICE,
       "{{instance}} {{service}}"),), 12, 8, {}),
    ("table", "Jobs whose last run failed",
     "One-shots failed (1) and timers whose last run's exit code was not 0 (that code).",
     (("runit_service_oneshot_failed{%s} == 1 or runit_timer_last_run_exit_code{%s} != 0"
       % (_SERVICE, _SERVICE), ""),), 12, 8, {}),
    ("table", "Textfile age", "Seconds since metrics last wrote runit.prom on each host: a "
                              "stale one means the writer stopped, not that all is well.",
     (("time() - node_textfile_mtime_seconds{%s}" % _TEXTFILE, ""),), 24, 6,
     {"unit": "s", "red": "textfileStaleSeconds"}),
)

HOST = (
    ("state-timeline", "As wanted", "Each service's verdict (status's), its logger included.",
     (("runit_service_as_wanted{%s}" % _SERVICE, "{{service}}"),), 24, 8,
     {"mappings": _AS_WANTED}),
    ("state-timeline", "Running", "Whether each service's process runs (state run).",
     (("runit_service_up{%s}" % _SERVICE, "{{service}}"),), 12, 8, {"mappings": _UP}),
    ("state-timeline", "Loggers", "Whether each service's logger runs.",
     (("runit_service_log_up{%s}" % _SERVICE, "{{service}}"),), 12, 8, {"mappings": _LOGGER}),
    ("timeseries", "Restarts", "Deaths over the interval (each restarted unless given up).",
     (("increase(runit_service_deaths_total{%s}[$__rate_interval])" % _SERVICE,
       "{{service}}"),), 12, 8, {}),
    ("table", "Last exits", "Each service's last death: its exit code, the signal that ended "
                            "it (0: it exited), when, and deaths in all.",
     (("runit_service_last_exit_code{%s}" % _SERVICE, "code"),
      ("runit_service_last_exit_signal{%s}" % _SERVICE, "signal"),
      ("runit_service_last_exit_timestamp_seconds{%s} * 1000" % _SERVICE, "at", _TIME),
      ("runit_service_deaths_total{%s}" % _SERVICE, "deaths")), 12, 8, {}),
    ("table", "Timers", "Each timer's last ended run (start, exit code, duration) and its "
                        "next run.",
     (("runit_timer_last_run_start_seconds{%s} * 1000" % _SERVICE, "last start", _TIME),
      ("runit_timer_last_run_exit_code{%s}" % _SERVICE, "last exit code"),
      ("runit_timer_last_run_duration_seconds{%s}" % _SERVICE, "took", "s"),
      ("runit_timer_next_run_seconds{%s} * 1000" % _SERVICE, "next run", _TIME)), 12, 8, {}),
    ("table", "One-shots", "Each one-shot's last run: failed (1) or not, its exit code, "
                           "when it ended, how long it took.",
     (("runit_service_oneshot_failed{%s}" % _SERVICE, "failed"),
      ("runit_service_oneshot_last_run_exit_code{%s}" % _SERVICE, "exit code"),
      ("runit_service_oneshot_last_run_timestamp_seconds{%s} * 1000" % _SERVICE, "ended",
       _TIME),
      ("runit_service_oneshot_last_run_duration_seconds{%s}" % _SERVICE, "took", "s")),
     12, 8, {}),
    ("timeseries", "CPU", "CPU seconds a second of each service's cgroup.",
     (("rate(runit_service_cpu_seconds_total{%s}[$__rate_interval])" % _SERVICE,
       "{{service}}"),), 8, 8, {"unit": "s"}),
    ("timeseries", "Memory", "Memory of each service's cgroup (the memory controller's).",
     (("runit_service_memory_bytes{%s}" % _SERVICE, "{{service}}"),), 8, 8,
     {"unit": "bytes"}),
    ("timeseries", "Tasks", "Processes and threads in each service's cgroup (the pids "
                            "controller's).",
     (("runit_service_tasks{%s}" % _SERVICE, "{{service}}"),), 8, 8, {}),
)


def grafana_dashboards(config):
    """``{file name: dashboard}`` of both boards for ``config`` (mixin/config.py)."""
    prefix = config["dashboardUIDPrefix"]
    return {
        "runit-fleet.json": _dashboard(config, prefix + "-fleet", "runit / Fleet", FLEET,
                                       multi_host=True),
        "runit-host.json": _dashboard(config, prefix + "-host", "runit / Host", HOST,
                                      multi_host=False),
    }


def panel_queries(dashboard):
    """``(panel title, expr)`` of every query of ``dashboard``, in order."""
    return [(panel["title"], target["expr"]) for panel in dashboard["panels"]
            for target in panel["targets"]]


def _dashboard(config, uid, title, rows, multi_host):
    return {
        "uid": uid,
        "title": title,
        "tags": list(config["dashboardTags"]),
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": config["dashboardRefresh"],
        "time": {"from": "now-6h", "to": "now"},
        "annotations": {"list": []},
        "links": [{"type": "dashboards", "tags": list(config["dashboardTags"]),
                   "asDropdown": True, "title": "runit", "includeVars": True,
                   "keepTime": True}],
        "templating": {"list": _variables(config, multi_host)},
        "panels": _laid_out([_panel(config, index + 1, row)
                             for index, row in enumerate(rows)]),
    }


def _variables(config, multi_host):
    selector = config["runitSelector"].strip()
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource",
         "query": "prometheus", "regex": "", "hide": 0, "refresh": 1,
         "current": {"text": config["datasource"], "value": config["datasource"]}},
        _query_variable("instance", "Host",
                        "label_values(runit_service_as_wanted{%s}, instance)" % selector,
                        multi_host),
        _query_variable("service", "Service",
                        "label_values(runit_service_as_wanted{%s}, service)" % _HOST
                        % _with_selector_and_comma(config), True),
    ]


def _with_selector_and_comma(config):
    """config, and ``selectorAndComma``: its selector followed by ``, ``, or nothing when it
    is empty — a query's matchers begin with it (``{, instance=…}`` is no PromQL)."""
    selector = config["runitSelector"].strip()
    return dict(config, selectorAndComma=selector + ", " if selector else "")


def _query_variable(name, label, query, multi):
    return {"name": name, "label": label, "type": "query", "datasource": _DATASOURCE,
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query, "refresh": 2, "sort": 1, "hide": 0, "regex": "",
            "multi": multi, "includeAll": multi, "allValue": ".*" if multi else None,
            "current": {}, "options": []}


_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# a merged table's query keeps only the labels its rows are joined by: Grafana's merge joins
# rows whose other columns are equal, and each family's __name__ (and the rest) would differ
_MERGED = "max by (instance, service, tree) (%s)"


def _panel(config, panel_id, row):
    kind, title, description, queries, width, height, options = row
    table = kind == "table"
    merged = table and len(queries) > 1
    targets = [{"refId": chr(ord("A") + index), "datasource": _DATASOURCE,
                "expr": (_MERGED % query[0] if merged else query[0])
                % _with_selector_and_comma(config),
                "legendFormat": query[1],
                "instant": kind in ("table", "stat"), "range": kind not in ("table", "stat"),
                "format": "table" if table else "time_series"}
               for index, query in enumerate(queries)]
    defaults = {"mappings": [_mapping(options.get("mappings", ()))] if "mappings" in options
                else [],
                "thresholds": _thresholds(config, options.get("red"))}
    if "unit" in options:
        defaults["unit"] = options["unit"]
    if kind in ("state-timeline", "timeseries", "stat"):
        defaults["color"] = {"mode": "thresholds" if kind != "timeseries" else "palette-classic"}
    found = {"id": panel_id, "type": kind, "title": title, "description": description,
             "datasource": _DATASOURCE, "gridPos": {"w": width, "h": height},
             "targets": targets, "fieldConfig": {"defaults": defaults, "overrides": []},
             "options": _options(kind)}
    if table:  # the columns a reader needs: not the sample's time, the name or the job
        found["transformations"] = [{"id": "organize", "options": {
            "excludeByName": {"Time": True, "__name__": True, "job": True}}}]
    if merged:  # one row a service: the queries' values side by side
        found["transformations"].insert(0, {"id": "merge", "options": {}})
        found["fieldConfig"]["overrides"] = [_column(target["refId"], query)
                                             for target, query in zip(targets, queries)]
    return found


def _column(ref, query):
    """A merged table's column of query ``ref``: Grafana names it ``Value #ref``."""
    properties = [{"id": "displayName", "value": query[1]}]
    if len(query) > 2:
        properties.append({"id": "unit", "value": query[2]})
    return {"matcher": {"id": "byName", "options": "Value #%s" % ref}, "properties": properties}


def _mapping(states):
    return {"type": "value", "options": {
        str(value): {"text": text, "color": colour, "index": index}
        for index, (value, text, colour) in enumerate(states)}}


def _thresholds(config, red):
    steps = [{"color": "green", "value": None}]
    if red is not None:
        steps.append({"color": "red", "value": config[red] if isinstance(red, str) else red})
    return {"mode": "absolute", "steps": steps}


def _options(kind):
    if kind == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "background", "graphMode": "none", "textMode": "value"}
    if kind == "state-timeline":
        return {"showValue": "never", "mergeValues": True, "rowHeight": 0.9,
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
    if kind == "timeseries":
        return {"legend": {"displayMode": "table", "placement": "right", "showLegend": True},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    return {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}


def _laid_out(panels):
    """``panels`` with their ``gridPos`` x and y: left to right, a new line when one is full."""
    x = y = line_height = 0
    for panel in panels:
        grid = panel["gridPos"]
        if x + grid["w"] > 24:
            x, y, line_height = 0, y + line_height, 0
        grid["x"], grid["y"] = x, y
        x, line_height = x + grid["w"], max(line_height, grid["h"])
    return panels
