# Deliberate differences from runit 2.1.2 (docs/compatibility.md):
# - an unfinished last line at EOF is kept, with a newline added (runit drops it);
# - a line is never split across files unless it is longer than s (runit cuts every write
#   at s, and with len >= s rotates only when the file is full);
# - a config line that cannot be read is reported and ignored (runit: "sabc" means s0).
cd "${ctmp}"
mkdir a b c
printf 'complete\nunfinished' | svlogd a; echo "rc=$?"
od -An -c a/current
printf 's20\n' >b/config
printf 'hello world\nsecond line\nthird\n0123456789012345678901234\n' | svlogd b; echo "rc=$?"
for f in b/@* b/current; do printf '%s: ' "$f"; od -An -c "$f" | tr -s ' ' | tr -d '\n'; echo; done
echo '-- c: a config line that cannot be read'
printf 'sabc\nn2\n' >c/config
printf 'x\n' | svlogd c; echo "rc=$?"
# - standard input closed: runit's own open of "." becomes fd 0 and it reads its working
#   directory ("is a directory"); ours says the descriptor is not open. Both exit 0.
svlogd a <&-; echo "closed stdin rc=$?"
