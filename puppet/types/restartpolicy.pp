# @summary What runit-provision's runtime does when a service keeps dying: give up, and wait.
#
# runit-provision's runtime stops restarting a service that died `give_up_after` times within
# `within` seconds (default 60) — it wants it down, says why in `runit-provision status`, and
# starts it again on `sv up`. The C runit ignores that part.
#
# Restart back-off (docs/restart.md), under both runits: each restart of a crash loop waits
# `delay` seconds, growing to `max_delay` in `steps` steps (systemd 254's `RestartSec=`,
# `RestartMaxDelaySec=`, `RestartSteps=`), plus up to `jitter` seconds at random; a run that
# stays up `reset_after` seconds (default 60) begins a new series.
#
# @example
#   { 'give_up_after' => 10, 'within' => 60 }
# @example
#   { 'delay' => 1, 'max_delay' => 60, 'steps' => 6, 'jitter' => 2 }
type Runit::RestartPolicy = Struct[{
  give_up_after => Optional[Integer[1, 64]],
  within        => Optional[Integer[1, 86400]],
  delay         => Optional[Variant[Integer[0, 86400], Float[0.0, 86400.0]]],
  max_delay     => Optional[Variant[Integer[0, 86400], Float[0.0, 86400.0]]],
  steps         => Optional[Integer[1, 64]],
  jitter        => Optional[Variant[Integer[0, 86400], Float[0.0, 86400.0]]],
  reset_after   => Optional[Variant[Integer[1, 86400], Float[1.0, 86400.0]]],
}]
