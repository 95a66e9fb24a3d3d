# runsvdir and TERM: a deliberate difference. runit's runsvdir exits 0 at once and leaves every
# runsv (and service) running; ours brings the whole tree down first — each service as by x,
# ./finish run, the logger drained — then exits 0.
. "${0%/*}"/sv-lib.inc
mk a
printf '#!/bin/sh\necho "finish $*" >>"%s"/finish.out\n' "$ctmp" >"$SVDIR"/a/finish
chmod +x "$SVDIR"/a/finish
mk b; mklog b
runsvdir "$SVDIR" 2>"$ctmp"/runsvdir.err &
p=$!
waitstat a run; waitstat b run; waitstat b/log run
kill -TERM $p; wait $p; echo "runsvdir: $?"
sv status a b; echo "rc=$?"
cat "$SVDIR"/a/supervise/stat "$SVDIR"/b/supervise/stat "$SVDIR"/b/log/supervise/stat
cat "$ctmp"/finish.out 2>/dev/null
echo '-- sv exit what is left'
sv exit a b; echo "rc=$?"
gone a; gone b
cat "$ctmp"/finish.out
cat "$ctmp"/runsvdir.err
