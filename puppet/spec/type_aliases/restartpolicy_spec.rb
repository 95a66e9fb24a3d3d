# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::RestartPolicy' do
  it do
    is_expected.to allow_values({ 'give_up_after' => 10 }, { 'give_up_after' => 1, 'within' => 1 },
                                { 'give_up_after' => 64, 'within' => 86_400 },
                                { 'delay' => 1, 'max_delay' => 60, 'steps' => 6, 'jitter' => 2 },
                                { 'delay' => 0.5, 'reset_after' => 30.5 }, { 'jitter' => 0 },
                                { 'give_up_after' => 5, 'delay' => 2 })
  end

  # A hash with neither give_up_after nor a back-off key is the CLI's to judge: the data's
  # defaults merge under a service's own (docs/restart.md), so `within` alone is not wrong here.
  it 'refuses values out of bounds and keys it does not know', :aggregate_failures do
    [
      { 'give_up_after' => 0 }, { 'give_up_after' => 65 },
      { 'give_up_after' => 5, 'within' => 0 }, { 'give_up_after' => 5, 'within' => 86_401 },
      { 'give_up_after' => 5, 'after' => 1 }, { 'delay' => -1 }, { 'delay' => 86_400.5 },
      { 'max_delay' => 90_000, 'steps' => 2 }, { 'steps' => 0 }, { 'steps' => 65 },
      { 'reset_after' => 0.5 }, { 'jitter' => '2' },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
