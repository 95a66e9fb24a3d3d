# @summary Data as hiera must read it back unchanged: every `%{` in a string (keys too) written
#   `%{literal('%')}{`, so runit-provision's hiera does not interpolate what Puppet already did.
#
# @param value
#   Any data (hashes and arrays are walked).
# @return [Data] The same data, strings escaped.
# @example
#   runit::escape({ 'run' => 'printf "%{x}"' })  # => { 'run' => "printf \"%{literal('%')}{x}\"" }
function runit::escape(Data $value) >> Data {
  $value ? {
    String  => $value.regsubst('%\{', "%{literal('%')}{", 'G'),
    Hash    => Hash($value.map |$key, $item| { [runit::escape($key), runit::escape($item)] }),
    Array   => $value.map |$item| { runit::escape($item) },
    default => $value,
  }
}
