# @summary A restart handle: notify it and the service restarts (runit-provision restart --if-running NAME).
#
# A restart handle: notify it and the service is restarted, like Chef's notifiable
# `runit_service`. The module computes no runit path: it names the service, and
# `runit-provision restart --if-running NAME` finds it in the node's data (its directory, the
# runtime's `sv`, the data's `sv_timeout`) and runs `sv -w TIMEOUT try-restart` on it.
#
# `runit::service` declares one for its service; declare one yourself for a service that comes
# from hiera data. The restart runs after `runit-provision apply` in the same Puppet run, only
# when notified (`refreshonly`), and only if the service is running (`try-restart`: a service
# that is down, or normally down, is left down). A user's service is restarted as that user
# (the CLI drops to the user for `sv`). Under a staging root nothing runs.
#
# @example Restart web when its configuration file changes
#   runit::restart { 'web': }
#   file { '/etc/web/web.conf':
#     content => $config,
#     notify  => Runit::Restart['web'],
#   }
#
# @example A service in alice's tree
#   runit::restart { 'alice/notebook':
#     service => 'notebook',
#     owner   => 'alice',
#   }
#
# @param service
#   The service's name in the data. Default: the title.
# @param owner
#   The login whose tree the service is in (`owner:` in the data, or `users.LOGIN.services`);
#   undef for the system tree.
# @param timeout
#   `sv -w`: seconds to wait for the service to be up again. Default: the data's `sv_timeout`
#   (the CLI reads it), else 7.
define runit::restart (
  Runit::Servicename $service = $title,
  Optional[Runit::Login] $owner = undef,
  Optional[Integer[1, 3600]] $timeout = undef,
) {
  include runit

  if $runit::config::root =~ Undef {
    $name_in_data = $owner ? {
      undef   => $service,
      default => "${owner}/${service}",
    }
    $wait = $timeout ? {
      undef   => [],
      default => ['--timeout', String($timeout)],
    }
    exec { "runit::restart ${title}":
      command     => [$runit::install::cli, 'restart', '--if-running', '--hiera',
        $runit::config::hiera_yaml] + $wait + [$name_in_data],
      refreshonly => true,
      logoutput   => true,
      require     => Exec['runit-provision apply'],
    }
  }
}
