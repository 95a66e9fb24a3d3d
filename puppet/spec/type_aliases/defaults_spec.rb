# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Defaults' do
  it do
    is_expected.to allow_values(
      { 'umask' => '0022', 'log' => { 'timestamps' => 'tai64n', 'size' => 1_000_000, 'num' => 10 } },
      { 'user' => 'app', 'env' => { 'LANG' => 'C.UTF-8' }, 'restart_on_change' => false, 'adopt' => false },
      { 'persistent' => true, 'jitter' => 60, 'time_limit' => 3600 },
      { 'sandbox' => { 'no_new_privileges' => true, 'private_tmp' => true } },
    )
  end

  it 'refuses what belongs to one service, and badly typed values', :aggregate_failures do
    ['command', 'run', 'needs', 'template', 'owner', 'schedule'].each { |key| is_expected.not_to allow_value(key => 'x') }
    [{ 'umask' => 22 }, { 'control' => { 'z' => 'x' } }, { 'nice' => -21 }].each { |value| is_expected.not_to allow_value(value) }
  end
end
