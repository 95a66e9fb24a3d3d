"""runtime/unix: djb's ``scan_ulong`` — the one decimal reader of the runtime tools.

runit reads every number the same way: the leading ASCII digits into an unsigned long (wrapping
at 2**64), and how many there were; the caller decides what the rest of the text means
(``chpst -m 12x`` is a usage error, svlogd's ``s100k`` a suffix, ``sv -w 5x`` just 5).
"""

ULONG = 1 << 64
_DIGITS = "0123456789"
_DIGIT_BYTES = b"0123456789"


def scan_ulong(text):
    """``(value modulo 2**64, digits used)`` from the start of ``text`` (str or bytes).

    >>> scan_ulong("100k"), scan_ulong(b"x"), scan_ulong("18446744073709551617")
    ((100, 3), (0, 0), (1, 20))
    """
    digits = _DIGIT_BYTES if isinstance(text, bytes) else _DIGITS
    used = len(text) - len(text.lstrip(digits))
    if not used:
        return 0, 0
    value = 0
    # 18 digits at a time: int() refuses digit strings longer than 4300 characters, and a
    # command line or a config file may hold any number of digits.
    for start in range(0, used, 18):
        chunk = text[start:min(start + 18, used)]
        value = (value * 10 ** len(chunk) + int(chunk)) % ULONG
    return value, used
