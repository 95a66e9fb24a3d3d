# @summary Runs services and users' process trees under runit from hiera data, applied on each node by runit-provision.
#
# Runs system services and users' process trees under runit, from hiera data applied on each
# node by runit-provision.
#
# Every parameter is a top-level key of runit-provision's data format, filled by automatic
# parameter lookup (`runit::services`, `runit::users`, …), so one hiera hierarchy serves a
# Puppet server and the `runit-provision` command alike. The original puppet-runit module's
# single `runit` hash (`runit: {package_file: …, users: […]}`) is read too; the two
# spellings may be mixed across keys, but one setting given both ways fails the catalog,
# as the CLI refuses it. `runit::services` and `runit::users` are deep-merged across the
# hierarchy (the module's `lookup_options`; knockout prefix `--`).
#
# The class does not render anything itself. It writes the merged data to one file
# (`data.yaml` in `runit::config::dir`), installs runit-provision into its own virtualenv
# (`runit::install`) and runs `runit-provision apply` through one `exec`, guarded by
# `runit-provision plan` (`runit::apply`): a run changes something only when the node
# differs from the data, hand edits are put back, and the CLI's own lines (what it created,
# changed, restarted) or its error message appear in the agent's output.
#
# Unset parameters are left to the CLI's defaults (shown below), or to the platform's
# (`runit::config::os_settings`: Void and Artix paths).
#
# @example Hiera data (either spelling), then `include runit`
#   runit::services:
#     web:
#       command: /usr/local/bin/web --port 8080
#       user: www-data
#       env: {PORT: "8080"}
#       check: {http: "http://127.0.0.1:8080/health"}
#   runit::users: [apprun1, apprun2]
#
#   # or, as the original puppet-runit module took it:
#   runit:
#     package_file: runit-2.1.1-6.el6.x86_64.rpm
#     users: [ 'apprun1', 'apprun2' ]
#
# @example A manifest
#   include runit
#
# @param runtime
#   `python`: the runtime bundled with runit-provision (pure Python, installed by
#   `runit-provision install-runtime`); `system`: the runit binaries of the host (the
#   `runit` package, or `package_file`). CLI default: `python`.
# @param package_file
#   With `runtime: python`, a runit-provision wheel to install from; with `system`, a
#   runit package (`.rpm`, `.deb`). A bare file name is fetched from the Puppet file server
#   (`puppet:///files/NAME`, `runit::install::file_source`) as the original module fetched its
#   RPM; a `puppet://`, `file://`, `http(s)://` URL or an absolute path is used as it is.
# @param sv_dir
#   Where service directories are built. CLI default: `/etc/sv`.
# @param service_dir
#   Where they are linked (the directory runsvdir scans). CLI default: `/etc/service`.
# @param log_dir
#   A service logs to `log_dir/NAME` unless its `log.dir` says otherwise. CLI default:
#   `/var/log`.
# @param sv_timeout
#   `sv -w N` for `needs` guards, restarts and `runit::restart`. CLI default: 7.
# @param init
#   How the runtime's runsvdir is started at boot: `auto`, `systemd`, `sysvinit`, `upstart`,
#   `runit`, or `none` (leave init alone: containers, images, tests). CLI default: `auto`.
# @param users
#   Per-user trees: a list of logins, or login => Runit::UserSpec. Each login gets the system
#   service `runsvdir-LOGIN` running runsvdir on `~/service` as that user, logging to
#   `~/logs/runsvdir/current`. Deep-merged across the hierarchy.
# @param services
#   System services: name => Runit::ServiceSpec. Deep-merged across the hierarchy.
# @param defaults
#   Keys merged under every service (Runit::Defaults).
class runit (
  Optional[Enum['python', 'system']] $runtime = undef,
  Optional[String[1]] $package_file = undef,
  Optional[Stdlib::Unixpath] $sv_dir = undef,
  Optional[Stdlib::Unixpath] $service_dir = undef,
  Optional[Stdlib::Unixpath] $log_dir = undef,
  Optional[Integer[1, 3600]] $sv_timeout = undef,
  Optional[Enum['auto', 'systemd', 'sysvinit', 'upstart', 'runit', 'none']] $init = undef,
  Optional[Runit::Users] $users = undef,
  Optional[Hash[Runit::Servicename, Optional[Runit::ServiceSpec]]] $services = undef,
  Optional[Runit::Defaults] $defaults = undef,
) {
  # The original module's spelling: one `runit` hash, looked up with the data's own
  # lookup_options as runit-provision looks it up.
  $spelled_once = lookup('runit', Optional[Runit::Settings], undef, undef)
  $legacy = $spelled_once ? {
    undef   => {},
    default => $spelled_once.filter |$key, $value| { $value =~ NotUndef },
  }
  $given = {
    'runtime'      => $runtime,
    'package_file' => $package_file,
    'sv_dir'       => $sv_dir,
    'service_dir'  => $service_dir,
    'log_dir'      => $log_dir,
    'sv_timeout'   => $sv_timeout,
    'init'         => $init,
    'users'        => $users,
    'services'     => $services,
    'defaults'     => $defaults,
  }.filter |$key, $value| { $value =~ NotUndef }

  $twice = $given.keys.filter |$key| { $key in $legacy }
  unless $twice.empty {
    $keys = $twice.map |$key| { "${key} (runit::${key} and runit.${key})" }.join(', ')
    fail("runit: given in both spellings: ${keys}; use one spelling (the runit hash of the original module, or runit::KEY)")
  }

  # What the user's data says, in one spelling. A list of logins becomes a hash, so that
  # runit::user declarations merge into it (the CLI reads both forms alike).
  $merged = $legacy + $given
  $data = $merged['users'] ? {
    Array   => $merged + { 'users' => Hash($merged['users'].map |$login| { [$login, {}] }) },
    default => $merged,
  }

  # Where the data goes (its parameters only: runit::config can be declared before this class).
  contain runit::config

  # package_file, fetched to a host path that the data then names (the CLI installs a runit
  # package from it, or the runtime from a wheel).
  $wanted_package = $data['package_file']
  if $wanted_package =~ NotUndef {
    $package_name = $wanted_package.split('/')[-1]
    $package_path = "${runit::config::cache_dir}/${package_name}"
    $package_source = $wanted_package ? {
      /\A(puppet|file|https?):\/\// => $wanted_package,
      /\A\//                        => $wanted_package,
      default                       => "${runit::config::file_source}/${wanted_package}",
    }
    $package = { 'package_file' => $package_path }
  } else {
    $package_name = undef
    $package_path = undef
    $package_source = undef
    $package = {}
  }

  # The settings every part uses: the platform's, then the data's.
  $settings = $runit::config::os_settings + $data + $package

  # The one file of the data, in one spelling, as runit-provision reads it (through the
  # hiera.yaml of runit::config, which adds the runit::service and runit::user declarations).
  $file_data = {
    'lookup_options' => {
      'runit::services' => { 'merge' => 'deep' },
      'runit::users'    => { 'merge' => 'deep' },
    },
  } + Hash($settings.map |$key, $value| { ["runit::${key}", $value] })
  $header = @(HEADER)
    # Written by Puppet (class runit): the runit data of this node, as Puppet compiled it from
    # hiera (hiera's %{} interpolations done; a literal %{ is written %{literal('%')}{).
    # runit-provision reads it through hiera.yaml beside it, with the runit::service and
    # runit::user declarations. Edits here are put back by the next Puppet run.
    | HEADER
  file { $runit::config::data_yaml:
    ensure    => file,
    owner     => 'root',
    group     => 'root',
    mode      => '0600',
    show_diff => false,  # env values may be secrets
    content   => "${header}${runit::to_yaml(runit::escape($file_data))}",
  }

  contain runit::install
  contain runit::apply

  Class['runit::config'] -> File[$runit::config::data_yaml] -> Class['runit::install'] -> Class['runit::apply']
}
