# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::ControlLetters' do
  it { is_expected.to allow_values({}, { 'h' => "#!/bin/sh\nexec kill -USR1 $(cat pid)\n", 't' => "#!/bin/sh\n" }) }

  it 'takes every letter runsv looks a script up for' do
    is_expected.to allow_value('udoxtkpchaiq12'.chars.to_h { |letter| [letter, "#!/bin/sh\n"] })
  end

  it 'refuses other letters and empty scripts', :aggregate_failures do
    [
      { 'z' => "#!/bin/sh\n" }, { 'H' => "#!/bin/sh\n" }, { 'ht' => "#!/bin/sh\n" }, { '3' => "#!/bin/sh\n" },
      { 'h' => '' }, { 'h' => 1 }, ['h'],
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
