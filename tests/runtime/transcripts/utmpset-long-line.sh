# utmpset: a line longer than ut_line (32 bytes).
# Deliberate difference: ours refuses it as runit 2.3.0 does ("name too long", exit 111);
# Debian's 2.1.2 compares it as a C string running past ut_line into ut_id, so it can log out
# a record whose ut_line+ut_id spell it, and then writes only 30 bytes of it to wtmp.
. "${0%/*}"/utmpset-lib.inc
long=abcdefghijklmnopqrstuvwxyz012345
put 7:1:$long:6:u:h
utmpset ${long}7; echo "33 chars rc=$?"
utmpset -w ${long}6; echo "33 chars matching ut_id rc=$?"
dump /var/run/utmp
[ -e /var/log/wtmp ] && dump /var/log/wtmp
echo done
