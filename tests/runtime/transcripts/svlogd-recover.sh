# Crash recovery: a non-empty current without u+x is saved as @<tai64n>.u and a new current
# started; an empty one, or a complete (0744) one, is appended to.
cd "${ctmp}"
mkdir d
printf 'crashed\n' >d/current; chmod 644 d/current
echo after | svlogd -v d 2>&1; echo "rc=$?"
for f in d/*; do stat -c '%A %s %n' "$f"; done
cat d/@*.u d/current
rm d/@*.u
: >d/current; chmod 644 d/current
echo empty | svlogd -v d 2>&1
cat d/current; ls d
