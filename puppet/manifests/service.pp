# @summary A service declared in a manifest: its data joins the node's runit data; notifying it restarts the service.
#
# A service declared in a manifest: its data joins the node's runit data (deep-merged over
# hiera's service of the same name), and `notify => Runit::Service[NAME]` restarts it.
#
# Each parameter is a key of the data format's service (Runit::ServiceSpec), with the same meaning
# as in hiera. The service's data is written to `service-NAME.yaml` in the data directory;
# `runit-provision apply` converges it with the rest of the node's data in the same run. A
# declaration that goes away removes the data, not the service: to remove the service, declare
# it `ensure => absent` (runit-provision stops, unlinks and removes it).
#
# @example
#   runit::service { 'worker':
#     command => ['/usr/local/bin/worker', '--queue', 'default'],
#     user    => 'app',
#     env     => { 'QUEUE_URL' => 'redis://127.0.0.1:6379/0' },
#     log     => { 'timestamps' => 'iso', 'num' => 20 },
#   }
#   file { '/etc/worker.conf':
#     content => $worker_conf,
#     notify  => Runit::Service['worker'],   # restarted after the change (if it runs)
#   }
#
# @param command A command (argv), rendered as `exec chpst … COMMAND`. One of command, run.
# @param run A whole run script instead of command.
# @param user chpst -u: the user the command runs as.
# @param group chpst -u USER:GROUP.
# @param owner Put the service into this login's tree (one of the data's users).
# @param env `env/NAME` files, read by chpst -e (undef: the variable is unset).
# @param cwd The working directory.
# @param umask A quoted octal umask ('0027').
# @param nice chpst -n.
# @param limits chpst's resource limits (Runit::Limits).
# @param finish The finish script.
# @param check A readiness check (Runit::Check).
# @param control letter => script (`control/LETTER`).
# @param down `true`: a `down` file (not started automatically).
# @param enabled `false`: built in sv_dir, not linked into service_dir.
# @param ensure `absent`: stopped, unlinked and removed.
# @param restart_on_change `false`: no restart when what it reads at its start changes (run, env, conf, sandbox, ready).
# @param restart A give-up policy (`give_up_after` deaths `within` seconds: no more restarts
#   until `sv up`; our runtime only) and a restart back-off (`delay`, `max_delay`, `steps`,
#   `jitter`, `reset_after`: each restart of a crash loop waits longer; both runits).
# @param needs Services that must be up first (a bounded `sv -w T start` guard in run).
# @param log `false`, or the logger's settings (Runit::Log).
# @param template A user template for run (relative to the data directory: `templates/NAME`,
#   see runit::config::templates).
# @param adopt `true`: manage it even where a package installed the directory (Debian's
#   runit-helper marks it with `.meta/`); left alone otherwise.
# @param conf The file its run script sources (`[ -r conf ] && . ./conf`), byte for byte: a
#   string (0644), or `{ content, mode }`.
# @param files Other files of the service directory, by relative path: a string or
#   `{ content, mode }`.
# @param links Entries that are symbolic links, by relative path, to their target
#   (`{ 'run' => '/etc/sv/agetty-generic/run' }`: an instance of a generic service).
# @param ready `notify`: the service says when it is ready (sd_notify `READY=1`), and `needs`
#   and `sv -w start` wait for it (Runit::Readiness).
# @param ready_timeout With `ready: notify`: not ready within this many seconds is a failed
#   start (TERM, restarted, counted).
# @param watchdog With `ready: notify`: a service that sends no `WATCHDOG=1` for this many
#   seconds is killed (ABRT) and restarted, counted as a death (`WATCHDOG_USEC` is set).
# @param oneshot `true`: work that runs to its end and stays done (started at boot unless
#   `down`, not restarted; `done` or `failed` in status, the fact and verify: docs/jobs.md).
# @param rerun_on_change With `oneshot`: runit-provision runs it again when run or env change
#   (by default a one-shot that is done stays done).
# @param timer The data's `schedule` (named otherwise here: `schedule` is a Puppet metaparameter,
#   which a parameter of that name would hand down to the data file's resource as the name of a
#   `schedule` resource, failing the run). A timer: each elapse of this schedule runs the
#   service's `command` or `run` once, as a one-shot run — systemd's calendar expression
#   (`*:0/15`, `Mon..Fri 02:30`, `daily`) or cron's five fields (`30 2 * * *`); checked by
#   runit-provision (docs/jobs.md).
# @param persistent With `timer`: an elapse missed while the host or the tree was down
#   runs once at start (systemd's `Persistent=`).
# @param jitter With `timer`: each run starts up to this many seconds after its elapse, at
#   random (systemd's `RandomizedDelaySec=`).
# @param time_limit With `timer`: a run still going after this many seconds is sent TERM,
#   then KILL 10 s later, and recorded failed.
# @param resources The service's cgroup limits (Runit::Resources: memory, tasks, CPU, I/O;
#   docs/resources.md); the host's cgroup v2 must have the controllers they need.
# @param stop `group` (the default): a stop ends every process of the service's cgroup;
#   `main`: runit's own, only the main process is signalled.
# @param sandbox The service hardened as systemd's are (Runit::Sandbox: no new privileges,
#   capabilities, a private /tmp, a read-only system; docs/sandbox.md): `./run` execs
#   `sandbox-run`, which switches to `user` itself. Not with `template` or `links.run`.
define runit::service (
  Optional[Runit::Command] $command = undef,
  Optional[String[1]] $run = undef,
  Optional[Runit::Login] $user = undef,
  Optional[Runit::Login] $group = undef,
  Optional[Runit::Login] $owner = undef,
  Optional[Runit::Env] $env = undef,
  Optional[Stdlib::Unixpath] $cwd = undef,
  Optional[Runit::Umask] $umask = undef,
  Optional[Integer[-20, 19]] $nice = undef,
  Optional[Runit::Limits] $limits = undef,
  Optional[String[1]] $finish = undef,
  Optional[Runit::Check] $check = undef,
  Optional[Runit::ControlLetters] $control = undef,
  Optional[Boolean] $down = undef,
  Optional[Boolean] $enabled = undef,
  Optional[Enum['present', 'absent']] $ensure = undef,
  Optional[Boolean] $restart_on_change = undef,
  Optional[Runit::RestartPolicy] $restart = undef,
  Optional[Array[Runit::Servicename]] $needs = undef,
  Optional[Runit::Log] $log = undef,
  Optional[String[1]] $template = undef,
  Optional[Boolean] $adopt = undef,
  Optional[Variant[String, Struct[{ content => String, Optional[mode] => Pattern[/\A0?[0-7]{3}\z/] }]]] $conf = undef,
  Optional[Hash[String[1], Variant[String, Struct[{ content => String, Optional[mode] => Pattern[/\A0?[0-7]{3}\z/] }]]]] $files = undef,
  Optional[Hash[String[1], String[1]]] $links = undef,
  Optional[Runit::Readiness] $ready = undef,
  Optional[Integer[1, 86400]] $ready_timeout = undef,
  Optional[Integer[1, 86400]] $watchdog = undef,
  Optional[Boolean] $oneshot = undef,
  Optional[Boolean] $rerun_on_change = undef,
  Optional[String[1]] $timer = undef,
  Optional[Boolean] $persistent = undef,
  Optional[Variant[Integer[0, 31622400], Float[0.0, 31622400.0]]] $jitter = undef,
  Optional[Variant[Integer[1, 31622400], Float[0.001, 31622400.0]]] $time_limit = undef,
  Optional[Runit::Resources] $resources = undef,
  Optional[Enum['group', 'main']] $stop = undef,
  Optional[Runit::Sandbox] $sandbox = undef,
) {
  assert_type(Runit::Servicename, $title) |$expected, $actual| {
    fail("runit::service[${title}]: not a service name (one path component: letters, digits, _@%+,=: then also . and -)")
  }
  include runit

  $values = {
    'command'           => $command,
    'run'               => $run,
    'user'              => $user,
    'group'             => $group,
    'owner'             => $owner,
    'env'               => $env,
    'cwd'               => $cwd,
    'umask'             => $umask,
    'nice'              => $nice,
    'limits'            => $limits,
    'finish'            => $finish,
    'check'             => $check,
    'control'           => $control,
    'down'              => $down,
    'enabled'           => $enabled,
    'ensure'            => $ensure,
    'restart_on_change' => $restart_on_change,
    'restart'           => $restart,
    'needs'             => $needs,
    'log'               => $log,
    'template'          => $template,
    'adopt'             => $adopt,
    'conf'              => $conf,
    'files'             => $files,
    'links'             => $links,
    'ready'             => $ready,
    'ready_timeout'     => $ready_timeout,
    'watchdog'          => $watchdog,
    'oneshot'           => $oneshot,
    'rerun_on_change'   => $rerun_on_change,
    'schedule'          => $timer,
    'persistent'        => $persistent,
    'jitter'            => $jitter,
    'time_limit'        => $time_limit,
    'resources'         => $resources,
    'stop'              => $stop,
    'sandbox'           => $sandbox,
  }.filter |$key, $value| { $value =~ NotUndef }
  $data = runit::escape({ 'runit::services' => { $title => $values } })

  file { "${runit::config::staged_dir}/service-${title}.yaml":
    ensure    => file,
    owner     => 'root',
    group     => 'root',
    mode      => '0600',
    show_diff => false,  # env values may be secrets
    content   => "# Written by Puppet: runit::service[${title}]\n${runit::to_yaml($data)}",
    notify    => Exec['runit-provision apply'],
  }

  if $ensure != 'absent' {
    runit::restart { $title:
      owner => $owner,
    }
  }
}
