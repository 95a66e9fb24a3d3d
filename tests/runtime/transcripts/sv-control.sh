# sv's control commands with -v and the waiting commands: each one's ok line and exit code.
. "${0%/*}"/sv-lib.inc
mk svc
start svc
waitstat svc run
for c in hup alarm interrupt quit 1 2 pause cont reload; do
  sv -v $c svc; echo "$c rc=$?"
done
sv hup svc; echo "hup (no -v) rc=$?"
aged svc
sv -v down svc; echo "down rc=$?"
aged svc
sv -v once svc; echo "once rc=$?"
sv -v down svc; echo "down rc=$?"
aged svc
sv -v up svc; echo "up rc=$?"
aged svc
sv -v term svc; echo "term rc=$?"
aged svc
sv -v kill svc; echo "kill rc=$?"
aged svc
sv restart svc; echo "restart rc=$?"
aged svc
sv try-restart svc; echo "try-restart rc=$?"
sv reload svc; echo "reload rc=$?"
sv check svc; echo "check rc=$?"
aged svc
sv stop svc; echo "stop rc=$?"
sv start svc; echo "start rc=$?"
sv -v up svc; echo "up again rc=$?"
sv -w 3 shutdown svc; echo "shutdown rc=$?"
wait
sv -v exit svc; echo "exit rc=$?"
sv -v up svc; echo "up rc=$?"
cat "$ctmp"/runsv.err
