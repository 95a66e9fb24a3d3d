# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Log' do
  it 'allows none, the stock logger, every svlogd setting, or a whole log/run' do
    is_expected.to allow_values(
      true, false, {},
      { 'dir' => '/var/log/web', 'user' => 'log', 'timestamps' => 'iso', 'size' => 5_000_000, 'num' => 20,
        'min' => 2, 'timeout' => 86_400, 'processor' => 'gzip', 'udp' => '10.0.0.1:514', 'udp_only' => false,
        'prefix' => 'web: ', 'patterns' => ['-*DEBUG*', '+*'], 'line_length' => 2000 },
      { 'dir' => '/var/log/web', 'run' => "#!/bin/sh\nexec svlogd -tt /var/log/web\n" }
    )
  end

  it 'refuses bad settings and unknown keys', :aggregate_failures do
    [
      { 'timestamps' => 'always' }, { 'dir' => 'var/log' }, { 'size' => -1 }, { 'line_length' => 0 },
      { 'patterns' => [''] }, { 'rotate' => true }, 'yes',
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
