# @summary The whole data format: every top-level key of runit-provision's data, typed.
#
# The whole data format: every top-level key of runit-provision's data (docs/data-format.md),
# as class `runit` takes them one by one and as the original module's `runit:` hash gives them
# at once.
#
# @example The original puppet-runit module's hiera data
#   runit:
#     package_file: runit-2.1.1-6.el6.x86_64.rpm
#     users: [ 'apprun1', 'apprun2' ]
type Runit::Settings = Struct[{
  runtime      => Optional[Enum['python', 'system']],
  package_file => Optional[String[1]],
  sv_dir       => Optional[Stdlib::Unixpath],
  service_dir  => Optional[Stdlib::Unixpath],
  log_dir      => Optional[Stdlib::Unixpath],
  sv_timeout   => Optional[Integer[1, 3600]],
  init         => Optional[Enum['auto', 'systemd', 'sysvinit', 'upstart', 'runit', 'none']],
  users        => Optional[Runit::Users],
  services     => Optional[Hash[Runit::Servicename, Optional[Runit::ServiceSpec]]],
  defaults     => Optional[Runit::Defaults],
}]
