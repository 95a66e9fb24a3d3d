# frozen_string_literal: true

require 'spec_helper'

describe 'runit' do
  data_yaml = "#{DATA_DIR}/data.yaml"

  # Every class and defined type of the module, compiled for every supported OS here; the other
  # specs compile on Debian 12 only (each catalog costs ~0.13 s).
  everything = <<~MANIFEST
    include runit::metrics
    runit::service { 'worker': command => '/usr/local/bin/worker', owner => 'kburdis' }
    runit::user { 'kburdis': }
    runit::restart { 'web': }
  MANIFEST

  on_supported_os.each do |os, os_facts|
    context "on #{os}, with every other class and defined type declared" do
      let(:facts) { os_facts }
      let(:pre_condition) { everything }

      it { is_expected.to compile.with_all_deps }

      it 'writes the data after runit::config, then installs, then applies', :aggregate_failures do
        is_expected.to contain_file(data_yaml)
          .with(ensure: 'file', owner: 'root', group: 'root', mode: '0600', show_diff: false)
          .that_requires('Class[runit::config]')
        is_expected.to contain_class('runit::install').that_requires("File[#{data_yaml}]")
        is_expected.to contain_class('runit::apply').that_requires('Class[runit::install]')
        is_expected.to contain_runit__restart('worker').with_owner('kburdis')
      end

      it "writes the platform's settings and the merge behaviour of services and users" do
        data = yaml_of(catalogue, data_yaml)
        expect(data['lookup_options']).to eq(
          'runit::services' => { 'merge' => 'deep' }, 'runit::users' => { 'merge' => 'deep' },
        )
        settings = data.reject { |key, _| key == 'lookup_options' }
        expected = {
          'void'  => { 'runit::service_dir' => '/var/service', 'runit::runtime' => 'system' },
          'artix' => { 'runit::sv_dir' => '/etc/runit/sv', 'runit::service_dir' => '/run/runit/service',
                       'runit::runtime' => 'system' },
        }.fetch(os, {})
        expect(settings).to eq(expected)
      end
    end
  end

  context 'with every top-level key' do
    let(:params) do
      {
        runtime: 'python', sv_dir: '/srv/sv', service_dir: '/srv/service', log_dir: '/srv/log',
        sv_timeout: 30, init: 'none', users: ['alice', 'bob'],
        services: { 'web' => { 'command' => '/usr/local/bin/web', 'env' => { 'GREETING' => 'a %{b}' } } },
        defaults: { 'umask' => '0027' }
      }
    end

    it 'writes them in one spelling, users as a hash, %{ escaped for hiera' do
      data = yaml_of(catalogue, data_yaml)
      expect(data).to include(
        'runit::runtime' => 'python', 'runit::sv_dir' => '/srv/sv', 'runit::service_dir' => '/srv/service',
        'runit::log_dir' => '/srv/log', 'runit::sv_timeout' => 30, 'runit::init' => 'none',
        'runit::users' => { 'alice' => {}, 'bob' => {} }, 'runit::defaults' => { 'umask' => '0027' }
      )
      expect(data['runit::services']['web']['env']['GREETING']).to eq("a %{literal('%')}{b}")
      expect(catalogue.resource('File', data_yaml)[:content]).to start_with('# Written by Puppet (class runit)')
    end
  end

  context 'with the original module data (runit: {package_file, users})' do
    let(:node) { 'legacy.example.com' }

    it 'reads the runit hash, fetches the package from the file server into the cache' do
      is_expected.to contain_file('/var/cache/runit-provision/runit-2.1.1-6.el6.x86_64.rpm')
        .with(ensure: 'file', source: 'puppet:///files/runit-2.1.1-6.el6.x86_64.rpm')
      data = yaml_of(catalogue, data_yaml)
      expect(data['runit::users']).to eq('apprun1' => {}, 'apprun2' => {})
      expect(data['runit::package_file']).to eq('/var/cache/runit-provision/runit-2.1.1-6.el6.x86_64.rpm')
    end
  end

  context 'with different settings in the two spellings' do
    let(:node) { 'mixed.example.com' }

    it { is_expected.to compile.with_all_deps }
    it { expect(yaml_of(catalogue, data_yaml)).to include('runit::users' => { 'apprun1' => {} }, 'runit::sv_timeout' => 30) }
  end

  context 'with one setting in both spellings' do
    let(:node) { 'both.example.com' }

    it { is_expected.to compile.and_raise_error(%r{given in both spellings: users \(runit::users and runit\.users\)}) }
  end

  context 'with a key the data format does not have in the runit hash' do
    let(:node) { 'bad-legacy.example.com' }

    it { is_expected.to compile.and_raise_error(%r{wrong type, unrecognized key 'package'}) }
  end

  {
    'a URL' => ['https://packages.example.com/runit.rpm', 'https://packages.example.com/runit.rpm'],
    'a puppet:// URL' => ['puppet:///modules/profile/runit.rpm', 'puppet:///modules/profile/runit.rpm'],
    'an absolute path' => ['/srv/packages/runit.rpm', '/srv/packages/runit.rpm'],
    'a bare name' => ['runit.rpm', 'puppet:///files/runit.rpm'],
  }.each do |kind, (package_file, source)|
    context "with package_file #{kind}" do
      let(:params) { { package_file: package_file } }

      it { is_expected.to contain_file('/var/cache/runit-provision/runit.rpm').with_source(source) }
      it { is_expected.to contain_file('/var/cache/runit-provision').with_ensure('directory') }
    end
  end

  it_rejects_each({
    runtime: 'bundled',
    package_file: '',
    sv_dir: 'etc/sv',
    sv_timeout: 0,
    init: 'openrc',
    users: ['Not A Login'],
    services: { '../escape' => { 'command' => '/bin/true' } },
    defaults: { 'command' => '/bin/true' },
  })

  context 'with a service of an unknown key' do
    let(:params) { { services: { 'web' => { 'comand' => '/usr/local/bin/web' } } } }

    it { is_expected.to compile.and_raise_error(%r{unrecognized key 'comand'}) }
  end
end
