# sv -w and SVWAIT: timeout: and kill: lines for a service that ignores TERM.
. "${0%/*}"/sv-lib.inc
mk stubborn 'trap "" TERM HUP; exec sleep 100000'
mk fine
start stubborn fine
waitstat stubborn run; waitstat fine run
aged stubborn
sv -w 1 down stubborn missing fine; echo "down rc=$?"
SVWAIT=1 sv stop stubborn; echo "SVWAIT=1 stop rc=$?"
sv -w 1 force-stop stubborn; echo "force-stop rc=$?"
waitstat stubborn down
sv start stubborn; echo "start rc=$?"
sv start fine; echo "start rc=$?"
aged stubborn
sv -w 1 force-restart stubborn; echo "force-restart rc=$?"
waitstat stubborn run
aged stubborn
sv -w 1 T stubborn; echo "T rc=$?"
waitstat stubborn run
sv -w 1 shutdown stubborn; echo "shutdown rc=$?"
sv -w 1 force-shutdown stubborn; echo "force-shutdown rc=$?"
gone stubborn
sv -w 1 force-shutdown stubborn; echo "force-shutdown again rc=$?"
sv exit fine
wait
cat "$ctmp"/runsv.err
