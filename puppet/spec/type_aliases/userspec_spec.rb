# frozen_string_literal: true

require 'spec_helper'

describe 'Runit::UserSpec' do
  it do
    is_expected.to allow_values(
      {}, { 'groups' => 'alice' },
      { 'home' => '/home/alice', 'groups' => ['alice', 'developers'], 'sv_dir' => '/home/alice/sv',
        'service_dir' => '/home/alice/service', 'log_dir' => '/home/alice/logs/runsvdir', 'path' => '/usr/bin:/bin',
        'services' => { 'notebook' => { 'command' => 'jupyter notebook --port 8888' }, 'old' => :undef } }
    )
  end

  it 'refuses an empty group list, relative paths, bad service names, unknown keys', :aggregate_failures do
    [
      { 'groups' => [] }, { 'home' => 'home/alice' }, { 'services' => { 'a/b' => {} } }, { 'path' => '' }, { 'login' => 'alice' },
    ].each { |value| is_expected.not_to allow_value(value) }
  end
end
