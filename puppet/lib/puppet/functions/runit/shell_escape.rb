# frozen_string_literal: true

# @summary One word quoted for a POSIX shell, so that the shell reads it back unchanged.
#
# The module's own, for the same reason as runit::to_yaml: stdlib 9 deprecates the global
# `shell_escape` for `stdlib::shell_escape`, which stdlib 8 lacks. Ruby's Shellwords quoting,
# as both of theirs.
#
# @example
#   runit::shell_escape('/etc/runit provision')  # => "/etc/runit\\ provision"
Puppet::Functions.create_function(:'runit::shell_escape') do
  # @param word
  #   Any string (an empty one is quoted as '').
  # @return [String]
  #   The word, quoted where the shell would split or expand it.
  dispatch :shell_escape do
    param 'String', :word
    return_type 'String'
  end

  def shell_escape(word)
    require 'shellwords'
    Shellwords.escape(word)
  end
end
