# @summary A user's own supervised tree: ~/service run by runsvdir as the user, logging to ~/logs/runsvdir/current.
#
# A user's own supervised tree: `runit::user { 'kburdis': }` gives kburdis a `~/service` run by
# runsvdir as kburdis, with its log in `~/logs/runsvdir/current`, as the original puppet-runit
# module's `runit::user` did.
#
# The user's entry joins `runit::users` of the node's data (deep-merged over hiera's entry of the
# same login). runit-provision builds the system service `runsvdir-LOGIN` (runsvdir on the user's
# `service_dir` under `chpst -u LOGIN:GROUPS`, a lock against a second tree, HOME/USER/LOGNAME/PATH
# set, `sv down` bringing the whole tree down), the user-owned `~/sv`, `~/service` and `~/logs`,
# and offers `SVDIR=~/service` to the user's login shell. The login must exist (runit-provision
# never creates accounts).
#
# @example As the original module took it
#   runit::user { 'kburdis': }
#   runit::user { 'fbloggs': group => 'users' }
#
# @example With services of its own
#   runit::user { 'alice':
#     groups   => ['alice', 'developers'],
#     services => { 'notebook' => { 'command' => 'jupyter notebook --no-browser --port 8888' } },
#   }
#
# @param home The user's home. Default: from the accounts (passwd), else `/home/LOGIN`.
# @param groups The groups the tree runs with (the first is the primary group). Default: the
#   user's groups from the accounts.
# @param group The original module's parameter: the tree's group; the same as `groups => [GROUP]`.
# @param sv_dir Where the user's service directories are built. Default: `~/sv`.
# @param service_dir The tree runsvdir scans. Default: `~/service`.
# @param log_dir Where the link to the tree's own log is (root writes it in `/var/log/runsvdir-LOGIN`). Default: `~/logs/runsvdir`.
# @param path The tree's PATH (must find runsvdir, chpst and svlogd).
# @param services The user's services, name => Runit::ServiceSpec (run as the user).
# @param resources The cgroup limits of the user's whole tree (Runit::Resources).
define runit::user (
  Optional[Stdlib::Unixpath] $home = undef,
  Optional[Variant[Runit::Login, Array[Runit::Login, 1]]] $groups = undef,
  Optional[Runit::Login] $group = undef,
  Optional[Stdlib::Unixpath] $sv_dir = undef,
  Optional[Stdlib::Unixpath] $service_dir = undef,
  Optional[Stdlib::Unixpath] $log_dir = undef,
  Optional[String[1]] $path = undef,
  Optional[Hash[Runit::Servicename, Optional[Runit::ServiceSpec]]] $services = undef,
  Optional[Runit::Resources] $resources = undef,
) {
  assert_type(Runit::Login, $title) |$expected, $actual| {
    fail("runit::user[${title}]: not a login name")
  }
  if $group =~ NotUndef and $groups =~ NotUndef {
    fail("runit::user[${title}]: give groups or group (the original module's), not both")
  }
  include runit

  $values = {
    'home'        => $home,
    'groups'      => $group ? {
      undef   => $groups,
      default => [$group],
    },
    'sv_dir'      => $sv_dir,
    'service_dir' => $service_dir,
    'log_dir'     => $log_dir,
    'path'        => $path,
    'services'    => $services,
    'resources'   => $resources,
  }.filter |$key, $value| { $value =~ NotUndef }
  $data = runit::escape({ 'runit::users' => { $title => $values } })

  file { "${runit::config::staged_dir}/user-${title}.yaml":
    ensure    => file,
    owner     => 'root',
    group     => 'root',
    mode      => '0600',
    show_diff => false,  # env values may be secrets
    content   => "# Written by Puppet: runit::user[${title}]\n${runit::to_yaml($data)}",
    notify    => Exec['runit-provision apply'],
  }
}
