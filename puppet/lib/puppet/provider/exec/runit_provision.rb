# frozen_string_literal: true

# The exec provider of `Exec['runit-provision apply']` (class runit::apply): the posix provider,
# running the same commands the same way — the guard `runit-provision plan` (exit 0: nothing
# would change, 2: something would, 1: an error), then `runit-provision apply` — whose event
# says what the CLI said. A noop run's event is the plan's lines ("would apply: ~ /etc/sv/web/env/PORT
# (content); ↻ web: restart (env changed); Plan: …"), each also logged on its own line
# (logoutput); a real run's event is apply's lines ("applied: …"), so the report — and
# PuppetDB's events — say which paths changed and which services restarted, and why. A run
# where the guard exits 0 has no event at all, as with the posix provider.
Puppet::Type.type(:exec).provide(:runit_provision, parent: Puppet::Type.type(:exec).provider(:posix)) do
  desc <<-EOT
    The posix provider for runit-provision's exec: the same commands, run the same way, and
    the event says the plan's lines under --noop and apply's lines in a real run.
  EOT

  confine feature: :posix

  # runit-provision plan's exit code when something would change
  WOULD_CHANGE = 2
  # lines kept in one event's message; the rest are counted (a first run can have thousands)
  MESSAGE_LINES = 200

  def run(command, check = false)
    output, status = super
    exitstatus = status&.exitstatus
    if check && exitstatus == WOULD_CHANGE
      show_plan(lines_of(output))
    elsif !check && exitstatus.zero?
      show_applied(lines_of(output))
    end
    [output, status]
  end

  private

  def lines_of(output)
    output.to_s.split("\n").map(&:rstrip).reject(&:empty?)
  end

  def summary(lines)
    kept = lines.first(MESSAGE_LINES)
    more = lines.length - kept.length
    kept += ["… #{more} more lines"] if more.positive?
    kept.join('; ')
  end

  # Under --noop, Puppet 7 words the event "current_value %s, should be %s (noop)" through the
  # property's format, Puppet 8 (and OpenVox) as the property's change_to_s and " (noop)": the
  # plan's lines are said instead, by either route. change_to_s is the real run's wording too,
  # so it is taken over only in a noop run.
  def show_plan(lines)
    returns = resource.property(:returns)
    return if returns.nil? || lines.empty?
    plan = "would apply: #{summary(lines)}"
    message = "#{plan} (noop)"
    original = returns.method(:format)
    returns.define_singleton_method(:format) do |fmt, *args|
      fmt.to_s.end_with?('(noop)') ? message : original.call(fmt, *args)
    end
    return unless Puppet[:noop] || resource.noop?
    returns.define_singleton_method(:change_to_s) { |_current, _should| plan }
    return unless [:true, true].include?(resource[:logoutput])
    lines.each { |line| returns.send(resource[:loglevel], line) }
  end

  # A real run's event: "applied: " and apply's lines, in place of "executed successfully".
  def show_applied(lines)
    returns = resource.property(:returns)
    return if returns.nil? || lines.empty?
    message = "applied: #{summary(lines)}"
    returns.define_singleton_method(:change_to_s) { |_current, _should| message }
  end
end
