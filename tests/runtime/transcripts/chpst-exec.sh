# chpst's exec: PATH search on the original environment (empty entry = ".", none = /bin:/usr/bin),
# ENOENT/EACCES go on, other errors stop it, no shell for ENOEXEC; -b replaces argv[0].
cd "$ctmp"
mkdir dir1 dir2 nox
printf '#!/bin/sh\necho "dir1 ${0##*/} $*"\n' >dir1/hello
printf '#!/bin/sh\necho "dir2 ${0##*/} $*"\n' >dir2/hello
printf 'echo no shebang\n' >dir2/plain
printf '#!/bin/sh\necho nox\n' >nox/hello
chmod +x dir1/hello dir2/hello dir2/plain
chpst -b fancy sh -c 'echo "$0"'
PATH="$ctmp/nox:$ctmp/dir2:$ctmp/dir1:$PATH" chpst hello 1
PATH="$ctmp/nox:$PATH" chpst hello
echo $?
PATH="$ctmp/dir2:$PATH" chpst plain
echo $?
chpst ./dir2/plain
echo $?
PATH="$ctmp/dir1/hello:$ctmp/dir2:$PATH" chpst hello
echo $?
PATH="$ctmp/missing:$ctmp/dir2" "$(command -v chpst)" hello
(cd dir1 && PATH=":$ctmp/dir2" "$(command -v chpst)" hello)
(cd dir1 && PATH="$ctmp/dir2:" "$(command -v chpst)" hello)
# without PATH: /bin:/usr/bin
env -u PATH "$(command -v chpst)" env | grep -c PATH
chpst nonexistent
echo $?
chpst -b fancy nonexistent
echo $?
chpst ./dir1
echo $?
chpst ''
echo $?
# the exit code is the program's
chpst sh -c 'exit 42'
echo $?
