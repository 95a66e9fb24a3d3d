# @summary Installs runit-provision into its own virtualenv and, with runtime system, the host's runit package.
#
# Installs runit-provision into its own virtualenv (never the system site-packages) and, with
# `runtime: system`, the host's runit package.
#
# The Python package comes from `package_file` when that is a wheel (fetched from the Puppet
# file server, as the original module fetched its RPM), else from `package_source` through pip
# (PyPI, or an index or wheel directory named in `pip_options`). A wheel is installed again only
# when its version differs from the installed one (`runit-provision --version`); an unpinned
# `package_source` is installed once. The bundled runit runtime itself is then installed by
# `runit-provision install-runtime` (class runit::apply).
#
# With `runtime: system`, the runit package is installed instead of the bundled runtime: from
# `package_file` (an `.rpm` or `.deb`) or as `system_package` from the platform's repositories.
# Under a staging root (`runit::config::root`) no package is installed on the host:
# runit-provision lists the package command for the image instead.
#
# @example A private index, pinned
#   runit::install::package_source: runit-provision==0.1.0
#   runit::install::pip_options: ['--index-url', 'https://pypi.example.com/simple']
#
# @example Offline, from a wheel directory
#   runit::install::pip_options: ['--no-index', '--find-links', '/srv/wheels']
#
# @example The wheel on the Puppet file server (files mount)
#   runit::package_file: runit_provision-0.1.0-py3-none-any.whl
#
# @param venv_dir
#   The virtualenv runit-provision is installed into; its `bin/` holds `runit-provision`, `sv`
#   and the other runit tools. Every user must be able to run its `sv` (users' services are
#   driven by it, as the user): the execs run with umask 0022, and the path must not pass
#   through a directory others cannot search (not under `/root`).
#   Default (module data): `/opt/runit-provision`.
# @param python
#   The interpreter that creates the virtualenv (`PYTHON -m venv`; Debian needs python3-venv).
#   Default (module data): `/usr/bin/python3`; RHEL 8: `/usr/bin/python3.11` (its python3 is 3.6).
# @param package_source
#   What pip installs when `package_file` is not a wheel: a requirement (`runit-provision`,
#   `runit-provision==0.1.0`), a path or a URL. With `==VERSION`, that version is kept.
#   Default (module data): `runit-provision`.
# @param pip_options
#   Options for `pip install` (`--index-url …`, `--no-index --find-links DIR`, `--proxy …`).
#   Default (module data): `[]`.
# @param manage_package
#   `false`: runit-provision is installed by other means; `venv_dir/bin/runit-provision` is used
#   as it is.
#   Default (module data): `true`.
# @param system_package
#   The runit package of the platform's repositories, for `runtime: system` without
#   `package_file`.
#   Default (module data): `runit`.
class runit::install (
  Stdlib::Unixpath $venv_dir,
  Stdlib::Unixpath $python,
  String[1] $package_source,
  Array[String[1]] $pip_options,
  Boolean $manage_package,
  String[1] $system_package,
) {
  $cli = "${venv_dir}/bin/runit-provision"
  $settings = $runit::settings
  $runtime = pick($settings['runtime'], 'python')
  $package_path = $runit::package_path
  $is_staging = $runit::config::root =~ NotUndef

  if $package_path =~ NotUndef {
    ensure_resource('file', $runit::config::cache_dir, { 'ensure' => 'directory', 'mode' => '0755' })
    file { $package_path:
      ensure => file,
      source => $runit::package_source,
      mode   => '0644',
    }
  }

  if $manage_package {
    # umask 0022: the virtualenv is every user's to run — a user's services are driven by its
    # sv run as that user (an agent started with umask 0077 would leave it root's alone).
    exec { 'runit-provision virtualenv':
      command => [$python, '-m', 'venv', $venv_dir],
      creates => "${venv_dir}/bin/python",
      umask   => '0022',
    }

    $wheel = ($runtime == 'python' and $package_path =~ Pattern[/\.whl\z/]) ? {
      true    => $package_path,
      default => undef,
    }
    # The version pip must leave installed: the wheel's (its file name says it, PEP 427), or
    # the one package_source pins.
    $version = $wheel ? {
      undef   => $package_source ? {
        /\Arunit[-_]provision\s*==\s*([0-9][^\s;,]*)\z/ => $1,
        default                                          => undef,
      },
      default => $runit::package_name.match(/\A[^-]+-([^-]+)-/)[1],
    }
    $requirement = pick($wheel, $package_source)
    $guard = $version ? {
      undef   => { 'creates' => $cli },
      default => {
        'unless' => [['/bin/sh', '-c', 'test "$("$0" --version 2>/dev/null)" = "runit-provision $1"', $cli, $version]],
      },
    }
    exec { 'runit-provision pip install':
      command => ["${venv_dir}/bin/python", '-m', 'pip', 'install', '--quiet',
        '--disable-pip-version-check'] + $pip_options + [$requirement],
      timeout => 600,
      umask   => '0022',
      require => Exec['runit-provision virtualenv'],
      *       => $guard,
    }
    if $wheel =~ NotUndef {
      File[$package_path] -> Exec['runit-provision pip install']
    }
  }

  if $runtime == 'system' and !$is_staging {
    if $package_path =~ NotUndef {
      $provider = $package_path ? {
        /\.rpm\z/ => 'rpm',
        /\.deb\z/ => 'dpkg',
        default   => fail("runit: package_file ${runit::package_name}: runtime system installs runit from an .rpm or a .deb"),
      }
      package { $system_package:
        ensure   => installed,
        provider => $provider,
        source   => $package_path,
        require  => File[$package_path],
      }
    } else {
      package { $system_package:
        ensure => installed,
      }
    }
  }
}
