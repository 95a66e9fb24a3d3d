"""utmpset as a process on scratch utmp/wtmp files ($RUNIT_UTMP, $RUNIT_WTMP): it waits for
the files' flock() as runit's does. (Both implementations on the default paths: the
utmpset-*.sh transcripts, in a private mount namespace.)
"""

import fcntl
import struct
import subprocess

from ..conftest import our_tool
from .processes import BASE_PATH, Processes, blocked_on_flock, wait_until

FORMAT = "<h2xi32s4s32s256s2h3i4i20s"


def login(line, user=b"root"):
    return struct.pack(FORMAT, 7, 9, line, b"1", user, b"host", 0, 0, 0, 1000, 0,
                       0, 0, 0, 0, b"")


def test_waits_for_the_utmp_lock(tmp_path):
    utmp = tmp_path / "utmp"
    utmp.write_bytes(login(b"tty1"))
    env = {"PATH": BASE_PATH, "RUNIT_UTMP": str(utmp), "RUNIT_WTMP": str(tmp_path / "wtmp")}
    procs = Processes()
    with open(str(utmp), "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            group = procs.start([our_tool("utmpset"), "-w", "tty1"], env=env,
                                output=str(tmp_path / "out"))
            wait_until(lambda: blocked_on_flock(group.pid), what="utmpset waiting for flock")
            assert struct.unpack_from("<h", utmp.read_bytes())[0] == 7
            fcntl.flock(held, fcntl.LOCK_UN)
            assert group.wait() == 0
        finally:
            procs.kill_all()
    assert group.output() == ""
    record = utmp.read_bytes()
    assert struct.unpack_from("<h", record)[0] == 8 and record[44:76] == bytes(32)
    assert len((tmp_path / "wtmp").read_bytes()) == 384


def test_wtmp_appends(tmp_path):
    utmp = tmp_path / "utmp"
    wtmp = tmp_path / "wtmp"
    wtmp.write_bytes(b"x" * 384)
    env = {"PATH": BASE_PATH, "RUNIT_UTMP": str(utmp), "RUNIT_WTMP": str(wtmp)}
    for line in (b"tty1", b"tty2"):
        utmp.write_bytes(login(line))
        proc = subprocess.run([our_tool("utmpset"), "-w", line.decode()], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        assert (proc.returncode, proc.stdout) == (0, b"")
    data = wtmp.read_bytes()
    assert len(data) == 3 * 384 and data[:384] == b"x" * 384
    assert data[384 + 8:384 + 12] == b"tty1" and data[768 + 8:768 + 12] == b"tty2"
