# The processor (!): runs in the log directory on @x.u (stdin) writing @x.t (stdout), with
# state on fd 4 and newstate on fd 5; success renames .t to .s (0744), removes .u, and
# newstate becomes state. svlogd waits for it before exiting at EOF.
cd "${ctmp}"
mkdir d
printf 's20\n!echo "cwd=${PWD##*/}" >&2; tr a-z A-Z; cat <&4; echo "run" >&5; cat <&4 >&5\n' >d/config
printf 'state0\n' >d/state
printf 'hello\nworld\n' | svlogd -l 10 -b 11 d 2>err; echo "rc=$?"
cat err
for f in d/*; do stat -c '%A %s %n' "$f"; done
echo "-- processed"; cat d/@*.s
echo "-- state"; cat d/state
printf 'again\nmore\n' | svlogd -l 10 -b 11 d 2>err; echo "rc=$?"
cat err
echo "-- processed"; cat d/@*.s
echo "-- state"; cat d/state
mkdir f
printf 's10\n!test -e flag || { touch flag; echo failing >&2; exit 1; }; cat\n' >f/config
printf 'first\nsecond\n' | svlogd -l 5 -b 6 f 2>err; echo "rc=$?"
cat err
ls f
cat f/@*.s
