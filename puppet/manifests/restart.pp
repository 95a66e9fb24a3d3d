# @summary A restart handle: notify it and the service restarts (sv -w T try-restart), like Chef's notifiable runit_service.
#
# A restart handle: notify it and the service is restarted (`sv -w T try-restart`), like Chef's
# notifiable `runit_service`.
#
# `runit::service` declares one for its service; declare one yourself for a service that comes
# from hiera data. The restart runs after `runit-provision apply` in the same Puppet run, only
# when notified (`refreshonly`), and only if the service is running (`try-restart`: a service
# that is down, or normally down, is left down). A user's service is restarted as that user.
# Under a staging root nothing runs.
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
#   The service's name (its directory in the service directory). Default: the title.
# @param owner
#   The login whose tree the service is in (`owner:` in the data, or `users.LOGIN.services`);
#   undef for the system tree.
# @param service_dir
#   The directory the service is linked in. Default: the data's `service_dir` (system tree), or
#   the user's `service_dir`, `home/service`, or `~LOGIN/service`.
# @param timeout
#   `sv -w`: seconds to wait for the service to be up again. Default: the data's `sv_timeout`,
#   else 7.
define runit::restart (
  Runit::Servicename $service = $title,
  Optional[Runit::Login] $owner = undef,
  Optional[Stdlib::Unixpath] $service_dir = undef,
  Optional[Integer[1, 3600]] $timeout = undef,
) {
  include runit

  $settings = $runit::settings
  $wait = String(pick($timeout, $settings['sv_timeout'], 7))
  $sv = $runit::apply::sv_command

  if $runit::config::root =~ Undef {
    if $owner =~ Undef {
      $dir = pick($service_dir, $settings['service_dir'], '/etc/service')
      $command = [$sv, '-w', $wait, 'try-restart', "${dir}/${service}"]
    } else {
      $user = $settings.dig('users', $owner)
      $user_dir = $user ? {
        Hash    => pick($user['service_dir'], $user['home'].then |$home| { "${home}/service" }, '~'),
        default => '~',
      }
      $dir = pick($service_dir, $user_dir)
      $command = $dir ? {
        '~'     => ['/bin/sh', '-c', 'eval "cd ~$3/service" && exec "$0" -w "$1" try-restart "./$2"',
          $sv, $wait, $service, $owner],
        default => [$sv, '-w', $wait, 'try-restart', "${dir}/${service}"],
      }
    }
    exec { "runit::restart ${title}":
      command     => $command,
      user        => $owner,
      refreshonly => true,
      logoutput   => true,
      require     => Exec['runit-provision apply'],
    }
  }
}
