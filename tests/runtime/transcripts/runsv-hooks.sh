# control/<c> hooks (runit's own check): t exiting 1 still TERMs, i exiting 0 suppresses
# SIGINT; u runs before every start; d after a stop; hook output goes to runsv's stdout.
# runit 2.3.1 gives a hook one argument, the service's pid or "" (none before 2.3.1).
. "${0%/*}"/supervise-lib.inc
waitstat() {
  i=0
  until [ "$(cat "$1"/supervise/stat 2>/dev/null)" = "$2" ] && settled "$1"; do
    i=$((i+1)); if [ $i -gt 1000 ]; then echo "timeout: $1: want '$2'"; return 1; fi
    sleep 0.01
  done
}
waitlines() {
  until [ "$(grep -c . "${ctmp}"/hooks.out)" -ge "$1" ]; do sleep 0.01; done
}
s="${ctmp}"/svc
mkdir -p "$s"/control
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
for c in t i u d; do
  printf '#!/bin/sh\necho "control/%s $#${1:+ pid}"\n' $c >"$s"/control/$c
  printf '[ $# = 0 ] || [ -z "$1" ] || [ "$1" = "$(cat supervise/pid)" ] || echo "not the pid: $1"\n' \
    >>"$s"/control/$c
done
echo 'exit 1' >>"$s"/control/t
echo 'exit 0' >>"$s"/control/i
chmod +x "$s"/run "$s"/control/*
runsv "$s" >"${ctmp}"/hooks.out 2>&1 &
runsv=$!
waitstat "$s" run
pid=$(cat "$s"/supervise/pid)
printf i >"$s"/supervise/control
waitlines 2
kill -0 "$pid" && echo "still running after i"
printf d >"$s"/supervise/control
waitstat "$s" down
waitlines 4
printf u >"$s"/supervise/control
waitstat "$s" run
waitlines 5
printf x >"$s"/supervise/control
wait $runsv
echo "runsv: $?"
cat "${ctmp}"/hooks.out
