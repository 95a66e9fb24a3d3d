"""cli: ``runit-provision mixin`` — the monitoring mixin's files (runit_provision/mixin/:
alerts, recording rules, dashboards) written under a directory, or compared with it
(docs/monitoring.md). The thresholds and the selector come from the defaults, with a YAML
file's overrides."""

import argparse
import os
import sys

from ..shown import prefixed_lines, shown_text

EXIT_OK, EXIT_ERROR = 0, 1
ALERTS, RULES, DASHBOARDS = "alerts.yaml", "rules.yaml", "dashboards"
LIBSONNET = "mixin.libsonnet"
# the mixin for jsonnet-bundler users: the files above, read (std.parseYaml: jsonnet 0.18+)
LIBSONNET_TEXT = """\
// The runit mixin (docs/monitoring.md) for jsonnet-bundler users: prometheusAlerts,
// prometheusRules and grafanaDashboards, read from the files runit-provision mixin wrote
// beside this one. Thresholds and the selector are not jsonnet here: to change them, run
// `runit-provision mixin --config FILE --out DIR` and vendor DIR.
{
  prometheusAlerts+:: std.parseYaml(importstr '%s'),
  prometheusRules+:: std.parseYaml(importstr '%s'),
  grafanaDashboards+:: {%s
  },
}
"""
HEADER = ("# Made by runit-provision mixin (docs/monitoring.md): to change a threshold or the "
          "selector,\n# run it again with --config FILE rather than editing this file.\n")

DESCRIPTION = """\
Prometheus alerts (DIR/%s), recording rules (DIR/%s), Grafana dashboards
(DIR/%s/NAME.json) and DIR/%s (the same for jsonnet-bundler) over the families runit-provision metrics writes, made with the
defaults or with --config FILE's overrides (a YAML mapping: runitSelector,
restartsPerHourThreshold, ...; docs/monitoring.md). --check DIR writes nothing and exits 1
naming each file that differs from what would be written there.
""" % (ALERTS, RULES, DASHBOARDS, LIBSONNET)


def add_parser(sub):
    parser = sub.add_parser(
        "mixin", help="write the monitoring mixin: Prometheus alerts and rules, Grafana "
                      "dashboards", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE",
                        help="a YAML mapping of the settings to change (docs/monitoring.md)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="DIR", help="write the files under DIR")
    where.add_argument("--check", metavar="DIR",
                       help="write nothing; exit 1 naming each file under DIR that differs")
    return parser


def run(args):
    try:
        files = artefacts(_config(args.config))
        if args.check is not None:
            differing = differences(args.check, files)
            for path in differing:
                sys.stderr.write("runit-provision mixin: %s: differs from what it would "
                                 "write\n" % shown_text(path))
            return EXIT_ERROR if differing else EXIT_OK
        _write(args.out, files)
    except BrokenPipeError:
        raise  # a closed output: cli/main's rule
    except (ValueError, OSError) as exc:  # a config (mixin.config.ConfigError), a file
        sys.stderr.write(prefixed_lines("runit-provision mixin: ", shown_text(
            "%s: %s" % (exc.filename, exc.strerror)
            if isinstance(exc, OSError) and exc.filename else str(exc))))
        return EXIT_ERROR
    return EXIT_OK


def artefacts(config):
    """``{relative path: text}``: every file of the mixin made with ``config``, in a stable
    order (the dicts' own), so the committed files change only when what they say does."""
    import json

    import yaml

    from ..mixin.alerts import prometheus_alerts
    from ..mixin.dashboards import grafana_dashboards
    from ..mixin.rules import prometheus_rules

    def rule_file(data):
        return HEADER + yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)
    files = {ALERTS: rule_file(prometheus_alerts(config)),
             RULES: rule_file(prometheus_rules(config))}
    files.update((DASHBOARDS + "/" + name, json.dumps(board, indent=2) + "\n")
                 for name, board in grafana_dashboards(config).items())
    boards = [name for name in files if name.startswith(DASHBOARDS + "/")]
    files[LIBSONNET] = LIBSONNET_TEXT % (ALERTS, RULES, "".join(
        "\n    '%s': import '%s'," % (name[len(DASHBOARDS) + 1:], name) for name in boards))
    return files


def differences(directory, files):
    """The paths under ``directory`` that differ from ``files``: missing, other content, or
    a dashboard that would not be written."""
    found = []
    for name, text in files.items():
        path = os.path.join(directory, name)
        try:
            with open(path, encoding="utf-8") as handle:
                same = handle.read() == text
        except FileNotFoundError:
            same = False
        if not same:
            found.append(path)
    boards = os.path.join(directory, DASHBOARDS)
    if os.path.isdir(boards):
        found += sorted(os.path.join(boards, name) for name in os.listdir(boards)
                        if name.endswith(".json") and DASHBOARDS + "/" + name not in files)
    return found


def _config(path):
    """The mixin's config: the defaults, with the YAML mapping at ``path`` over them."""
    from ..mixin.config import config_with

    if path is None:
        return config_with()
    import yaml

    with open(path, encoding="utf-8") as handle:
        try:
            overrides = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise ValueError("%s: not YAML: %s" % (path, exc)) from exc
    if overrides is not None and not isinstance(overrides, dict):
        raise ValueError("%s: expected a mapping of settings" % path)
    try:
        return config_with(overrides)
    except ValueError as exc:
        raise ValueError("%s: %s" % (path, exc)) from exc


def _write(directory, files):
    """Each file under ``directory`` written whole (a new file renamed over the old)."""
    from .metrics import write_atomically

    for name, text in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(os.path.dirname(path), os.path.basename(path), text.encode("utf-8"))
