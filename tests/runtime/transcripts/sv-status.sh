# sv status: every state, the log part, names as typed, errors; exit codes.
. "${0%/*}"/sv-lib.inc
mk plain
mk logged; mklog logged
mk normally-down; touch "$SVDIR"/normally-down/down
mk log-down; mklog log-down; touch "$SVDIR"/log-down/log/down
mk nolog
start plain logged normally-down log-down
waitstat plain run; waitstat logged run; waitstat normally-down down; waitstat log-down run
sv status plain logged normally-down log-down; echo "rc=$?"
sv status ./service/plain; echo "rc=$?"
sv stat plain; echo "rc=$?"
sv status "$SVDIR"/plain | sed "s|$SVDIR|\$SVDIR|"
printf p >"$SVDIR"/plain/supervise/control; waitstat plain 'run, paused'
sv status plain; echo "rc=$?"
printf c >"$SVDIR"/plain/supervise/control; waitstat plain run
printf o >"$SVDIR"/normally-down/supervise/control; waitstat normally-down 'run, want down'
sv status normally-down; echo "rc=$?"
printf u >"$SVDIR"/normally-down/supervise/control; waitstat normally-down run
sv status normally-down; echo "rc=$?"
echo '-- errors'
sv status missing nolog ''; echo "rc=$?"
printf abc >"$SVDIR"/plain/supervise/status
sv status plain logged; echo "rc=$?"
printf c >"$SVDIR"/plain/supervise/control; waitstat plain run  # runsv rewrites status
echo '-- exit'
sv exit plain logged normally-down log-down; echo "rc=$?"
wait
sv status plain logged; echo "rc=$?"
cat "$ctmp"/runsv.err
