# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Login' do
  it { is_expected.to allow_values('alice', 'www-data', '_apt', 'machine$') }

  it 'refuses what useradd refuses', :aggregate_failures do
    ['', '1alice', 'al ice', '../root', 1001].each { |value| is_expected.not_to allow_value(value) }
  end
end
