# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Users' do
  it { is_expected.to allow_values(['apprun1', 'apprun2'], [], { 'alice' => { 'groups' => ['developers'] }, 'bob' => :undef }, {}) }

  it 'refuses bad logins and unknown settings', :aggregate_failures do
    [['Not A Login'], { '1alice' => {} }, { 'alice' => { 'shell' => '/bin/sh' } }, 'alice'].each { |value| is_expected.not_to allow_value(value) }
  end
end
