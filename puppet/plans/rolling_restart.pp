# @summary Restarts named services on many nodes in batches, and stops at the first batch that is not healthy.
#
# Restarts named services on many nodes in batches, and stops at the first batch that is not
# healthy. Each batch: `runit::sv` with `action => restart` (sv -w: each restart waits until
# the service is up, or fails the batch), then, after `settle` seconds, `runit::status` of the
# same services on the same nodes. A batch where a restart failed or a service is not running
# as wanted ends the plan (`runit/unhealthy-batch`, naming the nodes); the batches after it
# are not touched.
#
# @example Restart web on every node of a role, two at a time
#   bolt plan run runit::rolling_restart targets=web_role names='["web"]' batch_size=2
#
# @param targets
#   The nodes, in the order their batches go.
# @param names
#   The services, as the data names them (`web`, `alice/notes`, `runsvdir-alice`).
# @param batch_size
#   How many nodes are restarted at once.
# @param settle
#   Seconds to wait after a batch's restart before its health is read (a service that dies
#   at once after starting is then seen down).
# @param hiera
#   The nodes' hiera.yaml (default: the CLI's, which class runit writes).
# @param cli
#   The runit-provision command on the nodes (default: runit::install's virtualenv).
plan runit::rolling_restart (
  TargetSpec $targets,
  Array[String[1], 1] $names,
  Integer[1] $batch_size = 1,
  Integer[0] $settle = 5,
  Optional[String[1]] $hiera = undef,
  Optional[String[1]] $cli = undef,
) {
  $nodes = get_targets($targets)
  $batches = $nodes.slice($batch_size)
  $given = { 'names' => $names, 'hiera' => $hiera, 'cli' => $cli }.filter |$key, $value| { $value =~ NotUndef }

  $batches.each |$index, $batch| {
    $number = $index + 1
    out::message("runit::rolling_restart: batch ${number} of ${batches.length}: ${batch.map |$node| { $node.name }.join(', ')}")
    $restarted = run_task('runit::sv', $batch, $given + { 'action' => 'restart', '_catch_errors' => true })
    ctrl::sleep($settle)
    $health = run_task('runit::status', $batch, $given + { '_catch_errors' => true })
    $failed = $restarted.error_set.targets + $health.filter |$result| {
      !$result.ok or !$result.value['healthy']
    }.map |$result| { $result.target }
    unless $failed.empty {
      $unhealthy = $failed.map |$node| { $node.name }.unique
      fail_plan("batch ${number} is not healthy after the restart: ${unhealthy.join(', ')}; the batches after it were not restarted",
        'runit/unhealthy-batch', {
          'batch'     => $number,
          'unhealthy' => $unhealthy,
          'restarted' => $batches[0, $index].flatten.map |$node| { $node.name },
      })
    }
  }
  return({ 'restarted' => $nodes.map |$node| { $node.name }, 'batches' => $batches.length })
}
