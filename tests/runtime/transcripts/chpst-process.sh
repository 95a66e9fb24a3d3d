# chpst -P and pgrphack (setsid), -n (nice), -0 -1 -2 (close stdio), -/ (chroot) error paths.
cd "$ctmp"
session() { cut -d' ' -f6 /proc/self/stat; }
outer=$(session)
inner=$(chpst sh -c "cut -d' ' -f6 /proc/self/stat")
[ "$outer" = "$inner" ] && echo "chpst: same session" || echo "chpst: new session"
inner=$(chpst -P sh -c "cut -d' ' -f6 /proc/self/stat")
[ "$outer" = "$inner" ] && echo "chpst -P: same session" || echo "chpst -P: new session"
inner=$(pgrphack sh -c "cut -d' ' -f6 /proc/self/stat")
[ "$outer" = "$inner" ] && echo "pgrphack: same session" || echo "pgrphack: new session"
# setsid() fails for a session leader; runit ignores that
chpst -P chpst -P true
echo $?
base=$(nice)
for n in 3 +3 -0 0; do
  echo "nice $n: $(( $(chpst -n $n nice) - base ))"
done
chpst -n 5 chpst -n -2 nice
# without CAP_SYS_NICE (setpriv, util-linux) a negative increment fails
setpriv --bounding-set -sys_nice chpst -n -1 true
echo $?
# which of fds 0, 1, 2 the program finds open (fd 9 reports)
fds() { "$@" sh -c 'for fd in 0 1 2; do if [ -e /proc/self/fd/$fd ]; then echo "$fd open" >&9; else echo "$fd closed" >&9; fi; done' 9>&1; }
fds chpst -0 | tr '\n' ' '; echo
fds chpst -1 -2 | tr '\n' ' '; echo
fds chpst -012 | tr '\n' ' '; echo
chpst -012 ./nonexistent
echo $?
chpst -0 true <&-
echo $?
chpst -2 true 2>&-
echo $?
chpst -/ /nonexistent true
echo $?
chpst -/ "$ctmp" true
echo $?
chpst -/ "$ctmp/none" -e missing true
echo $?
