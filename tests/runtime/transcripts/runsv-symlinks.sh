# supervise and log/supervise as dangling symlinks (runit's own check): runsv creates the
# targets, 0700, and uses them.
s="${ctmp}"/svc
mkdir -p "$s"/log "${ctmp}"/run
printf '#!/bin/sh\nexec sleep 1000\n' >"$s"/run
printf '#!/bin/sh\nexec cat >/dev/null\n' >"$s"/log/run
chmod +x "$s"/run "$s"/log/run
ln -s "${ctmp}"/run/supervise.svc "$s"/supervise
ln -s ../../run/supervise.log "$s"/log/supervise
runsv "$s" &
runsv=$!
until [ "$(cat "$s"/supervise/stat 2>/dev/null)" = run ] &&
      [ "$(cat "$s"/log/supervise/stat 2>/dev/null)" = run ]; do sleep 0.01; done
for d in supervise.svc supervise.log; do
  ls -ld "${ctmp}"/run/$d | awk '{ print $1 }'
  ls "${ctmp}"/run/$d
done
printf x >"$s"/supervise/control
wait $runsv
echo "runsv: $?"
cat "${ctmp}"/run/supervise.svc/stat "${ctmp}"/run/supervise.log/stat
