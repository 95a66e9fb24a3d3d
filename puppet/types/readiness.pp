# @summary How a service says it is ready: systemd's notify protocol, or its check.
#
# `notify`: the service sends `READY=1` on `NOTIFY_SOCKET` (sd_notify, `systemd-notify
# --ready`); `sv -w start`, `needs` guards and apply's wait wait for it. `access` is systemd's
# `NotifyAccess=`: `main` (the default) hears only the service's main process, `all` its
# children too. `{fd => N}`: s6's notification-fd, a newline on descriptor N means ready
# (runit-provision's runtime only). `check`: ready once the service's `check` passes (as
# without this key).
#
# @example
#   'notify'
# @example
#   { 'notify' => { 'access' => 'all' } }
# @example
#   { 'fd' => 3 }
type Runit::Readiness = Variant[
  Enum['notify', 'check'],
  Struct[{ notify => Optional[Struct[{ access => Optional[Enum['main', 'all']] }]] }],
  Struct[{ fd => Integer[3, 1023] }],
]
