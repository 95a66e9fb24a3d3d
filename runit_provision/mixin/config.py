"""mixin: ``_config`` — the selector every query carries and the thresholds, with the defaults
the committed artefacts are made from; an operator's file overrides any of them, and a
value that would make a rule Prometheus rejects is refused here, where its key is known."""

import re

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
    """An override that is not a key of DEFAULTS, of another type than its default, or a
    value that would make rules Prometheus rejects."""


def config_with(overrides=None):
    """DEFAULTS with ``overrides`` (a dict, e.g. read from the operator's YAML) merged over
    them; ConfigError naming each key that is unknown, of the wrong type, or whose value
    would make a rule Prometheus rejects (VALUE_CHECKS)."""
    config = dict(DEFAULTS)
    problems = []
    for key, value in (overrides or {}).items():
        why = _setting_problem(key, value)
        if why is None:
            config[key] = value
        else:
            problems.append("%s: %s" % (key, why))
    if problems:
        raise ConfigError("; ".join(problems))
    return config


def _setting_problem(key, value):
    """Why ``value`` cannot be the setting ``key``, or None."""
    if key not in DEFAULTS:
        return "unknown key (known: %s)" % ", ".join(DEFAULTS)
    if type(value) is not type(DEFAULTS[key]):
        return "expected %s, got %r" % (type(DEFAULTS[key]).__name__, value)
    why = VALUE_CHECKS[key](value) if key in VALUE_CHECKS else None
    return None if why is None else "%r %s" % (value, why)


def selected(config, metric, *matchers):
    """``metric`` with config's selector and ``matchers`` (``'kind="daemon"'`` each), as a
    PromQL series selector: every expression of the mixin reads its series through this.

    >>> selected(DEFAULTS, "runit_service_up")
    'runit_service_up{job="node"}'
    >>> selected(config_with({"runitSelector": ""}), "runit_service_kind", 'kind="daemon"')
    'runit_service_kind{kind="daemon"}'
    """
    return "%s{%s}" % (metric, ",".join(part for part in (config["runitSelector"].strip(),)
                                        + matchers if part))


# PromQL's label name and string literal (double-, single-quoted or raw): a matcher's parts
_LABEL = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)")
_OPERATOR = re.compile(r"\s*(=~|!~|!=|=)")
_STRING = re.compile(r"""\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`]*`)\s*""")
MATCHERS_FORM = 'name="value", joined by commas; operators =, !=, =~, !~'


def selector_problem(text):
    """Why ``text`` is not PromQL label matchers that a series selector can carry (the
    ``runitSelector``: empty, or ``name="value"`` joined by commas), or None.

    >>> selector_problem('job="node", env=~"prod|staging"') is None
    True
    >>> selector_problem("job=node")
    'is not PromQL label matchers: the value of job is not a quoted string (job="node")'
    >>> selector_problem('job="node",')
    'is not PromQL label matchers: it ends with a comma'
    >>> selector_problem('{job="node"}')
    'is not PromQL label matchers: no label name at column 1 (name="value", joined by \
commas; operators =, !=, =~, !~)'
    """
    position, why = 0, None
    while why is None and text[position:].strip():
        position, why = _after_matcher(text, position)
    return None if why is None else "is not PromQL label matchers: " + why


def _after_matcher(text, position):
    """``(where the next matcher starts, None)`` after the matcher of ``text`` at
    ``position``, or ``(position, why)`` when there is none there."""
    label = _LABEL.match(text, position)
    if label is None:
        return position, "no label name at column %d (%s)" % (position + 1, MATCHERS_FORM)
    name = label.group(1)
    operator = _OPERATOR.match(text, label.end())
    if operator is None:
        return position, "no operator (=, !=, =~, !~) after " + name
    value = _STRING.match(text, operator.end())
    if value is None:
        bare = text[operator.end():].split(",")[0].strip().strip("\"'`")
        return position, 'the value of %s is not a quoted string (%s%s"%s")' % (
            name, name, operator.group(1), bare)
    end = value.end()
    if end < len(text) and text[end] != ",":
        return position, "a comma expected at column %d (%s)" % (end + 1, MATCHERS_FORM)
    if end < len(text) and not text[end + 1:].strip():
        return position, "it ends with a comma"
    return end + 1, None


_DURATION = re.compile(r"(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?"
                       r"(?:[0-9]+s)?(?:[0-9]+ms)?")


def duration_problem(text):
    """Why ``text`` is not a Prometheus duration (``5m``, ``1h30m``), or None.

    >>> duration_problem("1h30m") is None, duration_problem("5 min")
    (True, 'is not a Prometheus duration (5m, 1h30m: units ms, s, m, h, d, w, y)')
    """
    if text and _DURATION.fullmatch(text):
        return None
    return "is not a Prometheus duration (5m, 1h30m: units ms, s, m, h, d, w, y)"


def url_pattern_problem(text):
    """Why ``text`` is not a pattern with one ``%s`` (the alert's anchor) and no other ``%``
    but ``%%``, or None.

    >>> url_pattern_problem("https://wiki.example/runit#%s") is None
    True
    >>> url_pattern_problem("https://wiki.example/runit")
    'has no %s where the anchor goes'
    """
    if text.replace("%%", "").count("%s") != 1:
        return "has no %s where the anchor goes" if "%s" not in text \
            else "has more than one %s"
    if "%" in text.replace("%%", "").replace("%s", ""):
        return "has a % that is not %s or %%"
    return None


# the settings whose value goes into a rule as it is: checked, so that every rule parses
VALUE_CHECKS = {"runitSelector": selector_problem, "serviceDownFor": duration_problem,
                "loggerDownFor": duration_problem, "runbookURLPattern": url_pattern_problem}
