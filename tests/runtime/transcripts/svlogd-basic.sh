# svlogd basics: current 0744 when complete, lock 0600, stamps (-t, -tt, -ttt, more t's = -ttt),
# appending to a complete current, several directories at once, empty input.
cd "${ctmp}"
show() { for f in "$@"; do stat -c '%A %s %n' "$f"; done; }
mkdir a b
printf 'one\ntwo\n' | svlogd a; echo "rc=$?"
show a/current a/lock; cat a/current
printf 'three\n' | svlogd a; echo "rc=$?"
cat a/current
printf 'x\n\ny\n' | svlogd -t a b; echo "rc=$?"
cat a/current b/current
printf 'tt\n' | svlogd -tt b; printf 'ttt\n' | svlogd -ttt b; printf 'tttt\n' | svlogd -tttt b
cat b/current
: | svlogd b; echo "empty rc=$?"
show b/current
printf 'binary\000nul\001\377\n' | svlogd b
tail -n1 b/current | od -An -c
ls a b
