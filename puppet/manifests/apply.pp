# @summary Runs runit-provision on the node: install-runtime, then apply, each only when its check says something would change.
#
# Runs runit-provision on the node: `install-runtime`, then `apply`, each only when its own
# check says something would change.
#
# `runit-provision apply` is one `exec`, subscribed to the data files and guarded by
# `runit-provision plan` (`unless`; plan exits 0 when nothing would change, 2 when something
# would, 1 on an error). So a Puppet run
#
# * reports a change only when the node differs from the data (a data change, or a file edited
#   by hand, which is put back);
# * shows what the CLI did, one line per path and restart (`logoutput`);
# * fails with the CLI's message when the data is bad (`FILE:LINE:COLUMN: key.path: problem`,
#   the file being the node's `data.yaml`) or a step fails;
# * under `--noop`, says what the plan would do: the exec's event is the plan's own lines
#   (`would apply: ~ /etc/sv/web/env/PORT (content); ↻ web: restart (env changed); Plan: …
#   (noop)`), each also logged on its own line — on a new node too, before runit-provision is
#   installed (a guard finds no CLI: the exec would run, and says only that);
# * in a real run, the event says what apply did (`applied: …`): the report, and PuppetDB's
#   events, say which paths changed and which services restarted, and why.
#
# The exec is the module's contract (`Exec['runit-provision apply']`, notified by
# `runit::service` and `runit::user`); its provider `runit_provision` is the posix provider,
# running the same commands the same way, whose events carry the CLI's lines (`show_plan`).
#
# The runtime (`runit-provision install-runtime`: the bundled runsvdir, sv, svlogd… and the link
# of runsvdir into init, as the data's `runtime` and `init` say) is converged first the same
# way, guarded by `install-runtime --check`.
#
# It also writes `status` into the data directory: `runit-provision status --fact` of this data
# (the values that stay the same while nothing changes), which the module's `runit_services`
# fact reports.
#
# @example Quieter agents, a longer wait for slow hosts
#   runit::apply::logoutput: on_failure
#   runit::apply::wait: 30
#
# @param manage_runtime
#   Run `runit-provision install-runtime` (`false`: the runtime or the host's runit is managed
#   otherwise).
#   Default (module data): `true`.
# @param profile_d
#   Where the SVDIR snippet for users' login shells goes (`none`: nowhere).
#   Default (module data): `/etc/profile.d`.
# @param wait
#   Seconds to wait for runsv to take up a newly linked service (`--wait`).
#   Default (module data): `15`.
# @param lock_timeout
#   Seconds to wait for another runit-provision apply to finish (`--lock-timeout`).
#   Default (module data): `60`.
# @param timeout
#   The execs' timeout, in seconds.
#   Default (module data): `600`.
# @param logoutput
#   Show the CLI's lines in the agent's output: `true`, `on_failure` or `false`.
#   Default (module data): `true`.
# @param manage_fact
#   Write the `status` command the `runit_services` fact runs.
#   Default (module data): `true`.
# @param show_plan
#   The apply exec's events say the CLI's lines — the plan's under `--noop`, apply's in a real
#   run — through the exec provider `runit_provision` (`false`: Puppet's posix provider, whose
#   events say only `executed successfully` and `current_value 'notrun', should be ['0']`).
#   Default (module data): `true`.
class runit::apply (
  Boolean $manage_runtime,
  Variant[Stdlib::Unixpath, Enum['none']] $profile_d,
  Numeric $wait,
  Numeric $lock_timeout,
  Integer[1] $timeout,
  Variant[Boolean, Enum['on_failure']] $logoutput,
  Boolean $manage_fact,
  Boolean $show_plan,
) {
  $cli = $runit::install::cli
  $root = $runit::config::root
  $data_files = [File[$runit::config::hiera_yaml], File[$runit::config::data_yaml]]
  $path = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

  $data_args = $root ? {
    undef   => ['--hiera', $runit::config::hiera_yaml],
    default => ['--hiera', $runit::config::hiera_yaml, '--root', $root],
  }
  # --brief: a new service directory is one line of the agent's output, not one per file.
  $job_args = $data_args + ['--brief', '--wait', String($wait), '--lock-timeout',
    String($lock_timeout), '--profile-d', $profile_d]

  # A guard runs the CLI only where it is installed. A noop run on a new node evaluates the
  # guards although runit::install's execs did not run: there a missing CLI is "would change"
  # (`test -x` exits 1: the exec is reported as pending, or runs and says what is missing), not
  # Puppet's "Could not find command", which failed the guard and skipped everything after it.
  $if_installed = ['/bin/sh', '-c', 'test -x "$0" && exec "$0" "$@"', $cli]

  if $manage_runtime {
    exec { 'runit-provision install-runtime':
      command   => [$cli, 'install-runtime'] + $data_args,
      unless    => [$if_installed + ['install-runtime', '--check'] + $data_args],
      path      => $path,
      logoutput => $logoutput,
      timeout   => $timeout,
      subscribe => $data_files,
      before    => Exec['runit-provision apply'],
    }
  }

  $provider = $show_plan ? {
    true    => 'runit_provision',
    default => 'posix',
  }
  exec { 'runit-provision apply':
    command   => [$cli, 'apply'] + $job_args,
    unless    => [$if_installed + ['plan'] + $job_args],
    path      => $path,
    logoutput => $logoutput,
    timeout   => $timeout,
    subscribe => $data_files,
    provider  => $provider,
  }

  if $manage_fact {
    $words = [$cli, 'status', '--fact'] + $data_args
    $status = @("STATUS"/$)
      #!/bin/sh
      # Written by Puppet (class runit): runit-provision status of the services this node's
      # data declares, as JSON (the module's runit_services fact runs it).
      exec ${words.map |$word| { runit::shell_escape($word) }.join(' ')} "\$@"
      | STATUS
    file { "${runit::config::staged_dir}/status":
      ensure  => file,
      owner   => 'root',
      group   => 'root',
      mode    => '0700',
      content => $status,
    }
  }
}
