# sv's usage errors, options, and services it cannot reach.
. "${0%/*}"/sv-lib.inc
sv; echo "rc=$?"
sv status; echo "rc=$?"
sv -v; echo "rc=$?"
sv -z status svc; echo "rc=$?"
sv -vz status svc; echo "rc=$?"
sv -w; echo "rc=$?"
sv -V; echo "rc=$?"
sv - svc; echo "rc=$?"
sv restartx svc; echo "rc=$?"
sv force-foo svc; echo "rc=$?"
sv zap svc; echo "rc=$?"
sv -- status svc; echo "rc=$?"
sv -wx status svc; echo "rc=$?"
# runit's sgetopt: any word starting with "--" ends the options (and is consumed); a complaint
# names the one byte sgetopt looked at; the first option in error wins
sv --foo status svc; echo "rc=$?"
sv -v --x status svc; echo "rc=$?"
sv --foo; echo "rc=$?"
sv ---; echo "rc=$?"
sv --w 5; echo "rc=$?"
sv -vw; echo "rc=$?"
sv -w1v status svc; echo "rc=$?"
sv -w -v status svc; echo "rc=$?"
sv -: status svc; echo "rc=$?"
sv -é status svc; echo "rc=$?"
sv -V -z; echo "rc=$?"
sv -z -V; echo "rc=$?"
sv up missing ./missing /nonexistent/missing missing/ ''; echo "rc=$?"
SVDIR="$ctmp"/nowhere sv status svc; echo "rc=$?"
mk svc
mkdir "$SVDIR"/svc/supervise
sv status svc; echo "rc=$?"
start svc
waitstat svc run
sv x svc; echo "rc=$?"
wait
for c in status up down once pause cont hup term kill exit shutdown check; do
  sv $c svc; echo "$c rc=$?"
done
i=0; set --; while [ $i -lt 120 ]; do set -- "$@" "m$i"; i=$((i+1)); done
sv status "$@" >/dev/null; echo "120 missing rc=$?"
