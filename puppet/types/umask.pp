# @summary A umask for chpst: three octal digits, with or without a leading 0, quoted.
#
# The CLI's rule (`_read_umask` in `runit_provision/schema/services.py`): a string, so that YAML
# never reads `0022` as the number 18 (YAML 1.1's octal) or 22.
#
# @example
#   '0027', '022'
type Runit::Umask = Pattern[/\A0?[0-7]{3}\z/]
