# @summary A service's logger: false (none), true (the stock svlogd logger) or svlogd's settings.
#
# A service's logger: `false` (none), `true` (the stock svlogd logger) or svlogd's settings.
#
# `dir` defaults to `log_dir/NAME`; svlogd's `config` is written in it. `size`, `num`,
# `min`, `timeout`, `processor`, `udp` (`udp_only`: `U` instead of `u`), `prefix` and
# `patterns` are the config's `s`, `n`, `N`, `t`, `!`, `u`/`U`, `p` and `+`/`-` lines;
# `timestamps` is svlogd's `-t` (tai64n), `-tt` (human), `-ttt` (iso) or none;
# `line_length` is `-l`. Or `run`: a whole `log/run` script, written as it is (what
# `runit-provision import` keeps when a host's `log/run` is not the canonical form); with it
# only `dir` may be given, and the script owns its log directory and config.
#
# @example
#   { 'dir' => '/var/log/web', 'user' => 'log', 'timestamps' => 'iso', 'size' => 5000000,
#     'num' => 20, 'patterns' => ['-*DEBUG*', '+*'] }
type Runit::Log = Variant[
  Boolean,
  Struct[{
    dir         => Optional[Stdlib::Unixpath],
    user        => Optional[String[1]],
    timestamps  => Optional[Enum['none', 'tai64n', 'human', 'iso']],
    size        => Optional[Integer[0]],
    num         => Optional[Integer[0]],
    min         => Optional[Integer[0]],
    timeout     => Optional[Integer[0]],
    processor   => Optional[String[1]],
    udp         => Optional[Variant[String[1], Integer]],
    udp_only    => Optional[Boolean],
    prefix      => Optional[String],
    patterns    => Optional[Array[String[1]]],
    line_length => Optional[Integer[1]],
    run         => Optional[String[1]],
  }],
]
