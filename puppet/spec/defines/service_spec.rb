# frozen_string_literal: true

require 'spec_helper'

describe 'runit::service' do
  let(:title) { 'worker' }
  let(:params) { { command: ['/usr/local/bin/worker', '--queue', 'default'] } }

  file = "#{DATA_DIR}/service-worker.yaml"

  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }

  it { is_expected.to contain_class('runit') }

  it 'writes its data beside the node data, and applies it in the same run' do
    is_expected.to contain_file(file)
      .with(ensure: 'file', owner: 'root', group: 'root', mode: '0600', show_diff: false)
      .with_content(%r{\A# Written by Puppet: runit::service\[worker\]\n})
      .that_notifies('Exec[runit-provision apply]')
    expect(yaml_of(catalogue, file)).to eq(
      'runit::services' => { 'worker' => { 'command' => ['/usr/local/bin/worker', '--queue', 'default'] } },
    )
  end

  it 'declares its restart handle' do
    is_expected.to contain_runit__restart('worker').with_owner(nil)
  end

  context 'with every key' do
    let(:params) do
      {
        command: '/usr/local/bin/worker', user: 'app', group: 'app', owner: 'alice',
        env: { 'QUEUE' => 'default', 'TEMPLATE' => 'a %{b}', 'UNSET' => :undef }, cwd: '/srv/worker',
        umask: '0027', nice: 5, limits: { 'nofile' => 1024 }, finish: "#!/bin/sh\nexit 0\n",
        check: { 'tcp' => 9102 }, control: { 'h' => "#!/bin/sh\nexit 1\n" }, down: true, enabled: true,
        ensure: 'present', restart_on_change: false, restart: { 'give_up_after' => 5 },
        needs: ['cache'], log: { 'timestamps' => 'iso' }, template: 'templates/run.j2', adopt: false
      }
    end

    it 'writes every key, %{ escaped for hiera, an undef env value kept' do
      service = yaml_of(catalogue, file)['runit::services']['worker']
      expect(service.keys).to eq(params.keys.map(&:to_s))
      expect(service['env']).to eq('QUEUE' => 'default', 'TEMPLATE' => "a %{literal('%')}{b}", 'UNSET' => nil)
      expect(service['umask']).to eq('0027')
    end

    it { is_expected.to contain_runit__restart('worker').with_owner('alice') }
  end

  context 'as a timer' do
    let(:params) do
      { command: '/usr/local/bin/purge-cache', timer: '*:0/15', persistent: true, jitter: 30, time_limit: 2.5 }
    end

    it 'writes the timer as the schedule, and its keys as given' do
      expect(yaml_of(catalogue, file)).to eq(
        'runit::services' => { 'worker' => {
          'command' => '/usr/local/bin/purge-cache', 'schedule' => '*:0/15', 'persistent' => true, 'jitter' => 30,
          'time_limit' => 2.5
        } },
      )
    end

    # A parameter named schedule would be the metaparameter, handed down to the file: the run
    # fails with "Could not find schedule *:0/15".
    it { is_expected.to contain_file(file).without_schedule }
  end

  context 'with resources and stop' do
    let(:params) { { command: '/usr/local/bin/web', resources: { 'memory_max' => '256M', 'tasks_max' => 64 }, stop: 'main' } }

    it 'writes them as given' do
      expect(yaml_of(catalogue, file)).to eq(
        'runit::services' => { 'worker' => {
          'command' => '/usr/local/bin/web', 'resources' => { 'memory_max' => '256M', 'tasks_max' => 64 }, 'stop' => 'main'
        } },
      )
    end
  end

  context 'with a sandbox' do
    let(:params) do
      { command: '/usr/local/bin/web', user: 'www-data',
        sandbox: { 'no_new_privileges' => true, 'capabilities' => ['net_bind_service'], 'read_write_paths' => ['-/var/lib/web'] } }
    end

    it 'writes it as given' do
      expect(yaml_of(catalogue, file)).to eq(
        'runit::services' => { 'worker' => {
          'command' => '/usr/local/bin/web', 'user' => 'www-data',
          'sandbox' => { 'no_new_privileges' => true, 'capabilities' => ['net_bind_service'], 'read_write_paths' => ['-/var/lib/web'] }
        } },
      )
    end
  end

  context 'with ensure absent' do
    let(:params) { { ensure: 'absent' } }

    it { is_expected.to contain_file(file).with_content(%r{ensure: absent}) }
    it { is_expected.not_to contain_runit__restart('worker') }
  end

  context 'with a title that is not a service name' do
    let(:title) { 'a/b' }

    it { is_expected.to compile.and_raise_error(%r{runit::service\[a/b\]: not a service name}) }
  end

  it_rejects_each({
    umask: 22,
    nice: 20,
    control: { 'z' => "#!/bin/sh\n" },
    check: { 'tcp' => 70_000 },
    env: { 'NOT-A-NAME' => 'x' },
    needs: ['../db'],
    restart: { 'give_up_after' => 0 },
    log: { 'timestamps' => 'always' },
    ensure: 'stopped',
    user: 'Not A Login',
    timer: '',
    persistent: 'yes',
    jitter: -1,
    time_limit: 0,
  }, with: { command: '/bin/true' })

  context 'with a parameter the data format does not have' do
    let(:params) { { command: '/bin/true', comand: '/bin/true' } }

    it { is_expected.to compile.and_raise_error(%r{no parameter named 'comand'}) }
  end
end
