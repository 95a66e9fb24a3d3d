# frozen_string_literal: true

require 'spec_helper'

# runit::apply reads class runit's settings: it is declared by `include runit`, its parameters
# come from hiera (spec/fixtures/hiera/nodes/).
describe 'runit::apply' do
  let(:pre_condition) { 'include runit' }

  data_files = ["File[#{DATA_DIR}/hiera.yaml]", "File[#{DATA_DIR}/data.yaml]"]
  job = HIERA + ['--brief', '--wait', '15', '--lock-timeout', '60', '--profile-d', '/etc/profile.d']
  # The guards run the CLI only where it is installed (a noop run on a new node).
  if_installed = ['/bin/sh', '-c', 'test -x "$0" && exec "$0" "$@"', CLI]

  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }

  context 'with the module data' do
    it 'converges the runtime first, guarded by install-runtime --check' do
      is_expected.to contain_exec('runit-provision install-runtime').with(
        command: [CLI, 'install-runtime'] + HIERA,
        unless: [if_installed + ['install-runtime', '--check'] + HIERA],
        logoutput: true, timeout: 600,
      ).that_subscribes_to(data_files).that_comes_before('Exec[runit-provision apply]')
    end

    it 'applies the data, guarded by plan' do
      is_expected.to contain_exec('runit-provision apply').with(
        command: [CLI, 'apply'] + job,
        unless: [if_installed + ['plan'] + job],
        logoutput: true, timeout: 600,
        provider: 'runit_provision',
      ).that_subscribes_to(data_files)
    end

    it 'writes the status command of the runit_services fact' do
      is_expected.to contain_file("#{DATA_DIR}/status").with(owner: 'root', mode: '0700')
        .with_content(%r{^exec #{CLI} status --fact --hiera #{DATA_DIR}/hiera\.yaml "\$@"$})
    end

    it 'runs nothing but its two execs' do
      execs = catalogue.resources.select { |resource| resource.type == 'Exec' && resource.tags.include?('runit::apply') }
      expect(execs.map(&:title)).to contain_exactly('runit-provision install-runtime', 'runit-provision apply')
    end
  end

  context 'with a staging root' do
    let(:node) { 'staged.example.com' }
    root = ['--hiera', "/srv/images/web#{DATA_DIR}/hiera.yaml", '--root', '/srv/images/web']

    it 'passes --root to every command' do
      is_expected.to contain_exec('runit-provision install-runtime').with_command([CLI, 'install-runtime'] + root)
      is_expected.to contain_exec('runit-provision apply').with_command([CLI, 'apply'] + root + job.drop(2))
      is_expected.to contain_file("/srv/images/web#{DATA_DIR}/status").with_content(%r{--root /srv/images/web "\$@"$})
    end
  end

  context 'with its parameters from hiera' do
    let(:node) { 'tuned.example.com' }
    cli = '/srv/runit-provision/bin/runit-provision'

    it { is_expected.not_to contain_exec('runit-provision install-runtime') }
    it { is_expected.not_to contain_file("#{DATA_DIR}/status") }

    it do
      is_expected.to contain_exec('runit-provision apply').with(
        command: [cli, 'apply'] + HIERA + ['--brief', '--wait', '30', '--lock-timeout', '5', '--profile-d', 'none'],
        logoutput: 'on_failure',
        provider: 'posix',
      )
    end
  end

  context 'with a timeout of 0' do
    let(:node) { 'bad-timeout.example.com' }

    it { is_expected.to compile.and_raise_error(%r{parameter 'timeout' expects an Integer\[1\] value}) }
  end

  context 'with logoutput sometimes' do
    let(:node) { 'bad-logoutput.example.com' }

    it { is_expected.to compile.and_raise_error(%r{parameter 'logoutput'}) }
  end
end
