# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::RestartPolicy' do
  it do
    is_expected.to allow_values({ 'give_up_after' => 10 }, { 'give_up_after' => 1, 'within' => 1 },
                                { 'give_up_after' => 64, 'within' => 86_400 })
  end

  it 'refuses a policy without give_up_after and values out of bounds', :aggregate_failures do
    [
      {}, { 'within' => 60 }, { 'give_up_after' => 0 }, { 'give_up_after' => 65 },
      { 'give_up_after' => 5, 'within' => 0 }, { 'give_up_after' => 5, 'within' => 86_401 },
      { 'give_up_after' => 5, 'after' => 1 },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
