# utmpset: usage, and logging lines out of utmp (and wtmp with -w) on scratch files.
. "${0%/*}"/utmpset-lib.inc
utmpset; echo "rc=$?"
utmpset -V; echo "rc=$?"
utmpset -x tty1; echo "rc=$?"
utmpset -wx tty1; echo "rc=$?"
utmpset -w; echo "rc=$?"
# runit's sgetopt: any word starting with "--" ends the options (consumed), a lone "-" is the
# line; a complaint names the one byte sgetopt looked at
utmpset --foo; echo "rc=$?"
utmpset --foo tty1; echo "--foo tty1 rc=$?"
utmpset -; echo "- rc=$?"
utmpset -:; echo "rc=$?"
utmpset -é tty1; echo "rc=$?"
utmpset -wV; echo "rc=$?"
utmpset -xV; echo "rc=$?"
utmpset tty1; echo "no utmp rc=$?"
put 7:101:tty1:1:root:host1 6:102:tty2:2:LOGIN: 7:103:tty3:3::nouser 7:104:tty1:1b:other:
dump /var/run/utmp
utmpset tty9; echo "tty9 rc=$?"
utmpset tty3; echo "tty3 rc=$?"
utmpset tty1; echo "tty1 rc=$?"
dump /var/run/utmp
utmpset tty1; echo "tty1 again rc=$?"
utmpset tty1 tty2 extra; echo "tty1 once more rc=$?"
dump /var/run/utmp
utmpset -w tty2; echo "-w tty2 rc=$?"
dump /var/run/utmp
dump /var/log/wtmp
ls -l /var/log/wtmp | cut -c1-10
long=abcdefghijklmnopqrstuvwxyz012345
put 7:1:$long:x:u:h
utmpset -w $long; echo "32 chars rc=$?"
dump /var/run/utmp
dump /var/log/wtmp
put 7:1:-w:x:u:h 7:2:tty5:5:u:
utmpset -- -w; echo "-- -w rc=$?"
rm /var/log/wtmp; mkdir /var/log/wtmp
utmpset -w tty5; echo "wtmp a directory rc=$?"
dump /var/run/utmp
rm /var/run/utmp; mkdir /var/run/utmp
utmpset tty5; echo "utmp a directory rc=$?"
