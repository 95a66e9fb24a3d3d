"""protocol: TAI64 and TAI64N labels, as runit writes them.

runit (like daemontools) ignores leap seconds: TAI64 seconds = 2**62 + 10 + unix seconds.
``supervise/status`` holds an 8-byte TAI64 plus a 4-byte nanosecond field; svlogd names
rotated files ``@`` + 24 hex digits of TAI64N.
"""

import struct

TAI_OFFSET = (1 << 62) + 10
_TAI64N = struct.Struct(">QL")


def tai64n_from_unix(seconds, nanoseconds):
    """Pack unix (seconds, nanoseconds) into runit's 12-byte TAI64N."""
    if not 0 <= nanoseconds < 1_000_000_000:
        raise ValueError("nanoseconds out of range: %r" % (nanoseconds,))
    return _TAI64N.pack(seconds + TAI_OFFSET, nanoseconds)


def unix_from_tai64n(packed):
    """Unpack 12 bytes of TAI64N into unix (seconds, nanoseconds)."""
    if len(packed) != 12:
        raise ValueError("TAI64N is 12 bytes, got %d" % len(packed))
    tai, nano = _TAI64N.unpack(packed)
    return tai - TAI_OFFSET, nano


def runit_stamp(time_ns):
    """Split a ``time.time_ns()`` value the way runit's taia does for status files.

    runit keeps microseconds and writes ``usec * 1000 + 500`` as the nanosecond field.
    """
    seconds, rest = divmod(time_ns, 1_000_000_000)
    return seconds, (rest // 1000) * 1000 + 500


def tai64n_label(seconds, nanoseconds):
    """``@`` + 24 hex digits, svlogd's timestamp and rotated-file label.

    >>> tai64n_label(0, 0)
    '@400000000000000a00000000'
    """
    return "@" + tai64n_from_unix(seconds, nanoseconds).hex()


def unix_from_label(label):
    """Parse ``@4000…`` (25 characters) back into unix (seconds, nanoseconds)."""
    if len(label) != 25 or label[0] != "@":
        raise ValueError("not a TAI64N label: %r" % (label,))
    return unix_from_tai64n(bytes.fromhex(label[1:]))
