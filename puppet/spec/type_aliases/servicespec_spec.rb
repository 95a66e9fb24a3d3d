# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::ServiceSpec' do
  it 'allows every key of the data format' do
    is_expected.to allow_values(
      {}, { 'command' => '/usr/local/bin/web' }, { 'run' => "#!/bin/sh\nexec web\n", 'owner' => 'alice' },
      { 'command' => ['/usr/local/bin/web'], 'user' => 'www-data', 'group' => 'www-data', 'env' => { 'PORT' => '8080' },
        'cwd' => '/srv/web', 'umask' => '0027', 'nice' => -5, 'limits' => { 'nofile' => 4096 },
        'finish' => "#!/bin/sh\n", 'check' => { 'tcp' => 8080 }, 'control' => { 't' => "#!/bin/sh\n" }, 'down' => false,
        'enabled' => true, 'ensure' => 'present', 'restart_on_change' => true, 'restart' => { 'give_up_after' => 3 },
        'needs' => ['db'], 'log' => { 'num' => 10 }, 'template' => 'templates/run.j2', 'adopt' => true }
    )
  end

  it 'allows a timer: schedule, persistent, jitter and time_limit' do
    is_expected.to allow_values(
      { 'command' => '/usr/local/bin/purge', 'schedule' => '*:0/15' },
      { 'run' => "#!/bin/sh\nexec backup\n", 'schedule' => '30 2 * * *', 'persistent' => true, 'jitter' => 30,
        'time_limit' => 600 },
      { 'command' => '/bin/true', 'schedule' => 'daily', 'jitter' => 2.5, 'time_limit' => 0.5 },
    )
  end

  it 'allows resources and stop' do
    is_expected.to allow_values(
      { 'command' => '/usr/local/bin/web', 'resources' => { 'memory_max' => '256M', 'cpu_quota' => '50%' } },
      { 'command' => '/usr/local/bin/web', 'stop' => 'main' },
    )
  end

  it 'allows a sandbox' do
    is_expected.to allow_values(
      { 'command' => '/usr/local/bin/web', 'user' => 'www-data',
        'sandbox' => { 'no_new_privileges' => true, 'capabilities' => ['net_bind_service'], 'protect_system' => 'strict' } },
    )
  end

  it "refuses a timer's badly typed values", :aggregate_failures do
    [
      { 'schedule' => '' }, { 'schedule' => 15 }, { 'persistent' => 'yes' }, { 'jitter' => -1 },
      { 'jitter' => '30' }, { 'time_limit' => 0 }, { 'time_limit' => 0.0 }, { 'time_limit' => 31_622_401 },
    ].each { |value| is_expected.not_to allow_value(value) }
  end

  # Puppet checks the shape; "exactly one of command and run" is the CLI's (a file:line:col message).
  it 'refuses unknown keys and badly typed values', :aggregate_failures do
    [
      { 'comand' => '/bin/true' }, { 'umask' => 22 }, { 'nice' => 20 }, { 'needs' => ['../db'] },
      { 'ensure' => 'running' }, { 'cwd' => 'srv' }, { 'control' => { 'z' => 'x' } }, { 'user' => 'a b' },
      { 'log' => 'yes' }, { 'down' => 'true' }, { 'stop' => 'process' }, { 'resources' => { 'cpu_quota' => 50 } },
      { 'sandbox' => { 'protect_home' => 'strict' } }, { 'sandbox' => ['private_tmp'] },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
