# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Limits' do
  it 'takes each of chpst -o -p -m -d -s -c -t -f -r' do
    is_expected.to allow_values({}, 'nofile' => 1024, 'nproc' => 64, 'mem' => 0, 'data' => 1, 'stack' => 8_388_608,
                                    'core' => 0, 'cpu' => 60, 'fsize' => 1_000_000, 'rss' => 100_000_000)
  end

  it 'refuses negative, non-integer and unknown limits', :aggregate_failures do
    [{ 'nofile' => -1 }, { 'nofile' => '1024' }, { 'files' => 1024 }, { 'cpu' => 1.5 }].each { |value| is_expected.not_to allow_value(value) }
  end
end
