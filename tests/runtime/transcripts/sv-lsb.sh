# LSB init-script mode: sv called through a link named like the service.
. "${0%/*}"/sv-lib.inc
mkdir "$ctmp"/init.d
for n in web logged nope; do ln -s "$(command -v sv)" "$ctmp"/init.d/$n; done
mk web
mk logged; mklog logged; touch "$SVDIR"/logged/down
start web logged
waitstat web run; waitstat logged down
aged web
"$ctmp"/init.d/web status; echo "status rc=$?"
"$ctmp"/init.d/web; echo "rc=$?"
"$ctmp"/init.d/web stat; echo "stat rc=$?"
"$ctmp"/init.d/web sv; echo "sv rc=$?"
"$ctmp"/init.d/web -z status; echo "-z rc=$?"
"$ctmp"/init.d/web --x status; echo "--x rc=$?"
"$ctmp"/init.d/web -vV status; echo "-vV rc=$?"
"$ctmp"/init.d/web stop; echo "stop rc=$?"
"$ctmp"/init.d/web status; echo "status rc=$?"
"$ctmp"/init.d/web start extra words; echo "start rc=$?"
"$ctmp"/init.d/web status; echo "status rc=$?"
aged web
"$ctmp"/init.d/web -w 3 restart; echo "restart rc=$?"
"$ctmp"/init.d/web reload; echo "reload rc=$?"
"$ctmp"/init.d/nope status; echo "nope rc=$?"
echo '-- a down service with a running log (runit 2.1.2 answers with the log: void-linux/runit#20)'
"$ctmp"/init.d/logged status; echo "status rc=$?"
printf abc >"$SVDIR"/web/supervise/status
"$ctmp"/init.d/web status; echo "unreadable status rc=$?"
printf c >"$SVDIR"/web/supervise/control; waitstat web run  # runsv rewrites status
sv exit web logged
wait
"$ctmp"/init.d/web status; echo "no runsv rc=$?"
cat "$ctmp"/runsv.err
