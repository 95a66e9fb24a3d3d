# frozen_string_literal: true

require 'spec_helper'

describe 'runit::to_yaml' do
  it { is_expected.to run.with_params('services' => { 'web' => { 'run' => 'exec web' } }).and_return("---\nservices:\n  web:\n    run: exec web\n") }
  it { is_expected.to run.with_params(['a', 1, true]).and_return("---\n- a\n- 1\n- true\n") }

  it 'quotes what YAML would read as another type' do
    is_expected.to run.with_params('port' => '8080', 'on' => 'yes').and_return("---\nport: '8080'\n'on': 'yes'\n")
  end

  it { is_expected.to run.with_params.and_raise_error(ArgumentError) }
  it { is_expected.to run.with_params(:symbol).and_raise_error(ArgumentError, %r{expects a Data value}) }
end
