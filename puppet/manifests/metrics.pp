# @summary Keeps node_exporter's textfile of runit metrics fresh: a runit service of its own.
#
# Declares the runit service `runit-metrics` (through `runit::service`, so it is converged
# with the rest of the node's data): a loop that runs `runit-provision metrics --textfile DIR`
# every `interval` seconds against this node's data, so node_exporter's textfile collector
# serves `runit_service_up`, `runit_service_deaths_total`, `runit_service_crash_looping`, … for
# every declared service. Opt-in: nothing is written until the class is declared. It runs as
# root (users' trees are read as root reads them, never followed into) and logs through the
# stock svlogd to `log_dir/runit-metrics`.
#
# @example node_exporter's Debian default directory
#   include runit::metrics
#
# @example Another directory, every 15 seconds
#   class { 'runit::metrics':
#     textfile_dir => '/srv/node-exporter/textfile',
#     interval     => 15,
#   }
#
# @param textfile_dir
#   The directory node_exporter's textfile collector reads
#   (`--collector.textfile.directory`); `runit.prom` is replaced there atomically.
# @param interval
#   Seconds between two writes.
class runit::metrics (
  Stdlib::Unixpath $textfile_dir = '/var/lib/prometheus/node-exporter',
  Integer[1, 3600] $interval = 30,
) {
  include runit
  $words = [$runit::install::cli, 'metrics', '--textfile', $textfile_dir] + $runit::apply::data_args
  $command = $words.map |$word| { runit::shell_escape($word) }.join(' ')
  runit::service { 'runit-metrics':
    run => "while :; do ${command} || echo 'runit-metrics: metrics failed'; sleep ${interval}; done\n",
  }
}
