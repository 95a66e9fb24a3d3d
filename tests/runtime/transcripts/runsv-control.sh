# runsv driven through its control FIFO only: states, flags, files, ./finish arguments.
# Each step waits (deadline 10 s) for supervise/stat and the flag bytes 16-19 of
# supervise/status: runsv writes stat before status, so waiting on stat alone races.
flags() { od -An -tx1 -j16 -N4 "$1"/supervise/status; }
waitstat() {
  i=0
  while [ "$(cat "$1"/supervise/stat 2>/dev/null)" != "$2" ] || [ "$(flags "$1")" != " $3" ]; do
    i=$((i+1))
    if [ $i -gt 1000 ]; then echo "timeout: $1: '$(cat "$1"/supervise/stat)' $(flags "$1")"; return 1; fi
    sleep 0.01
  done
  echo "stat: $2"
}
show() {
  echo "status: $(flags "$1")"
  echo "pid: $(sed 's/^[0-9][0-9]*$/N/' "$1"/supervise/pid)"
}
s="${ctmp}"/svc
mkdir "$s"
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
printf '#!/bin/sh\necho "finish $1 $2" >>finish.out\n' >"$s"/finish
chmod +x "$s"/run "$s"/finish
runsv "$s" 2>"${ctmp}"/runsv.err &
runsv=$!
waitstat "$s" run '00 75 00 01'
show "$s"
ls -l "$s"/supervise | awk 'NR > 1 { print $1, $NF }'
printf d >"$s"/supervise/control
waitstat "$s" down '00 64 00 00'
show "$s"
cat "$s"/finish.out
printf u >"$s"/supervise/control
waitstat "$s" run '00 75 00 01'
printf p >"$s"/supervise/control
waitstat "$s" 'run, paused' '01 75 00 01'
show "$s"
printf c >"$s"/supervise/control
waitstat "$s" run '00 75 00 01'
printf o >"$s"/supervise/control
waitstat "$s" 'run, want down' '00 64 00 01'
show "$s"
printf u >"$s"/supervise/control
waitstat "$s" run '00 75 00 01'
printf k >"$s"/supervise/control
until [ "$(wc -l <"$s"/finish.out)" -ge 2 ]; do sleep 0.01; done
waitstat "$s" run '00 75 00 01'
sed -n 2p "$s"/finish.out
printf d >"$s"/supervise/control
waitstat "$s" down '00 64 00 00'
printf p >"$s"/supervise/control
waitstat "$s" 'down, paused' '01 64 00 00'
show "$s"
printf 'c\n\000zz' >"$s"/supervise/control
waitstat "$s" down '00 64 00 00'
printf x >"$s"/supervise/control
wait $runsv
echo "runsv: $?"
show "$s"
cat "${ctmp}"/runsv.err
