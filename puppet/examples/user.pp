# The original puppet-runit module's per-user trees: kburdis gets ~/service, supervised by a
# runsvdir of its own (the system service runsvdir-kburdis), logging to
# ~kburdis/logs/runsvdir/current; fbloggs's tree runs with the group users.
include runit

runit::user { 'kburdis': }

runit::user { 'fbloggs':
  group => 'users',
}
