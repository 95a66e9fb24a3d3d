# sv restart of a service started in the same second (docs/runit-protocol.md §9.1): runit 2.1.2
# reads the status before runsv has taken the command and says ok with the old pid; ours waits
# for a new process. control/t holds runsv for 0.3 s before its TERM, so the C sv's first look
# always sees the old status; starting in the first 200 ms of a second keeps sv in that second.
. "${0%/*}"/sv-lib.inc
mk svc
touch "$SVDIR"/svc/down
mkdir "$SVDIR"/svc/control
printf '#!/bin/sh\nsleep 0.3\nexit 1\n' >"$SVDIR"/svc/control/t
chmod +x "$SVDIR"/svc/control/t
start svc
waitstat svc down
# The whole scenario must fall within one second (the C sv's same-second quirk); a loaded
# machine can push it over the boundary: then it is run again, and only the last run shows.
attempt=0
while :; do
  attempt=$((attempt+1))
  i=0
  while [ "$(date +%N)" -gt 200000000 ] && [ $i -lt 300 ]; do i=$((i+1)); sleep 0.005; done
  second=$(date +%s)
  printf u >"$SVDIR"/svc/supervise/control
  # status too (what sv reads; runsv writes it last): an sv that read it a moment before
  # would take the run being recorded for the new one
  until [ "$(cat "$SVDIR"/svc/supervise/stat)" = run ] && [ -s "$SVDIR"/svc/supervise/pid ] &&
      settled "$SVDIR"/svc; do :; done
  old=$(cat "$SVDIR"/svc/supervise/pid)
  sv restart svc >"$ctmp"/out; rc=$?
  [ "$(date +%s)" = "$second" ] || [ $attempt -ge 5 ] && break
  sv -w 5 down svc >/dev/null
done
echo "restart rc=$rc"
sed 's/(pid [0-9]*)/(pid N)/; s/) [0-9]*s/) Ns/' "$ctmp"/out
case "$(cat "$ctmp"/out)" in
  *"(pid $old)"*) echo "restart: ok with the old pid" ;;
  *) echo "restart: ok with a new pid" ;;
esac
sv exit svc
wait
