# @summary A service's or a user's cgroup limits (cgroup v2): memory, tasks, CPU, I/O.
#
# A service's or a user's cgroup limits (docs/resources.md): `memory_max`, `memory_high`
# (bytes: a whole number, or one with K, M, G or T, 1024-based; `infinity`), `tasks_max`
# (1 or more, or `infinity`), `cpu_quota` (a percent of one CPU: `'50%'`, `'200%'` is two
# CPUs; `infinity`), `cpu_weight` and `io_weight` (1 to 10000). runit-provision checks the
# values, and at apply that the host's cgroup v2 has the controllers they need.
#
# @example
#   { 'memory_max' => '256M', 'tasks_max' => 64, 'cpu_quota' => '50%', 'io_weight' => 100 }
type Runit::Resources = Struct[{
  memory_max  => Optional[Variant[Integer[1], Pattern[/\A[0-9]+[KMGT]?\z/], Enum['infinity']]],
  memory_high => Optional[Variant[Integer[1], Pattern[/\A[0-9]+[KMGT]?\z/], Enum['infinity']]],
  tasks_max   => Optional[Variant[Integer[1], Enum['infinity']]],
  cpu_quota   => Optional[Variant[Pattern[/\A[0-9]+%\z/], Enum['infinity']]],
  cpu_weight  => Optional[Integer[1, 10000]],
  io_weight   => Optional[Integer[1, 10000]],
}]
