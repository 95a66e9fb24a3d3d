# @summary One user's tree: settings of the system service runsvdir-LOGIN and the user's services.
#
# One user's tree (`runit::users` as a hash, or `runit::user`): the system service `runsvdir-
# LOGIN` runs `runsvdir` on the user's `service_dir` as that user.
#
# Defaults (from the CLI): `home` from the accounts (passwd), else `/home/LOGIN`; `groups`
# from the accounts (the first is the primary group); `sv_dir` `~/sv`; `service_dir`
# `~/service`; `log_dir` `~/logs/runsvdir` (a link to the tree's own log, which root writes); `path` the
# tree's PATH (it must find runsvdir, chpst and svlogd). `resources`: the cgroup limits of
# the user's whole tree (Runit::Resources; its services may carry their own inside it).
#
# @example
#   { 'home' => '/home/alice', 'groups' => ['alice', 'developers'],
#     'services' => { 'notebook' => { 'command' => 'jupyter notebook --port 8888' } } }
type Runit::UserSpec = Struct[{
  home        => Optional[Stdlib::Unixpath],
  groups      => Optional[Variant[Runit::Login, Array[Runit::Login, 1]]],
  sv_dir      => Optional[Stdlib::Unixpath],
  service_dir => Optional[Stdlib::Unixpath],
  log_dir     => Optional[Stdlib::Unixpath],
  path        => Optional[String[1]],
  services    => Optional[Hash[Runit::Servicename, Optional[Runit::ServiceSpec]]],
  resources   => Optional[Runit::Resources],
}]
