# chpst's limits and softlimit: only soft limits change, a value above the hard limit is clamped
# to it, softlimit's "=" means soft = hard; -m is data + stack + memlock + address space.
# The limits are fixed first so that the output does not depend on the machine (dash's ulimit
# counts -c/-f in 512-byte blocks and -d/-s/-l/-v in KiB).
ulimit -S -n 900; ulimit -H -n 1000
ulimit -S -c 0; ulimit -H -c 8
ulimit -S -t 1800; ulimit -H -t 3600
ulimit -S -p 1500; ulimit -H -p 2000
ulimit -S -f 8; ulimit -H -f 16
ulimit -S -l 64; ulimit -H -l 128
ulimit -S -s 8192; ulimit -H -s 65536
ulimit -S -d 1048576; ulimit -H -d 2097152
ulimit -S -v 2097152; ulimit -H -v 4194304
ulimit -S -m 1048576; ulimit -H -m 2097152
show() {
  "$@" cat /proc/self/limits | grep -E 'Max (cpu time|file size|data size|stack size|core|resident|processes|open files|locked|address)' | tr -s ' ' | sed 's/ *$//'
  echo "exit $?"
}
show chpst
show chpst -o 7 -c 100 -t 60 -p 50 -f 1000 -r 1234567
show chpst -o 99999999 -c 99999999 -t 99999999
show chpst -o 18446744073709551615 -c ''
show chpst -m 300000000
show chpst -d 400000000 -m 300000000
show chpst -m 300000000 -d 400000000
show softlimit -o = -c = -t = -p = -f = -r = -d 1000000
show softlimit -m = -s 1000000
show softlimit -a 300000000 -l 65536 -d 200000000 -s 8388608 -r 5000000 -f 10 -p 20 -o 12 -c 0 -t 5
