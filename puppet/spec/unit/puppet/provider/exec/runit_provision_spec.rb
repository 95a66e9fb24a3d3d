# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'

# The exec provider of Exec['runit-provision apply']: real commands (sh standing in for the
# CLI: the guard prints plan lines and exits 2, the command prints apply's), applied through
# a real catalog and transaction, so the events are the ones Puppet's harness makes.
describe Puppet::Type.type(:exec).provider(:runit_provision) do
  plan_lines = ['~ /etc/sv/web/env/PORT (content)', '↻ web: restart (env changed)',
                'Plan: 0 to create, 1 to change, 0 to remove, 1 service action; 9 up to date.']
  applied_lines = ['~ /etc/sv/web/env/PORT (content)', '↻ web: restart (env changed)',
                   'Applied: 1 changed, 1 restarted.']

  # A transaction keeps its state under vardir (the spec helper's is /dev/null).
  around(:each) do |example|
    Dir.mktmpdir do |dir|
      Dir.mkdir(File.join(dir, 'state'))
      Puppet[:vardir] = dir
      example.run
    end
  end

  def sh(lines, code)
    ['/bin/sh', '-c', "printf '%s\\n' \"$@\"; exit #{code}", 'sh'] + lines
  end

  def run(guard, command, provider: :runit_provision, noop: false)
    Puppet[:noop] = noop
    resource = Puppet::Type.type(:exec).new(title: 'runit-provision apply', command: command,
                                            unless: [guard], provider: provider, logoutput: true)
    catalog = Puppet::Resource::Catalog.new
    catalog.add_resource(resource)
    transaction = catalog.apply
    transaction.report.resource_statuses['Exec[runit-provision apply]']
  ensure
    Puppet[:noop] = false
  end

  it 'says the plan under --noop, and runs nothing' do
    marker = "/tmp/runit-provision-spec-#{Process.pid}"
    status = run(sh(plan_lines, 2), ['/bin/sh', '-c', "touch #{marker}"], noop: true)
    expect(status.events.map(&:status)).to eq(['noop'])
    expect(status.events.first.message).to eq("would apply: #{plan_lines.join('; ')} (noop)")
    expect(File.exist?(marker)).to be(false)
  end

  it "says apply's lines in a real run" do
    status = run(sh(plan_lines, 2), sh(applied_lines, 0))
    expect(status.events.map(&:status)).to eq(['success'])
    expect(status.events.first.message).to eq("applied: #{applied_lines.join('; ')}")
  end

  it 'reports nothing when the plan is empty (a no-change run stays one)' do
    status = run(sh(['Plan: nothing to do; 10 up to date.'], 0), sh(applied_lines, 0))
    expect(status.events).to be_empty
    expect(status.out_of_sync).to be(false)
  end

  it 'fails as the posix provider does when apply fails' do
    status = run(sh(plan_lines, 2), sh(['data.yaml:3:5: services.web: a problem'], 1))
    expect(status.failed).to be(true)
    expect(status.events.first.message).to match(%r{returned 1 instead of one of \[0\]})
  end

  # Puppet's own words for a plain exec, which differ by version: Puppet 7 "current_value
  # 'notrun', should be ['0'] (noop)", Puppet 8 and OpenVox "executed successfully (noop)".
  it 'says only that the exec would run when the guard could not plan (no CLI yet)' do
    posix = run(sh(['no runit-provision here'], 1), sh(applied_lines, 0), provider: :posix, noop: true)
    status = run(sh(['no runit-provision here'], 1), sh(applied_lines, 0), noop: true)
    expect(status.events.first.message).to eq(posix.events.first.message)
    expect(status.events.first.message).to eq("current_value 'notrun', should be ['0'] (noop)").or eq('executed successfully (noop)')
  end

  it 'keeps a first run of thousands of lines to a bounded message' do
    many = (1..500).map { |index| "+ /etc/sv/s#{index} (directory 0755)" }
    status = run(sh(many, 2), sh(many, 0))
    message = status.events.first.message
    expect(message).to start_with('applied: + /etc/sv/s1 (directory 0755); ')
    expect(message).to end_with('; … 300 more lines')
  end

  it "leaves the posix provider's events as they are" do
    status = run(sh(plan_lines, 2), sh(applied_lines, 0), provider: :posix)
    expect(status.events.first.message).to eq('executed successfully')
  end
end
