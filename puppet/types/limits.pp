# @summary Resource limits for chpst (-o -p -m -d -s -c -t -f -r).
#
# Resource limits for chpst: `nofile` (-o), `nproc` (-p), `mem` (-m), `data` (-d), `stack` (-s),
# `core` (-c), `cpu` (-t), `fsize` (-f), `rss` (-r).
type Runit::Limits = Struct[{
  nofile => Optional[Integer[0]],
  nproc  => Optional[Integer[0]],
  mem    => Optional[Integer[0]],
  data   => Optional[Integer[0]],
  stack  => Optional[Integer[0]],
  core   => Optional[Integer[0]],
  cpu    => Optional[Integer[0]],
  fsize  => Optional[Integer[0]],
  rss    => Optional[Integer[0]],
}]
