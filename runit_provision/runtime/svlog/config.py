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

from ..unix.scan import scan_ulong

DEFAULT_SIZE = 1000000
DEFAULT_KEEP = 10
DEFAULT_UDP_PORT = 514

_STAR = ord("*")
_PLUS = ord("+")


class LogConfig:
    """One directory's settings, as ``parse_config`` read them; defaults are runit's."""

    __slots__ = ("size_max", "keep_max", "keep_min", "age_max", "processor", "udp",
                 "udp_only", "prefix", "rules", "warnings", "to_file", "pick_for_file",
                 "to_stderr", "pick_for_stderr")

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
        self.set_rules(())

    def set_rules(self, rules):
        """Install the pattern rules and the selections derived from them (``selection``)."""
        self.rules = tuple(rules)
        self.to_file, self.pick_for_file = selection(self.rules, "+-", True)
        self.to_stderr, self.pick_for_stderr = selection(self.rules, "eE", False)

    @property
    def is_plain(self):
        """No per-line decisions: every line goes to the file, none anywhere else."""
        return self.pick_for_file is None and not self.alerts and self.udp is None

    @property
    def alerts(self):
        """Whether any line can be selected for standard error."""
        return self.pick_for_stderr is not _pick_none


def _exceeds(digits, value, bound):
    """Whether the number ``digits`` spell is above ``bound`` (< 10**19), ``value`` being what
    scan_ulong made of them: it wraps at 2**64 as C's does, but a port or an address part of
    twenty digits is refused, not wrapped into range.

    >>> _exceeds(b"0255", 255, 255), _exceeds(b"18446744073709551617", 1, 255)
    (False, True)
    """
    return value > bound or len(digits.lstrip(b"0")) > len(str(bound))


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
    config.set_rules(rules)
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
        host, tail = _ipv4_prefix(text)
        if host is None:
            return "unable to scan ip address: " + raw
    if not tail.startswith(":"):
        return host, DEFAULT_UDP_PORT  # runit ignores whatever follows the address
    digits = tail[1:].encode("latin-1")
    port, used = scan_ulong(digits)
    if not used or not port or _exceeds(digits[:used], port, 65535):
        return "unable to scan port number: " + tail[1:]
    return host, port


def _ipv4_prefix(text):
    """``(dotted quad, the rest)`` from the start of ``text``, as djb's ip4_scan (but every
    part must be 0–255); ``(None, None)`` if there is none.

    >>> _ipv4_prefix(b"10.0.0.1:514")
    ('10.0.0.1', ':514')
    """
    parts, rest = [], text
    for index in range(4):
        if index:
            if rest[:1] != b".":
                return None, None
            rest = rest[1:]
        value, used = scan_ulong(rest)
        if not used or _exceeds(rest[:used], value, 255):
            return None, None
        parts.append(rest[:used].decode())
        rest = rest[used:]
    return ".".join(parts), rest.decode("latin-1")


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


_LITERAL, _SKIP_TO, _REST, _RUN, _NEVER = range(5)


def _pick_none(lines):
    return []


# Whether a line goes to a destination no rule decides for: shared by every config (a closure
# each would cost every logger of a tree two functions and their cells).
def _every_line(line):
    return True


def _no_line(line):
    return False


def pattern_ops(pattern):
    """``pattern`` as steps: runs of literal bytes merged (compared with ``startswith``),
    ``*X`` as a jump to the first X (``find``, memchr), trailing ``*``, ``+X`` runs.

    >>> pattern_ops(b"*: pid *")
    [(1, b':'), (0, b': pid '), (2, None)]
    """
    ops = []
    p, plen = 0, len(pattern)
    while p < plen:
        c = pattern[p]
        p += 1
        if c == _STAR:
            if p == plen:
                ops.append((_REST, None))
                break
            ops.append((_SKIP_TO, pattern[p:p + 1]))  # X itself is the next step
        elif c == _PLUS:
            if p == plen:
                ops.append((_NEVER, None))
                break
            ops.append((_RUN, pattern[p]))
            p += 1
        elif ops and ops[-1][0] == _LITERAL:
            ops[-1] = (_LITERAL, ops[-1][1] + bytes((c,)))
        else:
            ops.append((_LITERAL, bytes((c,))))
    return ops


def compile_pattern(pattern):
    """A fast ``line -> bool`` equal to ``pattern_matches(pattern, line)``.

    >>> compile_pattern(b"*debug*")(b"a debug line"), compile_pattern(b"*debug*")(b"dull")
    (True, False)
    """
    ops = tuple(pattern_ops(pattern))
    if len(ops) == 1 and ops[0][0] == _LITERAL:
        return ops[0][1].__eq__
    if len(ops) == 2 and ops[0][0] == _LITERAL and ops[1][0] == _REST:
        prefix = ops[0][1]
        return lambda line: line.startswith(prefix)

    def matches(line):
        s = 0
        for op, arg in ops:
            if op == _SKIP_TO:
                s = line.find(arg, s)
                if s < 0:
                    return False
            elif op == _LITERAL:
                if not line.startswith(arg, s):
                    return False
                s += len(arg)
            elif op == _REST:
                return True
            elif op == _RUN:
                end = len(line)
                if s == end or line[s] != arg:
                    return False
                while s < end and line[s] == arg:
                    s += 1
                if s == end:
                    return True  # runit: a run reaching the end matches the rest
            else:
                return False
        return s == len(line)

    return matches


def selection(rules, kinds, default):
    """How one destination picks lines: ``(decide, pick)``.

    ``kinds`` is ``"+-"`` (the file; lines selected by ``default`` True) or ``"eE"``
    (stderr; default False); the last matching rule wins.  ``decide(line) -> bool``;
    ``pick(lines) -> list`` keeps the chosen ones — or ``pick`` is None when every line is
    chosen, whatever it says.

    >>> decide, pick = selection(parse_config(b"-*\\n+a*\\n-ab*\\n").rules, "+-", True)
    >>> pick([b"a1", b"ab", b"b"]), decide(b"a1")
    ([b'a1'], True)
    """
    chain = []  # (selects, matches), the last rule first
    for kind, pattern, matches in reversed(rules):
        if kind not in kinds:
            continue
        if pattern == b"*":  # matches every line: no earlier rule ever decides
            default = kind in "+e"
            break
        chain.append((kind in "+e", matches))
    while chain and chain[-1][0] == default:
        chain.pop()  # the first rules agreeing with the default change nothing
    if not chain:
        return (_every_line, None) if default else (_no_line, _pick_none)
    if len(chain) == 1:
        selects, matches = chain[0]
        if selects:
            return matches, lambda lines: [line for line in lines if matches(line)]
        return ((lambda line: not matches(line)),
                lambda lines: [line for line in lines if not matches(line)])

    def decide(line):
        for selects, matches in chain:
            if matches(line):
                return selects
        return default

    return decide, lambda lines: [line for line in lines if decide(line)]
