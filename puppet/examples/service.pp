# A service declared in code, restarted when its configuration changes (like Chef's notifiable
# runit_service), and a restart handle for a service that comes from hiera.
include runit

runit::service { 'worker':
  command => ['/usr/local/bin/worker', '--config', '/etc/worker.conf'],
  user    => 'app',
  env     => { 'QUEUE' => 'default' },
  check   => { 'tcp' => 9102 },
  log     => { 'timestamps' => 'iso', 'num' => 20 },
}

file { '/etc/worker.conf':
  ensure  => file,
  content => "queue = default\n",
  notify  => Runit::Service['worker'],
}

runit::restart { 'web': }

file { '/etc/web.conf':
  ensure  => file,
  content => "workers = 8\n",
  notify  => Runit::Restart['web'],
}
