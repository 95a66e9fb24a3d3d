# Rotation and pruning: s (with lines that fit: identical to runit), n keeps that many old files,
# one oldest deleted per rotation, names @<tai64n>.s of 27 characters, 0744; ALRM-free.
cd "${ctmp}"
mkdir r
printf 's100\nn3\n' >r/config
i=0; while [ $i -lt 50 ]; do printf 'line %04d\n' $i; i=$((i+1)); done >input
svlogd -v -l 20 -b 21 r <input 2>err; echo "rc=$?"
sed 's/^/err: /' err
for f in r/*; do stat -c '%A %s %n' "$f"; done
ls r | grep '^@' | awk '{ print length($0) }' | sort -u
cat r/@*.s r/current >kept
tail -n 26 input | cmp - kept && echo "kept: the last 26 lines, in order"
printf 's0\n' >r/config
svlogd -l 20 -b 21 r <input; echo "s0 rc=$?"
ls r | grep -c '^@'
wc -c <r/current
# numbers wrap at 2**64, as runit's scan_ulong: s18446744073709551716 is s100
mkdir w
printf 's18446744073709551716\nn0\n' >w/config
svlogd -l 20 -b 21 w <input; echo "s 2**64+100 rc=$?"
ls w | grep -c '^@'
wc -c <w/current
