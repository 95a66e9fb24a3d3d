# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Env' do
  it { is_expected.to allow_value('PORT' => '8080', 'WORKERS' => 4, 'DEBUG' => false, '_X1' => '', 'UNSET' => :undef) }

  it 'refuses names chpst -e cannot export and values that are not text', :aggregate_failures do
    [
      { '1PORT' => '8080' }, { 'MY-VAR' => 'x' }, { 'A B' => 'x' }, { 'LIST' => ['a'] }, { 'H' => { 'a' => 'b' } },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
