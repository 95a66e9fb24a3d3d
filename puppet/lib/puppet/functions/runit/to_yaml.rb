# frozen_string_literal: true

# @summary Data as a YAML document, as Ruby's YAML library writes it.
#
# The module's own, so that it compiles without a warning under every stdlib it supports:
# stdlib 8 (Debian 12) has only the global `to_yaml`, stdlib 9 (Debian 13) deprecates that one
# for `stdlib::to_yaml`, which stdlib 8 lacks. The text is the one both of theirs write.
#
# @example
#   runit::to_yaml({ 'services' => { 'web' => { 'run' => 'exec web' } } })
#   # => "---\nservices:\n  web:\n    run: exec web\n"
Puppet::Functions.create_function(:'runit::to_yaml') do
  # @param data
  #   Any data.
  # @return [String]
  #   Its YAML document, with the leading `---`.
  dispatch :to_yaml do
    param 'Data', :data
    return_type 'String'
  end

  def to_yaml(data)
    require 'yaml'
    data.to_yaml
  end
end
