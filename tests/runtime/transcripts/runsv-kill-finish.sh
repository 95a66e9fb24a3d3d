# k while ./finish runs — a deliberate difference (docs/compatibility.md). runit 2.1.2 does not
# signal ./finish, sets "down" in memory only (status still names the finish pid), and when
# ./finish ends runs it a second time. Ours KILLs ./finish; the reaper writes down.
cd "${ctmp}"
s=svc
mkdir "$s"
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
cat >"$s"/finish <<'FINISH'
#!/bin/sh
echo "finish $1 $2" >>finish.out
[ -e finish.once ] && exit 0
touch finish.once
exec sleep 1000
FINISH
chmod +x "$s"/run "$s"/finish
# Wait (deadline 10 s) for stat and status's flag bytes: stat is written before status.
flags() { od -An -tx1 -j16 -N4 "$s"/supervise/status; }
waitstat() {
  i=0
  while [ "$(cat "$s"/supervise/stat 2>/dev/null)" != "$1" ] || [ "$(flags)" != " $2" ]; do
    i=$((i+1)); if [ $i -gt 1000 ]; then echo "timeout: '$(cat "$s"/supervise/stat)' $(flags)"; return 1; fi
    sleep 0.01
  done
  echo "stat: $1"
}
haspid() {
  if [ "$(od -An -tu4 -j12 -N4 "$s"/supervise/status)" -ne 0 ]; then echo "status: pid"
  else echo "status: no pid"; fi
}
runsv "$s" &
runsv=$!
waitstat run '00 75 00 01'
printf d >"$s"/supervise/control
waitstat 'finish, want down' '00 64 00 02'
# runit 2.1.2 writes state finish with no pid, then forks ./finish and writes its pid: wait
# (deadline 10 s) for the pid, or a `kill -0` of nothing would say ./finish was killed.
i=0
until [ -s "$s"/supervise/pid ]; do
  i=$((i+1)); if [ $i -gt 1000 ]; then echo "timeout: no pid for ./finish"; break; fi
  sleep 0.01
done
finish=$(cat "$s"/supervise/pid)
# Wait (deadline 10 s) until ./finish has said its arguments: a KILL before its first line
# would leave nothing to show what runsv passed it.
i=0
until [ -s "$s"/finish.out ]; do
  i=$((i+1)); if [ $i -gt 1000 ]; then echo "timeout: ./finish wrote nothing"; break; fi
  sleep 0.01
done
printf kp >"$s"/supervise/control
waitstat 'down, paused' '01 64 00 00'
haspid
if kill -0 "$finish" 2>/dev/null; then
  echo "./finish still running"
  kill "$finish"
  until [ "$(grep -c . "$s"/finish.out)" -ge 2 ]; do sleep 0.01; done
  waitstat down '00 64 00 00'  # starting ./finish again cleared the paused flag
else
  echo "./finish killed"
fi
printf x >"$s"/supervise/control
wait $runsv
echo "runsv: $?"
cat "$s"/finish.out
haspid
