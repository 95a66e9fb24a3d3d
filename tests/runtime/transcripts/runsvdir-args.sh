# runsvdir's arguments: -P and -- consumed, a short log argument disabled with two warnings,
# a missing directory warned about at each retry (shown once); HUP ends each run with 111.
. "${0%/*}"/sv-lib.inc
mk a
# tree ARGS...: runsvdir ARGS in the background, until service a runs (signals are set up).
tree() {
  runsvdir "$@" 2>>"$ctmp"/runsvdir.err &
  p=$!
  waitstat a run
}
# hup: HUP runsvdir, its exit code, then until a's runsv is gone.
hup() {
  kill -HUP $p; wait $p; echo "runsvdir: $?"
  gone a
}
echo '-- runsvdir -P dir'
tree -P "$SVDIR"; hup
echo '-- runsvdir -- dir'
tree -- "$SVDIR"; hup
echo '-- runsvdir dir short'
tree "$SVDIR" short; hup
sed "s|$ctmp|\$ctmp|g" "$ctmp"/runsvdir.err; : >"$ctmp"/runsvdir.err
echo '-- runsvdir missing'
runsvdir "$ctmp"/missing 2>>"$ctmp"/runsvdir.err &
p=$!
i=0
until [ -s "$ctmp"/runsvdir.err ]; do
  i=$((i+1)); if [ $i -gt 1000 ]; then echo "timeout: no warning"; break; fi
  sleep 0.01
done
kill -HUP $p; wait $p; echo "runsvdir: $?"
sort -u "$ctmp"/runsvdir.err | sed "s|$ctmp|\$ctmp|g"
