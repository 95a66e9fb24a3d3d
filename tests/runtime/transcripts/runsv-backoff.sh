# A ./run that cannot be started: runit's message, ./finish gets "111 0", 1 s between
# attempts, and x ends it (ours at once, runit after its sleep(1); same output).
cd "${ctmp}"
s=svc
mkdir "$s"
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
printf '#!/bin/sh\necho "finish $1 $2" >>finish.out\n' >"$s"/finish
chmod +x "$s"/finish
: >runsv.err  # exists before the loop reads it (the & child opens it in its own time)
runsv "$s" 2>>runsv.err &
runsv=$!
i=0
until [ "$(grep -c . runsv.err)" -ge 2 ]; do
  i=$((i+1)); if [ $i -gt 1000 ]; then echo timeout; break; fi
  sleep 0.01
done
printf x >"$s"/supervise/control
wait $runsv
echo "runsv: $?"
cat runsv.err
cat "$s"/finish.out
cat "$s"/supervise/stat
