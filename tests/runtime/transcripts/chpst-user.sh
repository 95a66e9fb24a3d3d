# chpst -u / -U, setuidgid, envuidgid (run as root; nobody, daemon and bin exist everywhere).
# runit calls no initgroups(): "user" gets its primary gid as the only group.
chpst -u nobody id -u
chpst -u nobody id -G
chpst -u nobody:daemon id -G
chpst -u nobody:daemon:bin sh -c 'id -u; id -g; id -G'
chpst -u :5:6:7 sh -c 'id -u; id -g; id -G'
chpst -u :1:1: id -G
chpst -u daemon -U bin env | grep '^[UG]ID='
chpst -U nobody:daemon:bin env | grep '^[UG]ID='
chpst -U :5:6:7 env | grep '^[UG]ID='
setuidgid daemon id -G
envuidgid bin env | grep '^[UG]ID='
chpst -u nosuchuser true
echo $?
chpst -u nobody:nosuchgroup true
echo $?
chpst -u nobody: true
echo $?
chpst -u :12 true
echo $?
chpst -u :1:2:x true
echo $?
chpst -U nosuchuser true
echo $?
setuidgid nobody:daemon true
echo $?
envuidgid :1:1 true
echo $?
chpst -u :4294967295:0 true
echo $?
chpst -u :1:4294967295 true
echo $?
# without CAP_SETGID/CAP_SETUID (setpriv, util-linux) the first step fails
setpriv --bounding-set -setgid,-setuid chpst -u nobody true
echo $?
setpriv --bounding-set -setuid chpst -u nobody true
echo $?
