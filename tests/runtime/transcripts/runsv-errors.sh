# runsv's start-up errors: message and exit code for each bad directory.
svc() {
  mkdir -p "$1"
  printf '#!/bin/sh\nexec sleep 1000\n' >"$1"/run
  chmod +x "$1"/run
}
cd "${ctmp}"
runsv; echo $?
runsv a b; echo $?
runsv nosuch; echo $?
touch plain
runsv plain; echo $?
svc file-supervise
touch file-supervise/supervise
runsv file-supervise; echo $?
svc file-control
mkdir file-control/supervise
touch file-control/supervise/control
runsv file-control; echo $?
svc locked
runsv locked &
runsv=$!
until [ "$(cat locked/supervise/stat 2>/dev/null)" = run ]; do sleep 0.01; done
runsv locked; echo $?
cat locked/supervise/stat
printf x >locked/supervise/control
wait $runsv
echo $?
