# @summary One service of the data format, every key runit-provision reads, typed.
#
# One service of the data format (`runit::services`, a user's `services`, `runit::service`): the
# keys runit-provision reads, each typed.
#
# Puppet checks the shape here; runit-provision checks the rest (exactly one of `command`
# and `run`, `needs` cycles, values that would need shell) and names the line and column of
# the data file it was given.
#
# A `schedule` makes the service a timer (each elapse runs it once: docs/jobs.md), with
# `persistent`, `jitter` and `time_limit` beside it; runit-provision checks the schedule's
# grammar.
#
# @example
#   {
#     'command' => '/usr/local/bin/web --port 8080',
#     'user'    => 'www-data',
#     'env'     => { 'PORT' => '8080' },
#     'check'   => { 'http' => 'http://127.0.0.1:8080/health' },
#     'log'     => { 'timestamps' => 'iso', 'num' => 20 },
#   }
# @example A timer
#   { 'command' => '/usr/local/bin/purge-cache', 'schedule' => '*:0/15', 'jitter' => 30 }
type Runit::ServiceSpec = Struct[{
  command           => Optional[Runit::Command],
  run               => Optional[String[1]],
  user              => Optional[Runit::Login],
  group             => Optional[Runit::Login],
  owner             => Optional[Runit::Login],
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
  needs             => Optional[Array[Runit::Servicename]],
  log               => Optional[Runit::Log],
  template          => Optional[String[1]],
  adopt             => Optional[Boolean],
  conf              => Optional[Variant[String, Struct[{ content => String, Optional[mode] => Pattern[/\A0?[0-7]{3}\z/] }]]],
  files             => Optional[Hash[String[1], Variant[String, Struct[{ content => String, Optional[mode] => Pattern[/\A0?[0-7]{3}\z/] }]]]],
  links             => Optional[Hash[String[1], String[1]]],
  ready             => Optional[Runit::Readiness],
  ready_timeout     => Optional[Integer[1, 86400]],
  watchdog          => Optional[Integer[1, 86400]],
  oneshot           => Optional[Boolean],
  rerun_on_change   => Optional[Boolean],
  schedule          => Optional[String[1]],
  persistent        => Optional[Boolean],
  jitter            => Optional[Variant[Integer[0, 31622400], Float[0.0, 31622400.0]]],
  time_limit        => Optional[Variant[Integer[1, 31622400], Float[0.001, 31622400.0]]],
  resources         => Optional[Runit::Resources],
  stop              => Optional[Enum['group', 'main']],
  sandbox           => Optional[Runit::Sandbox],
}]
