# @summary Where the node's runit data is written (data.yaml, runit::service and runit::user files, templates, hiera.yaml).
#
# Where the node's runit data is written: one directory holding the data of class runit
# (`data.yaml`), one file per `runit::service` and `runit::user`, user templates and the
# `hiera.yaml` that joins them for runit-provision.
#
# The data is Puppet's merged view: hiera's interpolations are done and `%{` in a value is
# escaped, so runit-provision reads exactly the values Puppet compiled. The directory is
# Puppet's own: files nothing declares are removed (a `runit::service` no longer declared
# leaves the data; to remove the service itself, declare it `ensure => absent`).
#
# @example Stage a node into an image root instead of the running host
#   runit::config::root: /srv/images/web
#
# @example A user template referenced by a service's `template:`
#   runit::config::templates:
#     run-with-ulimit.j2:
#       source: puppet:///modules/profile/runit/run-with-ulimit.j2
#   runit::services:
#     standby-web: {command: /usr/local/bin/web --port 8081, template: templates/run-with-ulimit.j2}
#
# @param dir
#   The directory of the data files (`hiera.yaml`, `data.yaml`, `service-NAME.yaml`,
#   `user-LOGIN.yaml`, `templates/`, and `status`, the command the `runit_services` fact runs).
#   Readable by root only: `env` values may be secrets.
#   Default (module data): `/etc/runit-provision`.
# @param root
#   Stage everything into this directory instead of the running host (runit-provision's
#   `--root`, as `useradd --root`): the data directory, the service directories, users' trees and
#   the runtime are written under it with their final paths inside the files; accounts come from
#   `ROOT/etc/passwd` and `ROOT/etc/group`; nothing is started or restarted and no package is
#   installed on the host. For image builds and tests.
#   Default (module data): `undef`.
# @param cache_dir
#   Where `package_file` is copied to before it is installed (a host path, also when staging).
#   Default (module data): `/var/cache/runit-provision`.
# @param file_source
#   Where a bare `package_file` name is fetched from: the `files` mount of the Puppet file
#   server, as the original module took its RPM (`[files]` in fileserver.conf, or
#   mount_points in puppetserver's configuration).
#   Default (module data): `puppet:///files`.
# @param templates
#   User templates, file name (under `DIR/templates/`) => content, or
#   `{source => URL}`. A service's `template: templates/NAME` (relative to the data file)
#   finds them.
#   Default (module data): `{}`.
# @param os_settings
#   Top-level settings of the data format this platform uses where the data gives none (module
#   data: Void's `/var/service`, Artix's `/etc/runit/sv` and `/run/runit/service`, both
#   `runtime: system`).
#   Default (module data): `{}` (common); Void and Artix: data/os/.
class runit::config (
  Stdlib::Unixpath $dir,
  Optional[Stdlib::Unixpath] $root,
  Stdlib::Unixpath $cache_dir,
  String[1] $file_source,
  Hash[Pattern[/\A[A-Za-z0-9_][A-Za-z0-9_.-]*\z/], Variant[String, Struct[{ source => String[1] }]]] $templates,
  Runit::Settings $os_settings,
) {
  $staged_dir = "${root}${dir}"
  $hiera_yaml = "${staged_dir}/hiera.yaml"
  $data_yaml = "${staged_dir}/data.yaml"

  if $root =~ NotUndef {
    # Under a staging root, the directories down to the data directory are made too, as a
    # package's files would make them.
    $parts = $dir.split('/').filter |$part| { $part != '' }
    $parents = $parts.map |$index, $part| { "${root}/${parts[0, $index + 1].join('/')}" }[0, -2]
    file { $parents:
      ensure => directory,
    }
  }

  $hiera_content = @(HIERA)
    # Written by Puppet (class runit): how runit-provision reads this node's data. The
    # runit::service and runit::user declarations (service-NAME.yaml, user-LOGIN.yaml) are
    # deep-merged over the data of class runit (data.yaml).
    ---
    version: 5
    defaults:
      datadir: .
      data_hash: yaml_data
    hierarchy:
      - name: "runit::service declarations"
        glob: "service-*.yaml"
      - name: "runit::user declarations"
        glob: "user-*.yaml"
      - name: "class runit (hiera data)"
        path: data.yaml
    | HIERA

  file { [$staged_dir, "${staged_dir}/templates"]:
    ensure  => directory,
    owner   => 'root',
    group   => 'root',
    mode    => '0700',
    recurse => true,
    purge   => true,
    force   => true,
  }

  file { $hiera_yaml:
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0600',
    content => $hiera_content,
  }

  $templates.each |$name, $template| {
    $content = $template ? {
      String  => { 'content' => $template },
      default => { 'source' => $template['source'] },
    }
    file { "${staged_dir}/templates/${name}":
      ensure => file,
      owner  => 'root',
      group  => 'root',
      mode   => '0600',
      *      => $content,
    }
  }
}
