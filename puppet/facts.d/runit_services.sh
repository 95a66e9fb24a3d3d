#!/bin/sh
# runit_services: what `runit-provision status --json` says of the services this node's runit
# data declares (state, pid, uptime, normally up/down, want, the log side), as one structured
# fact. Synced to every agent with the module (pluginsync); it runs the `status` command class
# runit writes into its data directory (runit::config::dir, /etc/runit-provision; another
# directory in RUNIT_PROVISION_DIR). No fact when that is not there yet or the CLI fails.
status="${RUNIT_PROVISION_DIR:-/etc/runit-provision}/status"
[ -x "$status" ] || exit 0
json=$("$status" 2>/dev/null)
case $? in
  0|3) ;;          # 3: a wanted service is not running (LSB status): still a good answer
  *) exit 0 ;;
esac
[ -n "$json" ] || exit 0
printf '{"runit_services": %s}\n' "$json"
