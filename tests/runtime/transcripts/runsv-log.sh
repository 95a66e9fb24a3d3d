# A service with a logger: the pipe, x ignored on the log's FIFO, exit after the logger's EOF.
. "${0%/*}"/supervise-lib.inc
waitstat() {
  i=0
  until [ "$(cat "$1"/supervise/stat 2>/dev/null)" = "$2" ] && settled "$1"; do
    i=$((i+1)); if [ $i -gt 1000 ]; then echo "timeout: $1: want '$2'"; return 1; fi
    sleep 0.01
  done
  echo "$1: $2" | sed "s|${ctmp}/||"
}
s="${ctmp}"/svc
mkdir -p "$s"/log
printf '#!/bin/sh\necho "hello from run"\nexec sleep 1000\n' >"$s"/run
printf '#!/bin/sh\nexec cat >>out\n' >"$s"/log/run
printf '#!/bin/sh\necho "log finish" >>finish.out\n' >"$s"/log/finish
chmod +x "$s"/run "$s"/log/run "$s"/log/finish
runsv "$s" 2>"${ctmp}"/runsv.err &
runsv=$!
waitstat "$s" run
waitstat "$s"/log run
until [ -s "$s"/log/out ]; do sleep 0.01; done
cat "$s"/log/out
printf x >"$s"/log/supervise/control
printf t >"$s"/supervise/control
until [ "$(grep -c hello "$s"/log/out)" -ge 2 ]; do sleep 0.01; done
waitstat "$s"/log run
cat "$s"/log/out
printf d >"$s"/log/supervise/control
waitstat "$s"/log down
printf t >"$s"/supervise/control
printf u >"$s"/log/supervise/control
until [ "$(grep -c hello "$s"/log/out)" -ge 3 ]; do sleep 0.01; done
cat "$s"/log/out
printf x >"$s"/supervise/control
wait $runsv
echo "runsv: $?"
cat "$s"/supervise/stat "$s"/log/supervise/stat
ls "$s"/log
cat "${ctmp}"/runsv.err
