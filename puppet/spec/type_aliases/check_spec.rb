# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::Check' do
  it 'allows a script, or one of tcp, http, command' do
    is_expected.to allow_values(
      "#!/bin/sh\nexec pg_isready -q\n", { 'tcp' => 6379 }, { 'tcp' => '10.0.0.5:5432' },
      { 'http' => 'http://127.0.0.1:8080/health' }, { 'command' => 'pg_isready -h 127.0.0.1' },
      { 'command' => ['pg_isready', '-q'] }
    )
  end

  it 'refuses two kinds, none, or a bad value', :aggregate_failures do
    [
      { 'tcp' => 80, 'http' => 'http://127.0.0.1/' }, {}, { 'udp' => 53 }, '', { 'tcp' => 65_536 },
      { 'http' => 'ftp://example.com/' }, { 'command' => [] },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
