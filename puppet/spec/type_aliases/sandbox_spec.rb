# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Sandbox' do
  it 'takes flags, capabilities in any spelling, the protect words and path lists' do
    is_expected.to allow_values(
      {}, { 'no_new_privileges' => true, 'private_tmp' => false, 'private_devices' => true, 'private_network' => true,
            'protect_kernel' => true },
      { 'capabilities' => ['net_bind_service', 'CAP_SYS_NICE', 'Cap_Net_Raw', 'checkpoint_restore'] }, { 'capabilities' => [] },
      { 'protect_system' => true }, { 'protect_system' => false }, { 'protect_system' => 'full' },
      { 'protect_system' => 'strict' }, { 'protect_system' => 'true' }, { 'protect_home' => 'read-only' },
      { 'protect_home' => 'tmpfs' }, { 'protect_home' => true },
      { 'read_write_paths' => ['/var/lib/app', '-/srv/a b', '/a/..b'], 'read_only_paths' => [], 'inaccessible_paths' => ['/home'] },
    )
  end

  it 'refuses unknown capabilities and keys, other words, relative or unnormalised paths', :aggregate_failures do
    [
      { 'capabilities' => ['flying'] }, { 'capabilities' => 'net_raw' }, { 'capabilities' => ['cap_'] },
      { 'protect_system' => 'read-only' }, { 'protect_home' => 'strict' }, { 'no_new_privileges' => 'yes' },
      { 'private_tmp' => 1 }, { 'read_write_paths' => ['var/lib/app'] }, { 'read_only_paths' => ['/srv/../etc'] },
      { 'inaccessible_paths' => '/home' }, { 'read_write_paths' => ['/var/'] }, { 'read_write_paths' => ['//var'] },
      { 'read_write_paths' => ['/var/.'] }, { 'read_write_paths' => ['/'] }, { 'seccomp' => true },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
