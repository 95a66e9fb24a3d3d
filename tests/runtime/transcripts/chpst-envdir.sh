# chpst -e and envdir: first line only, trailing blanks cut, NUL -> newline, 0-byte file unsets,
# dot-names skipped, subdirectories skipped by -e (warned with -v) but fatal for envdir.
mkdir "$ctmp/env"
cd "$ctmp/env"
printf 'first  \t \nsecond\n' >FIRST
printf ' lead' >LEAD
printf 'x\000y' >NUL
printf '\n' >NEWLINE
: >GONE
echo hidden >.DOT
printf 'v' >'K=V'
cd "$ctmp"
GONE=was-set DOT=kept chpst -e env env | grep -E '^(FIRST|LEAD|NUL|y|NEWLINE|GONE|DOT|K)' | sort
echo $?
GONE=was-set envdir env env | grep -c '^GONE='
# the -U values come after the envdir's, whatever the file says
echo 999 >env/UID
chpst -e env -U :5:6 env | grep '^[UG]ID='
rm env/UID
mkdir env/sub
chpst -e env true
echo $?
chpst -v -e env true
echo $?
envdir env true
echo $?
chpst -e missing true
echo $?
chpst -e env/FIRST true
echo $?
envdir "" true
echo $?
rmdir env/sub
# PATH from the envdir reaches the program but not the search for it
echo /nowhere >env/PATH
chpst -e env sh -c 'echo "$PATH"'
echo $?
envdir env env | grep -c '^PATH=/nowhere$'
