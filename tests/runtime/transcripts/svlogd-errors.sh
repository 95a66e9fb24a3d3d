# Usage errors (exit 111), unusable directories are warned about and skipped; none usable is
# fatal (exit 111); a locked directory; a file given as a directory; an unreadable config.
cd "${ctmp}"
mkdir ok
svlogd; echo "rc=$?"
svlogd -x ok; echo "rc=$?"
svlogd -r; echo "rc=$?"
svlogd -r ab ok; echo "rc=$?"
svlogd -l 1024 ok </dev/null; echo "rc=$?"
svlogd -l 1023 ok </dev/null; echo "rc=$?"
# runit's sgetopt: a word starting with "--" ends the options (consumed); a complaint names
# the one byte sgetopt looked at. Numbers wrap at 2**64 (scan_ulong), however long
svlogd --x ok </dev/null; echo "--x rc=$?"
svlogd -t --x -t ok </dev/null; echo "rc=$?"
svlogd -: ok; echo "rc=$?"
svlogd -é ok; echo "rc=$?"
svlogd -tV ok; echo "rc=$?"
svlogd -l 18446744073709552616 -b 2000 ok </dev/null; echo "-l 2**64+1000 rc=$?"
svlogd -l "$(head -c 5000 /dev/zero | tr '\0' 9)" ok </dev/null; echo "-l 9...9 rc=$?"
svlogd missing </dev/null; echo "rc=$?"
touch file
svlogd file </dev/null; echo "rc=$?"
echo hi | svlogd missing ok; echo "rc=$?"
cat ok/current
flock ok/lock sh -c 'echo locked | svlogd ok; echo "rc=$?"'
flock ok/lock sh -c 'echo one-locked | svlogd ok missing; echo "rc=$?"'
mkdir cfg; mkdir cfg/config
echo cfg | svlogd cfg; echo "rc=$?"
cat cfg/current
