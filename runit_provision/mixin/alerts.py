"""mixin: the alerts — one a cause, each what ``status`` would say of a service on a host that
no one is looking at, named ``Runit…``, with a ``severity``, a ``summary``, a
``description`` and a ``runbook_url`` into docs/monitoring.md (its anchor: the alert's name,
lowercased). A service with two causes (a daemon that waits for a failed one-shot; a crash
loop, down between its deaths) fires for the cause only, as ``status`` names it."""

from .rules import expression

# the labels that name one service of one host, for joining two of its families
SERVICE = "on (instance, job, service, tree)"
# node_exporter's series of runit.prom (its file label: the name, or a path where one is given)
TEXTFILE_MATCHER = 'file=~"(.*/)?runit\\\\.prom"'
# how a timer's run ended, from the alert's value (runit_timer_last_run_exit_code: -1 when a
# signal ended it, its time_limit's included)
TIMER_END = ("{{ if lt $value 0.0 }}was ended by a signal (its time_limit's, or another)"
             "{{ else }}failed with exit code {{ $value }}{{ end }}.")
# (name, severity, config's key of its for: or None, expression, summary, description): the
# expression a template of mixin.rules.expression, the description's %(key)d one of config's
# keys; every description names the host, and the service and its tree when it is about one
ALERTS = (
    ("RunitServiceDown", "critical", "serviceDownFor",
     "(%(runit_service_up)s == 0 and " + SERVICE + " (%(runit_service_desired)s == 1 or "
     "(%(runit_service_supervised)s == 0 and " + SERVICE + " %(runit_service_normally_up)s "
     "== 1))) and " + SERVICE + " %(runit_service_kind|kind=\"daemon\")s unless " + SERVICE +
     " (%(runit_service_crash_looping)s == 1 or %(runit_service_waiting_for_oneshot)s == 2) "
     "unless on (instance, job, tree) (max by (instance, job, tree) "
     "(%(runit_service_supervised)s) == 0)",
     "A runit service that should run does not.",
     "{{ $labels.service }} (tree {{ $labels.tree }}) on {{ $labels.instance }} is down while "
     "runsv wants it up, or no runsv supervises it while no down file keeps it down."),
    ("RunitServiceCrashLooping", "critical", None,
     "%(runit_service_crash_looping)s == 1 unless " + SERVICE +
     " %(runit_service_waiting_for_oneshot)s == 2",
     "A runit service is crash-looping.",
     "{{ $labels.service }} (tree {{ $labels.tree }}) on {{ $labels.instance }} died 5 times "
     "or more within a minute."),
    ("RunitServiceGaveUp", "critical", None, "%(runit_service_gave_up)s == 1",
     "runsv gave up restarting a runit service.",
     "{{ $labels.service }} (tree {{ $labels.tree }}) on {{ $labels.instance }} met its "
     "give-up policy: runsv wants it down until someone runs sv up."),
    ("RunitLoggerDown", "warning", "loggerDownFor",
     "%(runit_service_log_up)s == 0 and " + SERVICE + " %(runit_service_up)s == 1",
     "A runit service runs without its logger.",
     "The logger of {{ $labels.service }} (tree {{ $labels.tree }}) on "
     "{{ $labels.instance }} is down while the service runs: its output piles up in the "
     "pipe, then the service blocks."),
    ("RunitOneshotFailed", "warning", None, "%(runit_service_oneshot_failed)s == 1",
     "A runit one-shot's last run failed.",
     "The one-shot {{ $labels.service }} (tree {{ $labels.tree }}) on {{ $labels.instance }} "
     "failed its last run; what needs it waits."),
    ("RunitTimerFailed", "warning", None, "%(runit_timer_last_run_exit_code)s != 0",
     "A runit timer's last run failed.",
     "The last run of the timer {{ $labels.service }} (tree {{ $labels.tree }}) on "
     "{{ $labels.instance }} " + TIMER_END),
    ("RunitTimerMissed", "warning", None,
     "time() - %(runit_timer_next_run_seconds)s > %(timerMissedGraceSeconds)d unless "
     + SERVICE + " %(runit_service_up)s == 1",
     "A runit timer missed its run.",
     "The timer {{ $labels.service }} (tree {{ $labels.tree }}) on {{ $labels.instance }} "
     "was due more than %(timerMissedGraceSeconds)d seconds ago and has not started."),
    ("RunitServiceRestartingOften", "warning", None,
     "increase(%(runit_service_deaths_total)s[1h]) > %(restartsPerHourThreshold)d and " +
     SERVICE + " %(runit_service_kind|kind=\"daemon\")s",
     "A runit service restarts often.",
     "{{ $labels.service }} (tree {{ $labels.tree }}) on {{ $labels.instance }} died, and "
     "was restarted, more than %(restartsPerHourThreshold)d times in the last hour."),
    ("RunitTreeDown", "critical", "serviceDownFor",
     "max by (instance, job, tree) (%(runit_service_supervised)s) == 0",
     "A runit tree is not running.",
     "No service of the tree {{ $labels.tree }} on {{ $labels.instance }} is supervised: its "
     "runsvdir (runsvdir-LOGIN, for a user's tree) and every runsv are gone."),
    ("RunitMetricsStale", "warning", None,
     "time() - %(node_textfile_mtime_seconds|" + TEXTFILE_MATCHER + ")s > %(textfileStaleSeconds)d",
     "runit's metrics are stale.",
     "{{ $labels.file }} on {{ $labels.instance }} was last written more than "
     "%(textfileStaleSeconds)d seconds ago: runit-provision metrics stopped, and what the "
     "other alerts see is old."),
    ("RunitDataInvalid", "warning", None, "%(runit_data_valid)s == 0",
     "runit-provision cannot read a host's data.",
     "runit-provision metrics on {{ $labels.instance }} could not read the data: every "
     "service is exported as declared=\"false\", and declared ones that are missing are "
     "not seen."),
)
GROUP = "runit.alerts"


def prometheus_alerts(config):
    """``{"groups": [...]}``: Prometheus' rule file of the alerts, read through config's
    selector, with its thresholds and runbook pattern (mixin/config.py)."""
    return {"groups": [{"name": GROUP, "rules": [
        _alert(config, *alert) for alert in ALERTS]}]}


def _alert(config, name, severity, lasting, template, summary, description):
    rule = {"alert": name, "expr": expression(config, template)}
    if lasting is not None:
        rule["for"] = config[lasting]
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {
        "summary": summary, "description": description % config,
        "runbook_url": config["runbookURLPattern"] % name.lower()}
    return rule
