# frozen_string_literal: true

require 'spec_helper'

describe 'runit::shell_escape' do
  it { is_expected.to run.with_params('/opt/runit-provision/bin/runit-provision').and_return('/opt/runit-provision/bin/runit-provision') }
  it { is_expected.to run.with_params("a b'c$d").and_return("a\\ b\\'c\\$d") }
  it { is_expected.to run.with_params('').and_return("''") }
  it { is_expected.to run.with_params(1).and_raise_error(ArgumentError, %r{expects a String value}) }
end
