# frozen_string_literal: true

require 'spec_helper'

describe 'runit::config' do
  # Compiled for every supported OS in spec/classes/runit_spec.rb.
  it { is_expected.to compile.with_all_deps }

  context 'with the module data' do
    it "owns the data directory: root's only, what nothing declares is removed" do
      [DATA_DIR, "#{DATA_DIR}/templates"].each do |dir|
        is_expected.to contain_file(dir).with(
          ensure: 'directory', owner: 'root', group: 'root', mode: '0700', recurse: true, purge: true, force: true,
        )
      end
    end

    it 'writes the hiera.yaml that joins the declarations to the data of class runit' do
      is_expected.to contain_file("#{DATA_DIR}/hiera.yaml").with(ensure: 'file', mode: '0600')
      hiera = yaml_of(catalogue, "#{DATA_DIR}/hiera.yaml")
      expect(hiera['version']).to eq(5)
      expect(hiera['hierarchy'].map { |level| level['glob'] || level['path'] }).to eq(
        ['service-*.yaml', 'user-*.yaml', 'data.yaml'],
      )
    end

    it 'makes no parent directories outside a staging root' do
      expect(catalogue.resource('File', '/etc')).to be_nil
    end
  end

  context 'with a staging root' do
    let(:params) { { root: '/srv/images/web' } }

    it 'stages the data directory and makes its parents' do
      is_expected.to contain_file('/srv/images/web/etc/runit-provision').with_ensure('directory')
      is_expected.to contain_file('/srv/images/web/etc/runit-provision/hiera.yaml')
      is_expected.to contain_file('/srv/images/web/etc').with_ensure('directory')
      expect(catalogue.resource('File', '/srv/images/web')).to be_nil
    end
  end

  context 'with templates' do
    let(:params) do
      { templates: { 'run.j2' => "#!/bin/sh\nexec {{ command }}\n",
                     'log.j2' => { 'source' => 'puppet:///modules/profile/log.j2' } } }
    end

    it { is_expected.to contain_file("#{DATA_DIR}/templates/run.j2").with(content: "#!/bin/sh\nexec {{ command }}\n", mode: '0600') }
    it { is_expected.to contain_file("#{DATA_DIR}/templates/log.j2").with(source: 'puppet:///modules/profile/log.j2', mode: '0600') }
  end

  it_rejects_each({
    dir: 'etc/runit-provision',
    root: 'srv/images',
    cache_dir: '',
    file_source: '',
    templates: { '../run.j2' => 'x' },
    os_settings: { 'runtime' => 'bundled' },
  })

  context 'with a template given by neither content nor a source' do
    let(:params) { { templates: { 'run.j2' => { 'content' => 'x' } } } }

    it { is_expected.to compile.and_raise_error(%r{parameter 'templates'}) }
  end
end
