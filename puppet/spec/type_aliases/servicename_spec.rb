# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Servicename' do
  it { is_expected.to allow_values('web', 'db-proxy', 'getty@tty1', '9p', 'x%y+z,w=v:u') }

  it "refuses what is not one safe path component: '..', '/', blanks, a leading '.' or '-'", :aggregate_failures do
    ['', '..', '.hidden', '-x', 'a/b', 'a b', 'é'].each { |value| is_expected.not_to allow_value(value) }
  end
end
