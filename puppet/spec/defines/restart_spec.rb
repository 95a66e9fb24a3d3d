# frozen_string_literal: true

require 'spec_helper'

# Written against what runit::restart promises, not how it finds the service: one exec, run only
# when notified, after runit-provision apply, by runit-provision itself (which finds the
# service in the node's data and drops to its owner), and nothing under a staging root.
describe 'runit::restart' do
  let(:title) { 'web' }

  # The execs the handle contains, whatever their titles.
  def restart_execs
    handle = catalogue.resource('Runit::Restart', title)
    catalogue.edges.select { |edge| edge.source == handle && edge.target.type == 'Exec' }.map(&:target)
  end

  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }
  it { is_expected.to contain_class('runit') }

  it 'runs the restart only when notified, after apply' do
    expect(restart_execs.size).to eq(1)
    restart = restart_execs.first
    expect(restart[:refreshonly]).to be(true)
    is_expected.to contain_exec(restart.title).that_requires('Exec[runit-provision apply]')
  end

  it "is runit-provision's restart of the running service, named as in the data" do
    command = restart_execs.first[:command]
    expect(command.first).to eq(CLI)
    expect(command).to include('restart', '--if-running', "#{DATA_DIR}/hiera.yaml")
    expect(command.last).to eq('web')
  end

  context "with a service in a user's tree" do
    let(:title) { 'alice/notebook' }
    let(:params) { { service: 'notebook', owner: 'alice' } }

    it "names the user's service; runit-provision drops to the user, the exec runs as root" do
      restart = restart_execs.first
      expect(restart[:command].last).to eq('alice/notebook')
      expect(restart[:user]).to be_nil
    end
  end

  context 'with a timeout' do
    let(:params) { { timeout: 30 } }

    it { expect(restart_execs.first[:command].each_cons(2).to_a).to include(['--timeout', '30']) }
  end

  context 'under a staging root' do
    let(:node) { 'staged.example.com' }

    it 'runs nothing' do
      is_expected.to compile.with_all_deps
      expect(restart_execs).to be_empty
    end
  end

  context 'with a title that is not a service name' do
    let(:title) { 'a/b' }

    it { is_expected.to compile.and_raise_error(%r{parameter 'service'}) }
  end

  it_rejects_each({ service: '../web', owner: 'Not A Login', timeout: 0 })

  context 'with a timeout over an hour' do
    let(:params) { { timeout: 3601 } }

    it { is_expected.to compile.and_raise_error(%r{parameter 'timeout' expects .*Integer\[1, 3600\]}) }
  end
end
