# sv check: ./check gates "up"; and (runit 2.3.0, ours) it honours want — runit 2.1.2 checks
# whatever runs, even a service that wants down.
. "${0%/*}"/sv-lib.inc
mk svc
printf '#!/bin/sh\ntest -e "$ctmp"/ready\n' >"$SVDIR"/svc/check
chmod +x "$SVDIR"/svc/check
start svc
waitstat svc run
sv -w 1 check svc; echo "not ready rc=$?"
touch "$ctmp"/ready
sv -w 1 check svc; echo "ready rc=$?"
sv -w 1 up svc; echo "up rc=$?"
printf o >"$SVDIR"/svc/supervise/control; waitstat svc 'run, want down'
sv -w 1 check svc; echo "want down rc=$?"
printf d >"$SVDIR"/svc/supervise/control; waitstat svc down
sv -w 1 check svc; echo "down rc=$?"
sv exit svc
wait
