# @summary A login or group name, as `useradd` and runit-provision accept it.
type Runit::Login = Pattern[/\A[A-Za-z_][A-Za-z0-9_.-]*\$?\z/]
