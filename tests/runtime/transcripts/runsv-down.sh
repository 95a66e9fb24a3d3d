# ./down: runsv starts with want down and nothing running; u starts it; TERM to runsv is x.
s="${ctmp}"/svc
mkdir "$s"
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
chmod +x "$s"/run
touch "$s"/down
runsv "$s" &
runsv=$!
until [ -p "$s"/supervise/ok ] && [ -s "$s"/supervise/status ]; do sleep 0.01; done
cat "$s"/supervise/stat
od -An -tx1 -j16 -N4 "$s"/supervise/status
printf u >"$s"/supervise/control
# stat is written before status: wait for the status bytes themselves.
until [ "$(od -An -tx1 -j16 -N4 "$s"/supervise/status)" = " 00 75 00 01" ]; do sleep 0.01; done
cat "$s"/supervise/stat
od -An -tx1 -j16 -N4 "$s"/supervise/status
kill -TERM $runsv
wait $runsv
echo "runsv: $?"
cat "$s"/supervise/stat
od -An -tx1 -j16 -N4 "$s"/supervise/status
