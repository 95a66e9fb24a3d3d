# frozen_string_literal: true

require 'spec_helper'

# Values are checked together: an example costs a Puppet setup (~0.07 s), a value ~0.02 s.
describe 'Runit::Umask' do
  it { is_expected.to allow_values('0022', '022', '0777') }

  # A number is refused: YAML reads 0022 as 18 (or 22), never as the umask meant.
  it 'refuses numbers and what is not three octal digits', :aggregate_failures do
    [22, '22', '0888', '00022', "022\n"].each { |value| is_expected.not_to allow_value(value) }
  end
end
