# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Settings' do
  it "allows the original puppet-runit module's hash, and every key at once" do
    is_expected.to allow_values(
      {}, { 'package_file' => 'runit-2.1.1-6.el6.x86_64.rpm', 'users' => ['apprun1', 'apprun2'] },
      { 'runtime' => 'system', 'package_file' => 'runit.deb', 'sv_dir' => '/etc/sv', 'service_dir' => '/etc/service',
        'log_dir' => '/var/log', 'sv_timeout' => 7, 'init' => 'runit', 'users' => { 'alice' => :undef },
        'services' => { 'web' => { 'command' => '/usr/local/bin/web' } }, 'defaults' => { 'umask' => '0022' } }
    )
  end

  it 'refuses unknown keys and values out of bounds', :aggregate_failures do
    [
      { 'runtime' => 'bundled' }, { 'sv_timeout' => 0 }, { 'sv_timeout' => 3601 }, { 'init' => 'openrc' },
      { 'package' => 'runit.rpm' }, { 'package_file' => '' }, { 'service_dir' => 'service' },
      { 'services' => { '..' => {} } },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
