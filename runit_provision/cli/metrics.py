"""cli: ``runit-provision metrics`` — what ``status`` reads, as Prometheus metrics
(health/metrics.py), on standard output or written atomically for node_exporter's textfile
collector (docs/failures.md). Data that cannot be read does not stop it: what is supervised
is exported as ``status`` lists it then, with ``runit_data_valid 0``, and it exits 1.

And ``runit-provision mixin`` — what reads those metrics: the monitoring mixin's files
(runit_provision/mixin/: alerts, recording rules, dashboards) written under a directory, or
compared with it (docs/monitoring.md), with the defaults or a YAML file's overrides."""

import argparse
import json
import os
import sys

from ..errors import ProvisionError
from ..shown import prefixed_lines, shown_text
from .arguments import ACCOUNTS_HELP, add_name_arguments

EXIT_OK, EXIT_ERROR = 0, 1
TEXTFILE = "runit.prom"

DESCRIPTION = """\
Every declared service (system and users'), and every other one linked in their service
directories, as Prometheus metrics (runit_service_*, runit_service_log_*; labels service, tree
and declared; runit_service_as_wanted: status's verdict, 0 where status exits 3), on standard
output, or written atomically to DIR/%s for node_exporter's textfile collector.
runit_data_valid is 1 when the data was read; 0 when it cannot be: then what is supervised is
still exported (in /etc/service), every service declared="false", the error is said and the
exit code is 1.
""" % TEXTFILE


def add_parser(sub):
    _add_metrics_parser(sub)
    _add_mixin_parser(sub)


def run(args):
    return (_run_metrics if args.command == "metrics" else _run_mixin)(args)


def _add_metrics_parser(sub):
    from .inputs import add_input_arguments

    parser = sub.add_parser(
        "metrics", help="every supervised service's state and deaths as Prometheus metrics",
        description=DESCRIPTION, epilog=ACCOUNTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser, root_help="read the trees under DIR (users from "
                                          "DIR/etc/passwd)")
    add_name_arguments(parser)
    parser.add_argument("--textfile", metavar="DIR",
                        help="write DIR/%s (a new file renamed over the old: the collector "
                             "never reads half of one)" % TEXTFILE)
    return parser


def _run_metrics(args):
    from ..apply.fsroot import write_atomic
    from ..health.metrics import data_valid, exposition
    from .inputs import config_or_unread
    from .status import read_rows, unread_line, unread_lines

    try:
        config, data_unread = config_or_unread(args)
        if data_unread is not None:  # said first; what runs is still measured
            sys.stderr.write(unread_lines("metrics", data_unread))
        rows = read_rows(args, config, data_unread)
        text = exposition(rows) + data_valid(data_unread is None)
        for item in rows.unread:  # nothing to measure there: said, not hidden
            sys.stderr.write("runit-provision metrics: %s\n" % unread_line(item))
        if args.textfile:
            write_atomic(os.path.join(args.textfile, TEXTFILE), text.encode("utf-8"), 0o644)
        else:
            sys.stdout.write(text)
    except BrokenPipeError:
        raise  # a closed output: cli/main's rule
    except (ProvisionError, OSError) as exc:
        sys.stderr.write(prefixed_lines("runit-provision metrics: ", shown_text(
            "%s: %s" % (exc.filename, exc.strerror)
            if isinstance(exc, OSError) and exc.filename else str(exc))))
        return EXIT_ERROR
    return EXIT_OK if data_unread is None else EXIT_ERROR


# -- mixin -------------------------------------------------------------------------------------
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

MIXIN_DESCRIPTION = """\
Prometheus alerts (DIR/%s), recording rules (DIR/%s), Grafana dashboards
(DIR/%s/NAME.json) and DIR/%s (the same for jsonnet-bundler) over the
families runit-provision metrics writes, made with the defaults or with --config FILE's
overrides (a YAML mapping: runitSelector, restartsPerHourThreshold, ...; docs/monitoring.md).
--check DIR writes nothing and exits 1 naming each file that differs from what it would write.
""" % (ALERTS, RULES, DASHBOARDS, LIBSONNET)


def _add_mixin_parser(sub):
    parser = sub.add_parser(
        "mixin", help="write the monitoring mixin: Prometheus alerts and rules, Grafana "
                      "dashboards", description=MIXIN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="FILE",
                        help="a YAML mapping of the settings to change (docs/monitoring.md)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="DIR", help="write the files under DIR")
    where.add_argument("--check", metavar="DIR",
                       help="write nothing; exit 1 naming each file under DIR that differs")
    return parser


def _run_mixin(args):
    try:
        config = _config(args.config)
        files = artefacts(config)
        if args.check is not None:
            differing = differences(args.check, files)
            for path in differing:
                sys.stderr.write("runit-provision mixin: %s: differs from what it would "
                                 "write\n" % shown_text(path))
            if not differing:
                sys.stdout.write("%d files under %s are what it would write.\n" % (
                    len(files), shown_text(args.check)))
            return EXIT_ERROR if differing else EXIT_OK
        _write(args.out, files)
        sys.stdout.write(written_text(args.out, files, config, args.config))
    except BrokenPipeError:
        raise  # a closed output: cli/main's rule
    except (ValueError, OSError) as exc:  # a config (mixin.config.ConfigError), a file
        sys.stderr.write(prefixed_lines("runit-provision mixin: ", shown_text(
            "%s: %s" % (exc.filename, exc.strerror)
            if isinstance(exc, OSError) and exc.filename else str(exc))))
        return EXIT_ERROR
    return EXIT_OK


def written_text(directory, files, config, config_path):
    """What ``mixin --out`` says once it wrote ``files`` under ``directory``: each file, and
    the settings (``config``) that differ from the defaults, from ``config_path``."""
    from ..mixin.config import DEFAULTS

    changed = ["%s: %r" % (key, value) for key, value in config.items()
               if value != DEFAULTS[key]]
    settings = "the defaults" if not changed else "%s (from %s); the others the defaults" % (
        ", ".join(changed), config_path)
    return shown_text("Wrote %d files under %s: %s.\nSettings: %s.\n" % (
        len(files), directory, ", ".join(files), settings))


def artefacts(config):
    """``{relative path: text}``: every file of the mixin made with ``config``, in a stable
    order (the dicts' own), so the committed files change only when what they say does."""
    import yaml

    from ..mixin.alerts import prometheus_alerts
    from ..mixin.dashboards import grafana_dashboards
    from ..mixin.rules import prometheus_rules

    def rule_file(data):
        return HEADER + yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)
    files = {ALERTS: rule_file(prometheus_alerts(config)),
             RULES: rule_file(prometheus_rules(config))}
    for name, board in grafana_dashboards(config).items():
        files[DASHBOARDS + "/" + name] = json.dumps(board, indent=2, ensure_ascii=False) + "\n"
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
    from ..apply.fsroot import write_atomic

    for name, text in files.items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomic(path, text.encode("utf-8"), 0o644)
