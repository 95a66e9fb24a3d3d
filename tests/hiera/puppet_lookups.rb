# Many `puppet lookup` runs in one Ruby process (tests/hiera/test_against_puppet.py): Puppet is
# loaded and its settings initialized once, as /usr/bin/puppet does (Puppet::Util::CommandLine:
# Puppet.initialize_settings with the global arguments, the scratch --confdir and the others),
# then each lookup is what that command line does with the lookup's own arguments: the settings
# among them read as global options (--hiera_config), then a run of Puppet's own lookup
# application (Puppet::Application::Lookup#run: its option parsing, node, facts file, compiler,
# merge options and renderer). Each run's stdout and stderr go to files of its own and its exit
# code is kept, so each answer reads as that of `puppet lookup` with the same arguments.
#
#   ruby puppet_lookups.rb REQUEST.json
#
# REQUEST: {"settings": [global arguments: --confdir DIR, ...],
#           "lookups": [{"id": ID, "argv": [arguments after `puppet lookup`]}, ...],
#           "answers": FILE, "scratch": DIR}
# FILE gets {ID: {"code": exit code, "stdout": text, "stderr": text}}.

require 'json'
require 'puppet'
require 'puppet/util/command_line'

request = JSON.parse(File.read(ARGV.fetch(0)))
Puppet::Util.exit_on_fail('Could not initialize global default settings') do
  Puppet.initialize_settings(request.fetch('settings'))
end
lookup = Puppet::Application.find('lookup')

# Each run's streams: the file descriptors themselves (the console log writes to $stderr).
saved_stdout = $stdout.dup
saved_stderr = $stderr.dup
answers = {}
request.fetch('lookups').each do |one|
  out = File.join(request.fetch('scratch'), "#{one.fetch('id')}.out")
  err = File.join(request.fetch('scratch'), "#{one.fetch('id')}.err")
  $stdout.reopen(out, 'w')
  $stderr.reopen(err, 'w')
  code = begin
    Puppet::Util.exit_on_fail('Could not initialize global default settings') do
      Puppet.settings.send(:parse_global_options, one.fetch('argv'))
    end
    lookup.new(Puppet::Util::CommandLine.new('puppet', ['lookup', *one.fetch('argv')])).run
    0
  rescue SystemExit => e
    e.status
  ensure
    $stdout.flush
    $stderr.flush
    $stdout.reopen(saved_stdout)
    $stderr.reopen(saved_stderr)
  end
  answers[one.fetch('id')] = {'code' => code, 'stdout' => File.read(out),
                              'stderr' => File.read(err)}
end
File.write(request.fetch('answers'), JSON.generate(answers))
