# @summary A readiness check (check): a script, or exactly one of tcp, http, command.
#
# A readiness check (`check`, used by `sv start`/`sv -w`): a script, or exactly one of `tcp`,
# `http`, `command`.
#
# @example A port on 127.0.0.1, a port on a host, a URL, a command, a script
#   { 'tcp' => 6379 }
#   { 'tcp' => '10.0.0.5:5432' }
#   { 'http' => 'http://127.0.0.1:8080/health' }
#   { 'command' => 'pg_isready -h 127.0.0.1' }
#   "#!/bin/sh\nexec pg_isready -q\n"
type Runit::Check = Variant[
  String[1],
  Struct[{ tcp => Variant[Integer[1, 65535], String[1]] }],
  Struct[{ http => Pattern[/\Ahttps?:\/\/\S+\z/] }],
  Struct[{ command => Runit::Command }],
]
