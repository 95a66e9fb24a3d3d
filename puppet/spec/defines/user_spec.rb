# frozen_string_literal: true

require 'spec_helper'

describe 'runit::user' do
  let(:title) { 'kburdis' }

  file = "#{DATA_DIR}/user-kburdis.yaml"

  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }

  context 'as the original module took it' do
    it { is_expected.to contain_class('runit') }

    it 'joins the login to the data, with the defaults' do
      is_expected.to contain_file(file)
        .with(ensure: 'file', owner: 'root', group: 'root', mode: '0600', show_diff: false)
        .with_content(%r{\A# Written by Puppet: runit::user\[kburdis\]\n})
        .that_notifies('Exec[runit-provision apply]')
      expect(yaml_of(catalogue, file)).to eq('runit::users' => { 'kburdis' => {} })
    end
  end

  context 'with the original module group' do
    let(:params) { { group: 'users' } }

    it { expect(yaml_of(catalogue, file)['runit::users']['kburdis']).to eq('groups' => ['users']) }
  end

  context 'with a tree and services of its own' do
    let(:params) do
      { home: '/srv/kburdis', groups: ['kburdis', 'developers'], sv_dir: '/srv/kburdis/sv',
        service_dir: '/srv/kburdis/service', log_dir: '/srv/kburdis/logs', path: '/usr/bin:/bin',
        services: { 'notebook' => { 'command' => 'jupyter notebook --port 8888' } } }
    end

    it do
      expect(yaml_of(catalogue, file)['runit::users']['kburdis']).to eq(
        'home' => '/srv/kburdis', 'groups' => ['kburdis', 'developers'], 'sv_dir' => '/srv/kburdis/sv',
        'service_dir' => '/srv/kburdis/service', 'log_dir' => '/srv/kburdis/logs', 'path' => '/usr/bin:/bin',
        'services' => { 'notebook' => { 'command' => 'jupyter notebook --port 8888' } },
      )
    end
  end

  context 'with resources bounding the whole tree' do
    let(:params) { { resources: { 'memory_max' => '2G', 'tasks_max' => 512 } } }

    it do
      expect(yaml_of(catalogue, file)['runit::users']['kburdis']).to eq(
        'resources' => { 'memory_max' => '2G', 'tasks_max' => 512 },
      )
    end
  end

  context 'with both group and groups' do
    let(:params) { { group: 'users', groups: ['users'] } }

    it { is_expected.to compile.and_raise_error(%r{runit::user\[kburdis\]: give groups or group}) }
  end

  context 'with a title that is not a login' do
    let(:title) { 'k burdis' }

    it { is_expected.to compile.and_raise_error(%r{runit::user\[k burdis\]: not a login name}) }
  end

  it_rejects_each({
    home: 'home/kburdis',
    groups: [],
    group: 'Not A Group',
    services: { '../x' => { 'command' => '/bin/true' } },
    path: '',
  })
end
