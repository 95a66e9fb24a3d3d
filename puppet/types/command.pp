# @summary A command: a string split into words as sh would (no expansion), or a list of words.
#
# runit-provision renders it as `exec chpst … WORDS`, every word quoted again; shell
# (`$(…)`, pipes, `;`) is refused by the CLI — shell belongs in a `run` script.
#
# @example
#   '/usr/local/bin/web --port 8080'
#   ['/usr/bin/redis-server', '--port', '6379']
type Runit::Command = Variant[String[1], Array[Variant[String, Numeric], 1]]
