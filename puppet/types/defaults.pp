# @summary runit::defaults: keys merged under every service (a service's own keys win).
#
# `runit::defaults`: keys merged under every service (a service's own keys win; `env`, `limits`,
# `resources`, `sandbox`, `control` and `log` hashes are merged key by key).
#
# Every key of Runit::ServiceSpec but those that belong to one service: `command`, `run`,
# `needs`, `template`, `owner`, `schedule`. A timer's `persistent`, `jitter` and
# `time_limit` given here are dropped for the services without a `schedule`.
#
# @example
#   { 'umask' => '0022', 'log' => { 'timestamps' => 'tai64n', 'size' => 1000000, 'num' => 10 } }
type Runit::Defaults = Struct[{
  user              => Optional[Runit::Login],
  group             => Optional[Runit::Login],
  env               => Optional[Runit::Env],
  cwd               => Optional[Stdlib::Unixpath],
  umask             => Optional[Runit::Umask],
  nice              => Optional[Integer[-20, 19]],
  limits            => Optional[Runit::Limits],
  finish            => Optional[String[1]],
  check             => Optional[Runit::Check],
  control           => Optional[Runit::ControlLetters],
  down              => Optional[Boolean],
  enabled           => Optional[Boolean],
  ensure            => Optional[Enum['present', 'absent']],
  restart_on_change => Optional[Boolean],
  restart           => Optional[Runit::RestartPolicy],
  log               => Optional[Runit::Log],
  adopt             => Optional[Boolean],
  conf              => Optional[Variant[String, Struct[{ content => String, Optional[mode] => Pattern[/\A0?[0-7]{3}\z/] }]]],
  files             => Optional[Hash[String[1], Variant[String, Struct[{ content => String, Optional[mode] => Pattern[/\A0?[0-7]{3}\z/] }]]]],
  links             => Optional[Hash[String[1], String[1]]],
  ready             => Optional[Runit::Readiness],
  ready_timeout     => Optional[Integer[1, 86400]],
  watchdog          => Optional[Integer[1, 86400]],
  oneshot           => Optional[Boolean],
  rerun_on_change   => Optional[Boolean],
  persistent        => Optional[Boolean],
  jitter            => Optional[Variant[Integer[0, 31622400], Float[0.0, 31622400.0]]],
  time_limit        => Optional[Variant[Integer[1, 31622400], Float[0.001, 31622400.0]]],
  resources         => Optional[Runit::Resources],
  stop              => Optional[Enum['group', 'main']],
  sandbox           => Optional[Runit::Sandbox],
}]
