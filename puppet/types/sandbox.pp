# @summary A service hardened as systemd's are: privileges, capabilities, a read-only system.
#
# A service's sandbox (docs/sandbox.md says what each setting does, and where it differs from
# its systemd.exec(5) namesake): the flags `no_new_privileges`, `private_tmp`,
# `private_devices`, `private_network` and `protect_kernel` (true or false); `capabilities`,
# the bounding set (and ambient for a service run as a user) as capability names, `CAP_` and
# case optional (an empty list drops them all); `protect_system` (true: /usr and /boot
# read-only, `full`: and /etc, `strict`: all but /dev, /proc and /sys; false: off);
# `protect_home` (true: inaccessible, `read-only`, `tmpfs`; false: off); `read_write_paths`,
# `read_only_paths` and `inaccessible_paths`, absolute normalised paths, a `-` prefix for one
# that may be missing. `runit::defaults` merge under a service's key by key. runit-provision
# refuses it with `template` or `links.run`, and with `ready: notify` and `private_network`.
#
# @example
#   { 'no_new_privileges' => true, 'capabilities' => ['net_bind_service'], 'private_tmp' => true,
#     'protect_system' => 'strict', 'protect_home' => 'read-only', 'read_write_paths' => ['/var/lib/app'] }
type Runit::Sandbox = Struct[{
  no_new_privileges  => Optional[Boolean],
  capabilities       => Optional[Array[Pattern[
    /\A(?i)(cap_)?(chown|dac_override|dac_read_search|fowner|fsetid|kill|setgid|setuid|setpcap|linux_immutable)\z/,
    /\A(?i)(cap_)?(net_bind_service|net_broadcast|net_admin|net_raw|ipc_lock|ipc_owner|sys_module|sys_rawio|sys_chroot)\z/,
    /\A(?i)(cap_)?(sys_ptrace|sys_pacct|sys_admin|sys_boot|sys_nice|sys_resource|sys_time|sys_tty_config|mknod|lease)\z/,
    /\A(?i)(cap_)?(audit_write|audit_control|setfcap|mac_override|mac_admin|syslog|wake_alarm|block_suspend|audit_read)\z/,
    /\A(?i)(cap_)?(perfmon|bpf|checkpoint_restore)\z/,
  ]]],
  private_tmp        => Optional[Boolean],
  protect_system     => Optional[Variant[Boolean, Enum['true', 'full', 'strict']]],
  protect_home       => Optional[Variant[Boolean, Enum['true', 'read-only', 'tmpfs']]],
  read_write_paths   => Optional[Array[Pattern[/\A-?(\/(?!\.\.?(\/|\z))[^\/]+)+\z/]]],
  read_only_paths    => Optional[Array[Pattern[/\A-?(\/(?!\.\.?(\/|\z))[^\/]+)+\z/]]],
  inaccessible_paths => Optional[Array[Pattern[/\A-?(\/(?!\.\.?(\/|\z))[^\/]+)+\z/]]],
  private_devices    => Optional[Boolean],
  private_network    => Optional[Boolean],
  protect_kernel     => Optional[Boolean],
}]
