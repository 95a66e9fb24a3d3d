# chpst -l/-L and setlock: the lock file is opened O_WRONLY|O_APPEND|O_CREAT 0600 and flock()ed;
# the fd stays open in the program. A nested lock attempt is a second open file description, so
# it conflicts with the outer one without any timing.
cd "$ctmp"
chpst -l lock true
echo $?
ls -l lock | cut -c1-10
chpst -L lock sh -c 'chpst -L lock true; echo $?'
chpst -l lock sh -c 'chpst -L lock true; echo $?'
# setlock fails at once by default and with -N; -n would wait
setlock lock sh -c 'setlock lock true; echo $?'
setlock -n lock sh -c 'setlock -N lock true; echo $?'
# -x: exit 0 silently when the lock cannot be taken ...
setlock lock sh -c 'setlock -x lock echo not-run; echo $?'
setlock lock sh -c 'setlock -xX lock true; echo $?'
# ... or the program cannot be run
setlock -x lock ./nonexistent
echo $?
setlock lock ./nonexistent
echo $?
setlock -x nodir/lock true
echo $?
setlock nodir/lock true
echo $?
chpst -l nodir/lock true
echo $?
# the lock is held by the program itself: released when it exits
chpst -L lock true
echo $?
