# chpst: usage texts and exit codes, chpst's and each personality's (runit's sgetopt complaints).
# Deliberate difference: our usage line is runit 2.3.0's, with "[-C pwd]" (docs/compatibility.md).
chpst
echo $?
chpst -V
echo $?
chpst -x true
echo $?
chpst -u
echo $?
chpst -v
echo $?
chpst -m 12x true
echo $?
chpst -n ++1 true
echo $?
chpst -l a -L b true
echo $?
chpst -m x -Z true
echo $?
for p in envdir envuidgid setuidgid softlimit setlock pgrphack; do
  $p
  echo $?
done
envdir dir
echo $?
setuidgid nobody
echo $?
softlimit -x true
echo $?
softlimit -o
echo $?
softlimit -o 12x true
echo $?
softlimit -o 5
echo $?
setlock -y f true
echo $?
setlock -n
echo $?
# a leading "d" is stripped before matching; complaints keep argv[0]'s basename
ln -s "$(command -v chpst)" "$ctmp/dsetlock"
ln -s "$(command -v chpst)" "$ctmp/dog"
"$ctmp/dsetlock" -y
echo $?
"$ctmp/dog"
echo $?
