# frozen_string_literal: true

require 'spec_helper'

# runit::install reads class runit's settings: it is declared by `include runit`, its
# parameters come from hiera (spec/fixtures/hiera/nodes/).
describe 'runit::install' do
  let(:pre_condition) { 'include runit' }

  venv = '/opt/runit-provision'
  pip = ["#{venv}/bin/python", '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check']

  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }

  { ['Debian', '12'] => '/usr/bin/python3', ['RedHat', '9'] => '/usr/bin/python3',
    ['RedHat', '8'] => '/usr/bin/python3.11', ['Rocky', '8'] => '/usr/bin/python3.11' }.each do |(name, release), python|
    context "on #{name} #{release}" do
      let(:facts) { os_facts(name, release) }

      it "makes the virtualenv with #{python}" do
        is_expected.to contain_exec('runit-provision virtualenv')
          .with(command: [python, '-m', 'venv', venv], creates: "#{venv}/bin/python", umask: '0022')
      end
    end
  end

  context 'with the module data' do
    it 'installs runit-provision from pip, once' do
      is_expected.to contain_exec('runit-provision pip install')
        .with(command: pip + ['runit-provision'], creates: CLI, umask: '0022')
        .that_requires('Exec[runit-provision virtualenv]')
    end
    it { is_expected.not_to contain_package('runit') }
  end

  context 'with a pinned package_source' do
    let(:node) { 'pinned.example.com' }

    it 'keeps that version installed' do
      is_expected.to contain_exec('runit-provision pip install').with(
        command: pip + ['runit-provision==0.1.0'],
        unless: [['/bin/sh', '-c', 'test "$("$0" --version 2>/dev/null)" = "runit-provision $1"', CLI, '0.1.0']],
      )
    end
  end

  context 'with a wheel as package_file' do
    let(:node) { 'wheel.example.com' }
    wheel = '/var/cache/runit-provision/runit_provision-0.1.0-py3-none-any.whl'

    it "installs the wheel, keeping its version" do
      is_expected.to contain_file(wheel).with_source('puppet:///files/runit_provision-0.1.0-py3-none-any.whl')
      is_expected.to contain_exec('runit-provision pip install')
        .with(command: pip + [wheel])
        .with_unless([['/bin/sh', '-c', 'test "$("$0" --version 2>/dev/null)" = "runit-provision $1"', CLI, '0.1.0']])
        .that_requires("File[#{wheel}]")
    end
  end

  context 'with pip_options and another virtualenv' do
    let(:node) { 'tuned.example.com' }

    it do
      is_expected.to contain_exec('runit-provision pip install')
        .with_command(['/srv/runit-provision/bin/python', '-m', 'pip', 'install', '--quiet',
                       '--disable-pip-version-check', '--no-index', '--find-links', '/srv/wheels', 'runit-provision'])
    end
  end

  context 'with runtime system' do
    let(:node) { 'system.example.com' }

    it { is_expected.to contain_package('runit').with_ensure('installed').without_provider }
  end

  context 'with runtime system and an RPM' do
    let(:node) { 'system-rpm.example.com' }
    rpm = '/var/cache/runit-provision/runit-2.1.2-1.el9.x86_64.rpm'

    it 'installs the runit package from the fetched file' do
      is_expected.to contain_package('runit').with(ensure: 'installed', provider: 'rpm', source: rpm)
        .that_requires("File[#{rpm}]")
    end
  end

  context 'with runtime system and a package that is neither an .rpm nor a .deb' do
    let(:node) { 'system-zip.example.com' }

    it { is_expected.to compile.and_raise_error(%r{runtime system installs runit from an \.rpm or a \.deb}) }
  end

  context 'with runtime system under a staging root' do
    let(:node) { 'system-staged.example.com' }

    it { is_expected.not_to contain_package('runit') }
  end

  context 'with manage_package false' do
    let(:node) { 'unmanaged.example.com' }

    it { is_expected.not_to contain_exec('runit-provision virtualenv') }
    it { is_expected.not_to contain_exec('runit-provision pip install') }
  end

  context 'with a relative venv_dir' do
    let(:node) { 'bad-venv.example.com' }

    it { is_expected.to compile.and_raise_error(%r{parameter 'venv_dir'}) }
  end
end
