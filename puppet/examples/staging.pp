# Stage a node's runit trees into an image root (the CLI's --root) instead of the running host:
# nothing is started, no package is installed on the build host, accounts come from
# /srv/images/web/etc/passwd and /srv/images/web/etc/group.
class { 'runit::config':
  root => '/srv/images/web',
}
class { 'runit':
  init     => 'systemd',
  services => {
    'web' => { 'command' => '/usr/local/bin/web --port 8080', 'user' => 'www-data' },
  },
}
