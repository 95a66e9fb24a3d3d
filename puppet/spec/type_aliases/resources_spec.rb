# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Resources' do
  it 'takes bytes, tasks, a CPU percent, weights and infinity' do
    is_expected.to allow_values({}, { 'memory_max' => '256M', 'memory_high' => 209_715_200, 'tasks_max' => 64,
                                      'cpu_quota' => '50%', 'cpu_weight' => 100, 'io_weight' => 10_000 },
                                { 'memory_max' => 'infinity', 'tasks_max' => 'infinity', 'cpu_quota' => '200%' })
  end

  it 'refuses a bare CPU number, sizes systemd spells otherwise, weights out of range and unknown keys',
     :aggregate_failures do
    [{ 'cpu_quota' => 50 }, { 'memory_max' => '256MB' }, { 'memory_max' => '50%' }, { 'tasks_max' => 0 },
     { 'cpu_weight' => 0 }, { 'io_weight' => 10_001 }, { 'cpu_shares' => 5 }].each { |value| is_expected.not_to allow_value(value) }
  end
end
