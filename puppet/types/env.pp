# @summary A service's environment: `env/NAME` files (0640) read by `chpst -e`.
#
# A value is written with a newline; `undef` (hiera `~`) is an empty file, which unsets the
# variable; numbers and booleans are written as text.
type Runit::Env = Hash[Pattern[/\A[A-Za-z_][A-Za-z0-9_]*\z/], Optional[Variant[String, Numeric, Boolean]]]
