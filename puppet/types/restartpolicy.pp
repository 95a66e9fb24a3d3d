# @summary A give-up policy: stop restarting a service that keeps dying.
#
# runit-provision's runtime stops restarting a service that died `give_up_after` times within
# `within` seconds (default 60) — it wants it down, says why in `runit-provision status`, and
# starts it again on `sv up`. The C runit ignores it.
#
# @example
#   { 'give_up_after' => 10, 'within' => 60 }
type Runit::RestartPolicy = Struct[{
  give_up_after => Integer[1, 64],
  within        => Optional[Integer[1, 86400]],
}]
