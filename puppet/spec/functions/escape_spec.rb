# frozen_string_literal: true

require 'spec_helper'

describe 'runit::escape' do
  literal = "%{literal('%')}{"

  it { is_expected.to run.with_params('printf "%{x}"').and_return("printf \"#{literal}x}\"") }
  it { is_expected.to run.with_params('no braces, 100%').and_return('no braces, 100%') }

  it 'walks hashes (keys too) and arrays, and keeps other data' do
    is_expected.to run.with_params('a%{b}' => ['x%{y}', 1, true], 'n' => { 'm' => 'z%%{' }, 'u' => nil)
                      .and_return("a#{literal}b}" => ["x#{literal}y}", 1, true], 'n' => { 'm' => "z%#{literal}" }, 'u' => nil)
  end

  it { is_expected.to run.with_params.and_raise_error(ArgumentError) }
  it { is_expected.to run.with_params(:symbol).and_raise_error(ArgumentError, %r{expects a Data value}) }
end
