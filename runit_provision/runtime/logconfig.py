"""runtime: svlogd's ``config`` file and its pattern language — pure functions, no I/O.

A log directory's ``config`` is read at start-up and on HUP (runit's ``logdir_open``). One
directive per line, by its first character::

    s1000000      maximum size of current (suffix k or m: ×1024, ×1024²); s0: no size rotation
    n10           old files to keep (0: never delete);   N10: kept on a full disk
    t3600         rotate a non-empty current after this many seconds (suffix m or h)
    !gzip         processor, run by /bin/sh -c on each rotated file
    u10.0.0.1:514 also send each selected line by UDP;  U…: by UDP only (IPv6: u[::1]:514)
    pPREFIX       prefix for every line written, alerted or sent
    +pat -pat     select / deselect a line for the file;  epat Epat: for standard error

Blank lines and lines starting with ``#`` are ignored.  Patterns are runit's ``pmatch``:
see ``pattern_matches``.  Unlike runit, a line it cannot make sense of is reported and
ignored — runit takes ``s`` with no digits as ``s0`` (rotation off) and ``U`` with a bad
address as "UDP only, to nowhere" (every line lost).
"""

import re

DEFAULT_SIZE = 1000000
DEFAULT_KEEP = 10
DEFAULT_UDP_PORT = 514

_STAR = ord("*")
_PLUS = ord("+")
_DIGITS = re.compile(rb"[0-9]*")


class LogConfig:
    """One directory's settings, as ``parse_config`` read them; defaults are runit's."""

    __slots__ = ("size_max", "keep_max", "keep_min", "age_max", "processor", "udp",
                 "udp_only", "prefix", "rules", "warnings")

    def __init__(self):
        self.size_max = DEFAULT_SIZE
        self.keep_max = DEFAULT_KEEP
        self.keep_min = DEFAULT_KEEP
        self.age_max = 0          # seconds; 0: no age rotation
        self.processor = None     # bytes for /bin/sh -c, or None
        self.udp = None           # (host, port) or None; host is an IPv4 or IPv6 literal
        self.udp_only = False
        self.prefix = b""
        self.rules = ()           # ((kind, pattern bytes, matcher), …) in file order
        self.warnings = []        # messages for ``svlogd: warning: …``

    @property
    def is_plain(self):
        """No per-line decisions: every line goes to the file, none anywhere else."""
        return not self.rules and self.udp is None


def scan_ulong(text):
    """djb's ``scan_ulong``: the leading decimal digits as a number, and how many there were.

    >>> scan_ulong(b"100k")
    (100, 3)
    >>> scan_ulong(b"x")
    (0, 0)
    """
    digits = _DIGITS.match(text).group()
    return (int(digits) if digits else 0), len(digits)


def config_lines(data):
    """The lines runit's parser visits: it ignores a last, one-byte line without a newline.

    >>> list(config_lines(b"s10\\n\\nn2"))
    [b's10', b'', b'n2']
    >>> list(config_lines(b"s10\\n+"))
    [b's10']
    """
    lines = data.split(b"\n")
    last = lines.pop()
    for line in lines:
        yield line
    if len(last) > 1:
        yield last


def parse_config(data, name="."):
    """Read a ``config`` file's bytes into a ``LogConfig``; ``name`` only labels warnings.

    >>> c = parse_config(b"s5k\\nn3\\nt2m\\n-*debug*\\npapp: \\n")
    >>> (c.size_max, c.keep_max, c.age_max, c.prefix, [r[0] for r in c.rules])
    (5120, 3, 120, b'app: ', ['-'])
    >>> parse_config(b"sabc\\n", "log").warnings
    ['ignoring config line: log/config: sabc']
    """
    config = LogConfig()
    rules = []
    for line in config_lines(data):
        if not line or line[:1] == b"#":
            continue
        kind, rest = chr(line[0]), line[1:]
        if kind in "+-eE":
            rules.append((kind, rest, compile_pattern(rest)))
        elif kind in "snNt":
            _set_number(config, kind, rest, line, name)
        elif kind == "!":
            if rest:
                config.processor = rest
        elif kind == "p":
            if rest:
                config.prefix = rest
        elif kind in "uU":
            _set_udp(config, kind, rest)
        else:
            config.warnings.append(_ignored(name, line))
    config.rules = tuple(rules)
    return config


def _ignored(name, line):
    return "ignoring config line: %s/config: %s" % (name, line.decode("utf-8", "replace"))


def _set_number(config, kind, rest, line, name):
    value, used = scan_ulong(rest)
    if not used:
        config.warnings.append(_ignored(name, line))
        return
    suffix = rest[used:used + 1]
    if kind == "s":
        config.size_max = value * {b"k": 1024, b"m": 1024 * 1024}.get(suffix, 1)
    elif kind == "t":
        config.age_max = value * {b"m": 60, b"h": 3600}.get(suffix, 1)
    elif kind == "n":
        config.keep_max = value
    else:
        config.keep_min = value


def _set_udp(config, kind, rest):
    parsed = udp_address(rest)
    if isinstance(parsed, str):
        config.warnings.append(parsed)
        return
    config.udp = parsed
    config.udp_only = kind == "U"


def udp_address(text):
    """``(host, port)`` from ``a.b.c.d[:port]``, ``[v6][:port]`` or a bare IPv6 literal;
    a runit-worded message (a str) when it cannot be read.

    >>> udp_address(b"10.0.0.1")
    ('10.0.0.1', 514)
    >>> udp_address(b"[::1]:5140")
    ('::1', 5140)
    >>> udp_address(b"10.0.0.1:x")
    'unable to scan port number: x'
    """
    raw = text.decode("latin-1")
    if raw.startswith("["):
        host, sep, tail = raw[1:].partition("]")
        if not sep or not _is_ipv6(host):
            return "unable to scan ip address: " + raw
    elif raw.count(":") >= 2:  # a bare IPv6 literal; a port needs the brackets
        host, tail = (raw.split() or [""])[0], ""
        if not _is_ipv6(host):
            return "unable to scan ip address: " + raw
    else:
        match = re.match(r"(\d+)\.(\d+)\.(\d+)\.(\d+)", raw)
        if not match or any(int(part) > 255 for part in match.groups()):
            return "unable to scan ip address: " + raw
        host, tail = match.group(0), raw[match.end():]
    if not tail.startswith(":"):
        return host, DEFAULT_UDP_PORT  # runit ignores whatever follows the address
    port, used = scan_ulong(tail[1:].encode("latin-1"))
    if not used or not 0 < port < 65536:
        return "unable to scan port number: " + tail[1:]
    return host, port


def _is_ipv6(host):
    import ipaddress  # only configs with an IPv6 UDP target pay for this import

    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


# -- the pattern language (runit's pmatch.c) ----------------------------------------------
def pattern_matches(pattern, line):
    """runit's ``pmatch``, step by step: the reference the compiled form is tested against.

    A byte matches itself; ``*X`` skips to the first ``X`` (never past it); ``*`` at the end
    matches the rest; ``+X`` matches a run of one or more ``X`` — and, a quirk of runit's,
    a run that reaches the end of the line matches whatever pattern is left.  The whole
    line must match.

    >>> pattern_matches(b"*: *: pid *", b"tcpsvd: info: pid 1977 from 10.4.1.14")
    True
    >>> pattern_matches(b"*pid*", b"tcpsvd: info: pid 1977")   # the first p is in tcpsvd
    False
    >>> pattern_matches(b"+ab", b"aaa")                         # the run ends the line
    True
    """
    p = s = 0
    plen, slen = len(pattern), len(line)
    while True:
        if p == plen:
            return s == slen
        c = pattern[p]
        p += 1
        if c == _STAR:
            if p == plen:
                return True
            stop = line.find(pattern[p:p + 1], s)
            if stop < 0:
                return False
            s = stop  # the byte after the star is matched next, as an operator if it is one
        elif c == _PLUS:
            if p == plen or s == slen or line[s] != pattern[p]:
                return False  # runit reads past the pattern / line here; we say no match
            c = pattern[p]
            p += 1
            while s < slen and line[s] == c:
                s += 1
            if s == slen:
                return True
        else:
            if s == slen or line[s] != c:
                return False
            s += 1


def pattern_regex(pattern):
    """The regular expression (bytes) equivalent to ``pattern`` under ``fullmatch``.

    ``*X`` cannot backtrack (``[^X]*`` stops at the first X); ``+X`` is made atomic with a
    captured look-ahead and a back-reference, so it works before Python 3.11.

    >>> pattern_regex(b"a*b")
    b'a[^b]*(?=b)b\\\\Z'
    """
    parts = []
    group = 0
    p, plen = 0, len(pattern)
    while True:
        if p == plen:
            parts.append(rb"\Z")
            break
        c = pattern[p:p + 1]
        p += 1
        if c == b"*":
            if p == plen:
                parts.append(rb"(?s:.*)")
                break
            nxt = re.escape(pattern[p:p + 1])
            parts.append(b"[^" + nxt + b"]*(?=" + nxt + b")")
        elif c == b"+":
            if p == plen:
                parts.append(rb"(?!)")
                break
            group += 1
            run = re.escape(pattern[p:p + 1])
            p += 1
            parts.append(b"(?=(%s+))\\%d(?:\\Z|" % (run, group))
            # the rest of the pattern goes inside the alternative; closed below
            parts.append(None)
        else:
            parts.append(re.escape(c))
    closing = parts.count(None)
    return b"".join(part for part in parts if part is not None) + b")" * closing


def compile_pattern(pattern):
    """A fast ``line -> bool`` equal to ``pattern_matches(pattern, line)``."""
    return re.compile(pattern_regex(pattern)).fullmatch


def select_line(rules, line):
    """``(to_file, to_stderr)`` for one line: the last matching rule of each kind wins.

    >>> rules = parse_config(b"-*\\n+a*\\ne*x\\n").rules
    >>> select_line(rules, b"abc"), select_line(rules, b"bcx")
    ((True, False), (False, True))
    """
    to_file, to_stderr = True, False
    for kind, _, matches in rules:
        if kind in "+-":
            if matches(line):
                to_file = kind == "+"
        elif matches(line):
            to_stderr = kind == "e"
    return to_file, to_stderr
