# checks: hostprobe.py in POSIX sh, for hosts without python3 -- the same request on stdin, the
# same records out (the request and the records are described in hostprobe.py). Needs stat -c
# (GNU coreutils or busybox), od, dd, tr, readlink, date +%s and, for the supervision probe,
# sv: sh cannot open supervise/ok without blocking, so OK is "?" in the S records and sv's line
# comes as a V record instead, and PID and STAT (text no check reads) are "-". Only non-printable
# bytes other than space and newline are not encoded here (python's probe encodes them too; the
# parser takes both).
NL='
'
LIMIT=262144

pct() {  # one field, percent-encoded; - for none is written by the caller
  case $1 in
    '') printf '=' ;;
    -) printf '%%2D' ;;
    =) printf '%%3D' ;;
    *%* | *' '* | *"$NL"*)
      printf '%s' "$1" | awk 'BEGIN { ORS = "" } NR > 1 { printf "%%0A" }
        { gsub(/%/, "%25"); gsub(/ /, "%20"); print }' ;;
    *) printf '%s' "$1" ;;
  esac
}

# A record in a user's tree is the user's to plant: hexof opens a regular file alone, never a
# link (a link to a device would have root open it: a watchdog's open arms it) nor a FIFO (od
# would wait on it). GNU dd checks again as it opens (O_NOFOLLOW, O_NONBLOCK); busybox's dd has
# neither flag, so there the look before is all, and a FIFO swapped in after it is given up on
# after READ_SECONDS (timeout: busybox's old one takes -t).
READ_FLAGS= READ_LIMIT= READ_SECONDS=10
if dd if=/dev/null of=/dev/null iflag=nofollow,nonblock count=0 2>/dev/null; then
  READ_FLAGS=iflag=nofollow,nonblock
elif timeout 5 true 2>/dev/null; then READ_LIMIT="timeout $READ_SECONDS"
elif timeout -t 5 true 2>/dev/null; then READ_LIMIT="timeout -t $READ_SECONDS"
fi
head_of() { $READ_LIMIT dd if="$1" $READ_FLAGS bs="$2" count=1 2>/dev/null; }  # FILE COUNT
all_of() { $READ_LIMIT dd if="$1" $READ_FLAGS bs=65536 2>/dev/null; }  # FILE

hexof() {  # FILE [COUNT]: its bytes in hex, = when empty, the errno's name when unreadable
  if [ -h "$1" ]; then printf 'ELOOP'; return; fi
  if [ ! -e "$1" ]; then printf 'ENOENT'; return; fi
  if [ ! -f "$1" ]; then printf 'EINVAL'; return; fi
  if [ ! -r "$1" ]; then printf 'EACCES'; return; fi
  hexwords "$(head_of "$1" "${2:-$LIMIT}" | od -An -tx1 -v)"
}

plain_file() {  # FILE: a regular file, not a link, that we may read
  [ -f "$1" ] && [ ! -h "$1" ] && [ -r "$1" ]
}

hexwords() {  # od's words joined by the shell, not a tr (hex digits: nothing a glob could match)
  joined=
  for word in $1; do joined=$joined$word; done
  if [ -n "$joined" ]; then printf '%s' "$joined"; else printf '='; fi
}

expand() {  # ~login/rest -> the login's home/rest, in $real
  real=$1
  case $1 in
    '~'*)
      login=${1#\~}; rest=
      case $login in */*) rest=/${login#*/}; login=${login%%/*} ;; esac
      home=$(getent passwd "$login" 2>/dev/null | cut -d: -f6)
      [ -n "$home" ] || home=$(awk -F: -v l="$login" '$1 == l { print $6; exit }' /etc/passwd)
      [ -n "$home" ] && real=${home%/}$rest ;;
  esac
}

entry() {  # SHOWN REAL [resolve]: E (or X) with L or C (L for a directory with resolve); $kind
  kind=; resolve=$3
  if [ ! -e "$2" ] && [ ! -h "$2" ]; then
    printf 'X ENOENT '; pct "$1"; printf '\n'; return 1
  fi
  info=$(stat -c '%f %u %g %U %G %s' "$2" 2>/dev/null) || {
    printf 'X EACCES '; pct "$1"; printf '\n'; return 1; }
  set -- "$1" "$2" $info
  raw=$((0x$3))
  case $((raw & 61440)) in
    32768) kind=f ;; 16384) kind=d ;; 40960) kind=l ;; 4096) kind=p ;; 49152) kind=s ;;
    8192) kind=c ;; 24576) kind=b ;; *) kind='?' ;;
  esac
  user=$6; group=$7
  [ "$user" = UNKNOWN ] && user=-
  [ "$group" = UNKNOWN ] && group=-
  printf 'E %s %o %s %s ' "$kind" $((raw & 4095)) "$4" "$5"
  if [ "$user" = - ]; then printf '%s' '- '; else pct "$user"; printf ' '; fi
  if [ "$group" = - ]; then printf '%s' '- '; else pct "$group"; printf ' '; fi
  pct "$1"; printf '\n'
  case $kind in
    l)
      printf 'L '; pct "$(readlink "$2")"; printf ' '
      resolved=$(readlink -f "$2" 2>/dev/null)
      if [ -n "$resolved" ] && [ -e "$resolved" ]; then pct "$resolved"; else printf '%s' '-'; fi
      printf ' '; pct "$1"; printf '\n' ;;
    f)
      printf 'C %s ' "$8"
      if [ "$8" -le "$LIMIT" ]; then hexof "$2"; printf ' - '
      elif command -v sha256sum >/dev/null 2>&1; then
        printf '%s %s ' - "$(all_of "$2" | sha256sum | cut -d' ' -f1)"
      else printf '%s' '- - '; fi
      pct "$1"; printf '\n' ;;
    d)
      if [ -n "$resolve" ]; then
        printf 'L - '; pct "$(readlink -f "$2")"; printf ' '; pct "$1"; printf '\n'
      fi ;;
  esac
  return 0
}

walk() {  # SHOWN REAL ...: the directories still to walk queue in the positional parameters,
          # not a call per level: a directory a user owns may be deeper than sh recurses
  while [ "$#" -gt 0 ]; do
    at=$1 at_real=$2
    shift 2
    entry "$at" "$at_real" || continue
    [ "$kind" = d ] || continue
    [ -r "$at_real" ] && [ -x "$at_real" ] && { printf 'D '; pct "$at"; printf '\n'; }
    for child in "$at_real"/* "$at_real"/.[!.]* "$at_real"/..?*; do
      [ -e "$child" ] || [ -h "$child" ] || continue
      name=${child##*/}
      if [ "$name" != supervise ] && [ -d "$child" ] && [ ! -h "$child" ]; then
        set -- "$@" "${at%/}/$name" "$child"
      else entry "${at%/}/$name" "$child"; fi
    done
  done
  return 0
}

side_record() {  # SHOWN REAL
  down=0
  [ -e "$2/down" ] && down=1
  printf 'S ? %s ' "$down"
  if [ -e "$2/supervise/status" ]; then
    # the status record, and the owner of the process in supervise/pid
    hexof "$2/supervise/status" 20; printf ' '
    pid= owner=
    plain_file "$2/supervise/pid" && pid=$(head_of "$2/supervise/pid" 32 | tr -cd 0-9)
    if [ -n "$pid" ] && [ -r "/proc/$pid/status" ]; then
      while read -r key value rest; do
        [ "$key" = Uid: ] && { owner=$value; break; }
      done < "/proc/$pid/status"
    fi
    printf '%s ' "${owner:--}"
  else
    printf '%s' '- - '
  fi
  sup=$(stat -L -c '%u' "$2/supervise" 2>/dev/null) || sup=-
  printf '%s ' "$sup"; pct "$1"; printf '\n'
  if plain_file "$2/supervise/readiness"; then
    printf 'R '; hexof "$2/supervise/readiness" 4096; printf ' '; pct "$1"; printf '\n'
  fi
  if plain_file "$2/supervise/tally"; then
    printf 'A '; hexof "$2/supervise/tally" 1024; printf ' '; pct "$1"; printf '\n'
  fi
  if [ -f "$2/oneshot" ] && [ ! -h "$2/oneshot" ]; then
    printf 'O '
    if [ -f "$2/supervise/last-run" ]; then hexof "$2/supervise/last-run" 256
    else printf '%s' '-'; fi
    printf ' '; pct "$1"; printf '\n'
  fi
  if [ -f "$2/needs-passed" ] && [ ! -h "$2/needs-passed" ]; then
    printf 'N '; hexof "$2/needs-passed" 256; printf ' '
    if [ -n "$BOOT" ]; then pct "$BOOT"; else printf '%s' '-'; fi
    printf ' '; pct "$1"; printf '\n'
  fi
  if [ -f "$2/schedule" ] && [ ! -h "$2/schedule" ]; then
    printf 'T '
    for record in "$2/schedule 4096" "$2/supervise/timer 4096" "$2/supervise/last-run 4096"; do
      if [ -f "${record% *}" ]; then hexof "${record% *}" "${record##* }"
      else printf '%s' '-'; fi
      printf ' '
    done
    pct "$1"; printf '\n'
  fi
}

planted_record() {  # DIR: the first of sv's records in DIR (and DIR/log) that sv must not
  # open -- a link, an ok that is not a FIFO, a status that is not a regular file: runit's sv
  # follows links, so a user's tree could have root's sv open a device -- printed; else false
  for record in "$1/supervise/ok" "$1/supervise/status" "$1/log/supervise/ok" \
      "$1/log/supervise/status"; do
    [ -e "$record" ] || [ -h "$record" ] || continue
    case $record in
      */ok) { [ -p "$record" ] && [ ! -h "$record" ]; } && continue ;;
      *) { [ -f "$record" ] && [ ! -h "$record" ]; } && continue ;;
    esac
    printf '%s' "${record#"$1"/}"
    return 0
  done
  return 1
}

side() {  # SHOWN REAL
  side_record "$1" "$2"
  [ -d "$2/log" ] && side_record "${1%/}/log" "$2/log"
  printf 'V '
  if ! command -v sv >/dev/null 2>&1; then printf '%s' '-'
  elif planted=$(planted_record "$2"); then
    pct "fail: $2: unable to open $planted: a link, or not of runsv's kind: not opened"
  else pct "$(sv status "$2" 2>&1)"; fi
  printf ' '; pct "$2"; printf ' '; pct "$1"; printf '\n'
}

tree() {  # SHOWN REAL (a directory, or a link to one: /etc/service on Debian)
  entry "$1" "$2" resolve || return 0
  [ "$kind" = d ] || { [ "$kind" = l ] && [ -d "$2" ]; } || return 0
  [ -r "$2" ] && [ -x "$2" ] && { printf 'D '; pct "$1"; printf '\n'; }
  for child in "$2"/*; do
    [ -e "$child" ] || [ -h "$child" ] || continue
    name=${child##*/}
    entry "${1%/}/$name" "$child"
    if [ -d "$child" ]; then
      entry "${1%/}/$name/run" "$child/run"
      side "${1%/}/$name" "$child"
    fi
  done
}

login() {
  uid=$(id -u "$1" 2>/dev/null) || { printf 'U - - - - '; pct "$1"; printf '\n'; return; }
  home=$(getent passwd "$1" 2>/dev/null | cut -d: -f6)
  [ -n "$home" ] || home=$(awk -F: -v l="$1" '$1 == l { print $6; exit }' /etc/passwd)
  printf 'U %s %s %s ' "$uid" "$(id -g "$1")" "$(id -G "$1" | tr ' ' ,)"
  pct "$home"; printf ' '; pct "$1"; printf '\n'
}

group_record() {
  gid=$(getent group "$1" 2>/dev/null | cut -d: -f3)
  [ -n "$gid" ] || gid=$(awk -F: -v g="$1" '$1 == g { print $3; exit }' /etc/group)
  printf 'G %s ' "${gid:--}"; pct "$1"; printf '\n'
}

cgroup_record() {  # SHOWN REAL: K, as hostprobe.py's cgroup
  printf 'K '; hexof "$2/supervise/cgroup" 4096; printf ' '
  mount=$(awk '/ - cgroup2 / { gsub(/\\040/, " ", $5); print $5; exit }' \
    /proc/self/mountinfo 2>/dev/null)
  if [ -n "$mount" ]; then pct "$mount"; else printf '%s' '-'; fi
  path=
  plain_file "$2/supervise/cgroup" && path=$(head_of "$2/supervise/cgroup" 4096; printf x)
  path=${path%x}
  case $path in
    /*"$NL") path=${path%"$NL"}
      case "$path/" in *//* | */./* | */../* | *"$NL"*) path= ;; esac ;;
    *) path= ;;
  esac
  for file in memory.max memory.high pids.max cpu.max cpu.weight io.weight; do
    printf ' '
    if [ -n "$mount" ] && [ -n "$path" ]; then hexof "$mount$path/$file" 4096
    else printf '%s' '-'; fi
  done
  printf ' '; pct "$1"; printf '\n'
}

which_record() {
  path=$(command -v "$1" 2>/dev/null)
  case $path in
    /*) printf 'W '; pct "$path"; printf ' '  # root's PATH: its links followed
        if [ -r "$path" ]; then hexwords "$(od -An -tx1 -v -N 64 "$path" 2>/dev/null)"
        else printf 'EACCES'; fi
        printf ' ' ;;
    *) printf 'W - - ' ;;
  esac
  pct "$1"; printf '\n'
}

BOOT=
read -r BOOT 2>/dev/null </proc/sys/kernel/random/boot_id
printf 'H %s sh -\n' "$(date +%s)"
base=/
while IFS= read -r line || [ -n "$line" ]; do
  verb=${line%% *}; arg=${line#* }
  case $verb in
    in) base=$arg; continue ;;
    stat | walk | side | tree | cgroup)
      case $arg in /* | '~'*) shown=$arg ;; *) shown=${base%/}/$arg ;; esac
      expand "$shown"
      case $verb in
        stat) entry "$shown" "$real" resolve ;;
        walk) walk "$shown" "$real" ;;
        side) side "$shown" "$real" ;;
        tree) tree "$shown" "$real" ;;
        cgroup) cgroup_record "$shown" "$real" ;;
      esac ;;
    login) login "$arg" ;;
    group) group_record "$arg" ;;
    which) which_record "$arg" ;;
    '') ;;
    *) echo "hostprobe: unknown request $line" >&2; exit 2 ;;
  esac
done
exit 0
