# config patterns (runit's pmatch: *X, trailing *, +X, whole line, last match wins), the p
# prefix, e/E alerts to stderr, -r/-R replacement, -l: only the first len bytes are matched,
# replaced and alerted (with ...), the file still gets the whole line.
cd "${ctmp}"
mkdir p q r
printf -- '-*\n+a*\n-ab*\ne*x\nE*y*\nphello: \n' >p/config
printf 'abc\nbcd\naxy\nzzx\nax\nabx\n' | svlogd p 2>p.err; echo "rc=$?"
echo "-- file"; cat p/current; echo "-- stderr"; cat p.err
printf -- '-*\n+*: *: pid *\n+x+y*\n+**\n+q+rs\ne*\n' >q/config
printf 'tcpsvd: info: pid 1977 from 10.4.1.14\nsvd: pid 7\nxxyy1\nxyx\nno*star\na*b\nqrr\nqrrs\nqrrt\nqr\n' \
  | svlogd q 2>q.err; echo "rc=$?"
echo "-- file"; cat q/current; echo "-- stderr"; cat q.err
printf 'e*\n' >r/config
(printf 'abcdefghij0123456789XYZ\n'; printf 'tab\there\n'; printf 'ctl\001\033\377z\n') \
  | svlogd -l 10 -b 11 -r '#' -R 'ae' r 2>r.err; echo "rc=$?"
echo "-- file"; cat r/current; echo "-- stderr"; cat r.err
printf 'line\001\n' | svlogd -R 'n' r 2>/dev/null
tail -n1 r/current
