# log/supervise/control a regular file — a deliberate difference (fixed as in 2.3.0):
# runit 2.1.2 checks supervise/control instead (g-pape/runit#12) and runs with a broken log
# control; ours refuses, exit 111.
cd "${ctmp}"
s=svc
mkdir -p "$s"/log/supervise
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
printf '#!/bin/sh\nexec cat >/dev/null\n' >"$s"/log/run
chmod +x "$s"/run "$s"/log/run
touch "$s"/log/supervise/control
runsv "$s" 2>runsv.err &
runsv=$!
until [ -s runsv.err ] || [ -s "$s"/log/supervise/status ]; do sleep 0.01; done
if [ ! -s runsv.err ]; then
  until [ "$(cat "$s"/supervise/stat)" = run ]; do sleep 0.01; done
  echo "running"
  printf x >"$s"/supervise/control
fi
wait $runsv
echo "runsv: $?"
cat runsv.err
