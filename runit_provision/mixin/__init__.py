"""mixin: the monitoring mixin — Prometheus alerts, recording rules and Grafana dashboards over
``runit-provision metrics``' families, as the monitoring-mixins conventions shape them
(``prometheusAlerts``, ``prometheusRules``, ``grafanaDashboards``, a ``_config`` of the
selector and thresholds). Pure: a config in, plain dicts out — ``cli/metrics.py`` writes them as
``alerts.yaml``, ``rules.yaml`` and ``dashboards/*.json`` (docs/monitoring.md), the repository
keeps them under ``monitoring/``, so nobody needs jsonnet.
"""
