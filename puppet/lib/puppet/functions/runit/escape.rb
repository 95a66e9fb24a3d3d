# frozen_string_literal: true

# @summary Data as hiera reads it back unchanged: every `%{` in a string escaped.
#
# Every `%{` in a string (hash keys too) is written `%{literal('%')}{`, so runit-provision's
# hiera does not interpolate again what Puppet's hiera already did.
#
# Written in Ruby, not in the Puppet language: a walk through a node's whole data recursed
# deep enough in Puppet's evaluator to overflow the JVM stack of puppetserver's JRuby.
#
# @example
#   runit::escape({ 'run' => 'printf "%{x}"' })  # => { 'run' => "printf \"%{literal('%')}{x}\"" }
Puppet::Functions.create_function(:'runit::escape') do
  # @param value
  #   Any data (hashes and arrays are walked).
  # @return [Data]
  #   The same data, strings escaped.
  dispatch :escape do
    param 'Data', :value
    return_type 'Data'
  end

  def escape(value)
    case value
    when String
      value.gsub('%{', "%{literal('%')}{")
    when Hash
      value.each_with_object({}) { |(key, item), out| out[escape(key)] = escape(item) }
    when Array
      value.map { |item| escape(item) }
    else
      value
    end
  end
end
