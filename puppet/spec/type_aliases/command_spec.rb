# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Command' do
  it { is_expected.to allow_values('/usr/local/bin/web --port 8080', ['/usr/bin/redis-server', '--port', 6379], ['x', '']) }

  it 'refuses empty commands and what is not words', :aggregate_failures do
    ['', [], [['/bin/true']], [true], { 'argv' => ['/bin/true'] }].each { |value| is_expected.not_to allow_value(value) }
  end
end
