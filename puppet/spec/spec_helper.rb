# frozen_string_literal: true

# rspec-puppet for the module, run by `rake spec` (Rakefile): spec/fixtures/modules holds this
# module and Debian's stdlib (.fixtures.yml). rspec-puppet-facts and facterdb are not packaged
# by Debian, so each supported OS's facts are made here from metadata.json, with the facts the
# module and its hiera.yaml read. Hiera: the module's data, and spec/fixtures/hiera for the
# examples that need a node's data (`let(:node)` names the file).
require 'json'
require 'yaml'

RSpec.configure do |c|
  c.mock_with :rspec # before module_spec_helper, which otherwise picks mocha
end

require 'puppetlabs_spec_helper/module_spec_helper'

# Each of { parameter => a value its type refuses } fails the catalog naming that parameter;
# `with` holds the other parameters the class or define needs.
module RejectsBadParameters
  def it_rejects_each(bad_values, with: {})
    bad_values.each do |param, value|
      context "with #{param} => #{value.inspect}" do
        let(:params) { with.merge(param => value) }

        it { is_expected.to compile.and_raise_error(%r{parameter '#{param}'}) }
      end
    end
  end
end

RSpec.configure { |c| c.extend RejectsBadParameters }

METADATA = JSON.parse(File.read(File.expand_path('../metadata.json', __dir__)))

# os.family as facter 4 derives it from os-release's ID_LIKE or ID (Facter::Util::Facts): Void
# and Artix are in none of facter's families, so the family is the capitalised ID.
OS_FAMILY = {
  'Debian' => 'Debian',
  'Ubuntu' => 'Debian',
  'RedHat' => 'RedHat',
  'Rocky'  => 'RedHat',
  'Void'   => 'Void',
  'Artix'  => 'Artix',
}.freeze

def os_facts(name, release = nil)
  family = OS_FAMILY.fetch(name) { raise "spec_helper: no os.family for #{name} (OS_FAMILY)" }
  os = { 'name' => name, 'family' => family, 'architecture' => 'amd64', 'hardware' => 'x86_64' }
  # Ubuntu's major release is "22.04"; a rolling release (Void, Artix: no VERSION_ID) has none.
  if release
    major = name == 'Ubuntu' ? release : release.split('.').first
    os['release'] = { 'full' => release, 'major' => major }
  end
  {
    'os'         => os,
    'kernel'     => 'Linux',
    'path'       => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'networking' => { 'hostname' => 'web01', 'domain' => 'example.com', 'fqdn' => 'web01.example.com' },
  }
end

# { "name-release" => facts } for every entry of metadata.json's operatingsystem_support.
def on_supported_os
  METADATA['operatingsystem_support'].each_with_object({}) do |entry, all|
    (entry['operatingsystemrelease'] || [nil]).each do |release|
      all[[entry['operatingsystem'], release].compact.join('-').downcase] = os_facts(entry['operatingsystem'], release)
    end
  end
end

# The data a File resource of the catalogue holds (data.yaml, service-NAME.yaml, user-LOGIN.yaml).
def yaml_of(catalogue, path)
  YAML.safe_load(catalogue.resource('File', path)[:content])
end

CLI = '/opt/runit-provision/bin/runit-provision'
DATA_DIR = '/etc/runit-provision'
HIERA = ['--hiera', "#{DATA_DIR}/hiera.yaml"].freeze

RSpec.configure do |c|
  c.default_facts = os_facts('Debian', '12')
  c.hiera_config = File.expand_path('fixtures/hiera/hiera.yaml', __dir__)
  c.before(:each) do
    # Puppet 8's defaults, under Puppet 7 too: deprecated or ambiguous language fails the
    # catalog here, not only warns, and so does an unknown variable (a legacy fact among them).
    Puppet.settings[:strict] = :error
    Puppet.settings[:strict_variables] = true
  end
end

# rspec-puppet makes a catalog terminus for each example, and each asks facter for this
# machine's fqdn, ipaddress and ipaddress6 (its server facts) right after rspec-puppet cleared
# Facter for the example's facts: facter ran `ip` and read the network again, example after
# example (~12% of `rake spec`'s CPU). They do not change during a run: asked once.
require 'puppet/indirector/catalog/compiler'
module ServerFactsOnce
  class << self
    attr_accessor :facts
  end

  def set_server_facts
    ServerFactsOnce.facts ||= begin
      super
      @server_facts
    end
    @server_facts = ServerFactsOnce.facts.dup
  end
end
Puppet::Resource::Catalog::Compiler.prepend(ServerFactsOnce)
