# @summary The name of a service: one safe path component, as runit-provision accepts it.
#
# The same rule as the CLI's (`runit_provision/schema/readers.py`): a letter, digit or one
# of `_@%+,=:` first, then those and `.` and `-`. `..`, `/` and blanks never pass.
#
# @example
#   'web', 'db-proxy', 'node-exporter', 'getty@tty1'
type Runit::Servicename = Pattern[/\A[A-Za-z0-9_@%+,=:][A-Za-z0-9_.@%+,=:-]*\z/]
