"""mixin: the recording rules — each host's rollups of ``runit-provision metrics``' families,
named ``level:metric:operations`` (Prometheus' convention), that the fleet dashboard reads
instead of every service's series. Each is a count made with ``== bool``/``sum``, so a host
with nothing wrong has a 0, not no series: a board shows 0, never "No data"."""

from .config import selected

# (record, expression: a template of expression() below, what it is): one per rollup,
# every one by (instance, job) — the labels Prometheus gives each scraped host
ROLLUPS = (
    ("instance:runit_services:count", "count by (instance, job) (%(runit_service_as_wanted)s)",
     "services the host's metrics list (declared, and linked by hand)"),
    ("instance:runit_services_not_as_wanted:count",
     "sum by (instance, job) (%(runit_service_as_wanted)s == bool 0)",
     "services status would exit 3 for"),
    ("instance:runit_services_crash_looping:count",
     "sum by (instance, job) (%(runit_service_crash_looping)s)",
     "services crash-looping (our runtime's account; absent under the C runit)"),
    ("instance:runit_services_given_up:count",
     "sum by (instance, job) (%(runit_service_gave_up)s)",
     "services runsv stopped restarting (their give-up policy)"),
    ("instance:runit_loggers_down:count",
     "sum by (instance, job) (%(runit_service_log_up)s == bool 0 and on (instance, job, "
     "service, tree) %(runit_service_up)s == 1)",
     "loggers down while their service runs"),
    ("instance:runit_oneshots_failed:count",
     "sum by (instance, job) (%(runit_service_oneshot_failed)s)",
     "one-shots whose last run failed"),
    ("instance:runit_timers_failed:count",
     "sum by (instance, job) (%(runit_timer_last_run_exit_code)s != bool 0)",
     "timers whose last run failed"),
    ("instance:runit_service_starts:rate5m",
     "sum by (instance, job) (rate(%(runit_service_starts_total)s[5m]))",
     "starts per second of every service's ./run"),
    ("instance:runit_service_deaths:rate5m",
     "sum by (instance, job) (rate(%(runit_service_deaths_total)s[5m]))",
     "deaths per second nobody asked for (each one restarted, unless given up)"),
)
GROUP = "runit.rules"


def prometheus_rules(config):
    """``{"groups": [...]}``: Prometheus' rule file of the rollups, read through config's
    selector (mixin/config.py)."""
    return {"groups": [{"name": GROUP, "rules": [
        {"record": record, "expr": expression(config, template)}
        for record, template, _ in ROLLUPS]}]}


def expression(config, template):
    """``template`` with each ``%(metric)s`` the metric read through config's selector
    (``%(metric|matcher)s``: with that matcher too) and each ``%(key)d`` config's ``key``."""
    return template % _Selected(config)


class _Selected(dict):
    """config, and for any other key ``metric|matcher…``: ``selected(config, metric,
    matcher…)``."""

    def __init__(self, config):
        super().__init__(config)
        self.config = config

    def __missing__(self, key):
        return selected(self.config, *key.split("|"))
