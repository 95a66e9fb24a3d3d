// The runit mixin (docs/monitoring.md) for jsonnet-bundler users: prometheusAlerts,
// prometheusRules and grafanaDashboards, read from the files runit-provision mixin wrote
// beside this one. Thresholds and the selector are not jsonnet here: to change them, run
// `runit-provision mixin --config FILE --out DIR` and vendor DIR.
{
  prometheusAlerts+:: std.parseYaml(importstr 'alerts.yaml'),
  prometheusRules+:: std.parseYaml(importstr 'rules.yaml'),
  grafanaDashboards+:: {
    'runit-fleet.json': import 'dashboards/runit-fleet.json',
    'runit-host.json': import 'dashboards/runit-host.json',
  },
}
