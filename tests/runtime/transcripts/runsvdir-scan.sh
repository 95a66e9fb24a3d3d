# runsvdir: which entries become services, sv on each, a service added (ALRM: Debian's forced
# rescan) and one removed, HUP: every service down and exit 111. The C runsvdir rescans at
# most once a second, so each step may take about a second there.
. "${0%/*}"/sv-lib.inc
mk a
mk b; mklog b
mk .hidden
echo 'not a service' >"$SVDIR"/afile
mkdir -p "$ctmp"/elsewhere; (SVDIR="$ctmp"/elsewhere; mk linked)
ln -s "$ctmp"/elsewhere/linked "$SVDIR"/linked
ln -s "$ctmp"/nowhere "$SVDIR"/dangling
runsvdir "$SVDIR" 2>"$ctmp"/runsvdir.err &
p=$!
waitstat a run; waitstat b run; waitstat b/log run; waitstat linked run
sv status a b linked; echo "rc=$?"
ls -a "$SVDIR"/.hidden
echo '-- a new service (made elsewhere, moved in whole), ALRM'
mkdir -p "$ctmp"/staging; (SVDIR="$ctmp"/staging; mk c)
mv "$ctmp"/staging/c "$SVDIR"/c
kill -ALRM $p
waitstat c run
sv status c; echo "rc=$?"
[ -f "$SVDIR"/.forced-rescan ] && echo '.forced-rescan written'
echo '-- a removed service is stopped (x), the others keep running'
mv "$SVDIR"/a "$ctmp"/a-removed
kill -ALRM $p
gone "$ctmp"/a-removed
cat "$ctmp"/a-removed/supervise/stat
sv status b c; echo "rc=$?"
echo '-- HUP'
kill -HUP $p; wait $p; echo "runsvdir: $?"
for s in b c linked; do gone $s; done
sv status b c linked; echo "rc=$?"
cat "$SVDIR"/b/supervise/stat "$SVDIR"/b/log/supervise/stat "$SVDIR"/c/supervise/stat
# afile and the dangling link started nothing (no runsv message); the dangling link is warned
# about at each scan
sort -u "$ctmp"/runsvdir.err | sed "s|$ctmp|\$ctmp|g"
