# runsvchdir: switching runsvdir levels, its refusals and messages.
# Debian's runsvchdir (2.1.2) ignores $RUNSVDIR and always works in /etc/runit/runsvdir, so
# this script re-runs itself in a private mount namespace with a scratch directory
# bind-mounted there, and never runs runsvchdir against the real one. Only where that
# directory does not exist (no runit installed: nothing to protect, and only ours can run)
# does it fall back to $RUNSVDIR.
levels="$ctmp/runsvdir"
if [ "$1" != inner ]; then
  mkdir -p "$levels" && : >"$levels/.scratch" || exit 1
  if [ -d /etc/runit/runsvdir ]; then
    exec unshare --mount --propagation private /bin/sh -c \
      'mount --bind "$1" /etc/runit/runsvdir && exec /bin/sh "$2" inner' sh "$levels" "$0"
    echo "unshare failed: refusing to run runsvchdir on the real /etc/runit/runsvdir"; exit 1
  fi
  RUNSVDIR="$levels"; export RUNSVDIR
fi
if [ -z "$RUNSVDIR" ] && ! [ -e /etc/runit/runsvdir/.scratch ]; then
  echo "not in a private /etc/runit/runsvdir: refusing"; exit 1
fi
cd "$levels" || exit 1
show() { for l in current previous current.new; do [ -h $l ] && echo "$l -> $(readlink $l)"; done; }
mkdir a b sub sub/level .hidden
: >file
runsvchdir; echo "rc=$?"
runsvchdir .hidden; echo "rc=$?"
runsvchdir ..; echo "rc=$?"
runsvchdir missing; echo "rc=$?"
runsvchdir ''; echo "rc=$?"
runsvchdir file; echo "rc=$?"
runsvchdir a; echo "no current rc=$?"
ln -s missing current
runsvchdir a; echo "dangling current rc=$?"
rm current; ln -s a current
runsvchdir a; echo "rc=$?"
ln -s a alias
runsvchdir alias; echo "alias rc=$?"
runsvchdir b; echo "rc=$?"; show
runsvchdir a b; echo "rc=$?"; show
ln -s stale current.new
runsvchdir sub/level; echo "rc=$?"; show
runsvchdir sub/level/; echo "rc=$?"; show
runsvchdir b >/dev/null; echo "stdout only rc=$?"; show
