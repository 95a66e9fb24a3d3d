"""mixin: ``_config`` — the selector every query carries and the thresholds, with the defaults
the committed artefacts are made from; an operator's file overrides any of them."""

# The keys, their defaults, and what each is (docs/monitoring.md, "Configuration").
DEFAULTS = {
    # the label matchers of node_exporter's scrape that serves runit.prom
    "runitSelector": 'job="node"',
    # where each alert's runbook_url points (%s: the alert's anchor in docs/monitoring.md);
    # the project has no public home to default to, so set it to where your copy is served
    "runbookURLPattern": "docs/monitoring.md#%s",
    # restarts within an hour that make RunitServiceRestartingOften fire
    "restartsPerHourThreshold": 5,
    # seconds after which node_exporter's copy of runit.prom is stale (metrics stopped)
    "textfileStaleSeconds": 300,
    # seconds a timer's next elapse may be in the past before it counts as missed
    "timerMissedGraceSeconds": 300,
    # how long a state lasts before its alert fires (Prometheus' for:)
    "serviceDownFor": "5m",
    "loggerDownFor": "5m",
    # the Grafana dashboards' uid prefix, tags and refresh
    "dashboardUIDPrefix": "runit",
    "dashboardTags": ["runit"],
    "dashboardRefresh": "1m",
    # the name of Grafana's Prometheus datasource variable's default
    "datasource": "prometheus",
}


class ConfigError(ValueError):
    """An override that is not a key of DEFAULTS, or of another type than its default."""


def config_with(overrides=None):
    """DEFAULTS with ``overrides`` (a dict, e.g. read from the operator's YAML) merged over
    them; ConfigError naming each key that is unknown or of the wrong type."""
    config = dict(DEFAULTS)
    problems = []
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS:
            problems.append("%s: unknown key (known: %s)" % (key, ", ".join(DEFAULTS)))
        elif type(value) is not type(DEFAULTS[key]):
            problems.append("%s: expected %s, got %r" % (
                key, type(DEFAULTS[key]).__name__, value))
        else:
            config[key] = value
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def selected(config, metric, *matchers):
    """``metric`` with config's selector and ``matchers`` (``'kind="daemon"'`` each), as a
    PromQL series selector: every expression of the mixin reads its series through this.

    >>> selected(DEFAULTS, "runit_service_up")
    'runit_service_up{job="node"}'
    >>> selected(config_with({"runitSelector": ""}), "runit_service_kind", 'kind="daemon"')
    'runit_service_kind{kind="daemon"}'
    """
    return "%s{%s}" % (metric, ",".join(part for part in (config["runitSelector"],) + matchers
                                        if part))
