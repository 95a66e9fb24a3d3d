"""protocol/tally.py's own CRC-32 (what a view checks a tally or two with, without loading
binascii) is binascii's, and a tally read before binascii is loaded is read as after."""

import binascii
import os
import subprocess
import sys

from runit_provision.protocol import tally


def test_the_own_crc32_is_binascii_s():
    for size in list(range(70)) + [1023, 4096]:
        data = os.urandom(size)
        assert tally.own_crc32(data) == binascii.crc32(data), size
    assert tally.own_crc32(bytes(range(256)) * 3) == binascii.crc32(bytes(range(256)) * 3)


def test_a_view_checks_its_first_tallies_without_binascii():
    written = tally.tally_bytes(tally.Tally(4321, 12, 11, 3 << 8, 1_700_000_000_123_456_789,
                                            21_000_000, (1_700_000_000_000_000_000,), 0))
    program = ("import sys; sys.path[:0] = %r\n"
               "from runit_provision.protocol import tally\n"
               "found = [tally.tally_from_bytes(%r)]\n"
               "print('binascii' in sys.modules)\n"
               "found += [tally.tally_from_bytes(%r) for _ in range(9)]\n"
               "torn = tally.tally_from_bytes(%r)\n"
               "print(all(item == found[0] for item in found), found[0] is not None, torn,\n"
               "      'binascii' in sys.modules)"
               % (sys.path, written, written, written[:60] + b"x" + written[61:]))
    result = subprocess.run([sys.executable, "-S", "-c", program], capture_output=True,
                            text=True, check=True)
    # the first eight checked here, the rest (a view of many) by binascii, loaded then
    assert result.stdout.split() == ["False", "True", "True", "None", "True"]
    assert tally.tally_from_bytes(written) == tally.tally_from_bytes(written)
