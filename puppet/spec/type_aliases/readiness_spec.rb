# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Readiness' do
  it do
    is_expected.to allow_values('notify', 'check',
                                { 'notify' => { 'access' => 'main' } },
                                { 'notify' => { 'access' => 'all' } }, { 'fd' => 3 })
  end

  it 'refuses unknown kinds and access words', :aggregate_failures do
    [
      'poll', '', { 'fd' => 2 }, { 'notify' => { 'access' => 'some' } },
      { 'notify' => { 'timeout' => 3 } },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
