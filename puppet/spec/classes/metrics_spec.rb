# frozen_string_literal: true

require 'spec_helper'

describe 'runit::metrics' do
  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }

  context 'with the defaults' do
    it { is_expected.to contain_class('runit') }

    it "declares the runit service runit-metrics: runit-provision metrics into node_exporter's directory every 30 s" do
      is_expected.to contain_runit__service('runit-metrics').with_run(
        "while :; do #{CLI} metrics --textfile /var/lib/prometheus/node-exporter --hiera #{DATA_DIR}/hiera.yaml " \
        "|| echo 'runit-metrics: metrics failed'; sleep 30; done\n",
      )
      is_expected.to contain_file("#{DATA_DIR}/service-runit-metrics.yaml").that_notifies('Exec[runit-provision apply]')
    end
  end

  context 'with another directory and interval' do
    let(:params) { { textfile_dir: '/srv/node exporter', interval: 15 } }

    it 'quotes the words it puts into the run script' do
      is_expected.to contain_runit__service('runit-metrics').with_run(%r{--textfile /srv/node\\ exporter .*; sleep 15; done\n\z})
    end
  end

  it_rejects_each({ textfile_dir: 'var/lib/prometheus', interval: 0 })

  context 'with an interval over an hour' do
    let(:params) { { interval: 3601 } }

    it { is_expected.to compile.and_raise_error(%r{parameter 'interval' expects an Integer\[1, 3600\] value}) }
  end
end
