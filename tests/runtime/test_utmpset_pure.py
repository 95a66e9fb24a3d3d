"""utmpset's pure parts: argument parsing, the struct utmp layout, matching and rewriting."""

import struct

import pytest

from runit_provision.errors import UsageError
from runit_provision.runtime import utmpset as u

USAGE = "usage: utmpset [-w] line\n\n"


def record(line=b"tty1", user=b"root", host=b"host", kind=7, pid=42, ident=b"1", sec=1000):
    return struct.pack(u.UTMP_FORMAT, kind, pid, line, ident, user, host, 1, 2, 3, sec, 77,
                       4, 5, 6, 7, b"r")


def test_layout_is_glibc_x86_64_struct_utmp():
    assert u.UTMP_SIZE == 384
    data = record()
    assert data[8:12] == b"tty1" and data[44:48] == b"root" and data[76:80] == b"host"
    assert struct.unpack_from("<i", data, 340)[0] == 1000


@pytest.mark.parametrize("args, expected", [
    (["tty1"], (False, "tty1")),
    (["-w", "tty1"], (True, "tty1")),
    (["-ww", "tty1", "x"], (True, "tty1")),
    (["--", "-w"], (False, "-w")),
    (["--foo", "tty1"], (False, "tty1")),  # runit's sgetopt: "--anything" is "--"
    (["-", "x"], (False, "-")),
    (["tty1", "-w"], (False, "tty1")),
])
def test_parse_args(args, expected):
    assert u.parse_args(args, "utmpset") == expected


@pytest.mark.parametrize("args, text", [
    ([], USAGE),
    (["-w"], USAGE),
    (["-x", "tty1"], "utmpset: illegal option -- x\n" + USAGE),
    (["-wx", "tty1"], "utmpset: illegal option -- x\n" + USAGE),
    (["-V"], "$Id: cb399098f794012a7f5e6a3a7090b2d53b86c08c $\n" + USAGE),
])
def test_parse_args_usage(args, text):
    with pytest.raises(UsageError) as info:
        u.parse_args(args, "utmpset")
    assert str(info.value) == text


def test_is_entry_for_needs_a_user_and_the_line():
    assert u.is_entry_for(record(), b"tty1")
    assert not u.is_entry_for(record(user=b""), b"tty1")
    assert not u.is_entry_for(record(), b"tty")
    assert not u.is_entry_for(record(), b"tty10")


def test_is_entry_for_compares_ut_line_alone():
    """A line of the full 32 bytes is the whole field (runit 2.3.0), whatever ut_id holds;
    a longer one never matches (main refuses it first: ``name too long``)."""
    full = b"x" * 32
    assert u.is_entry_for(record(line=full, ident=b"6"), full)
    assert not u.is_entry_for(record(line=full, ident=b"6"), full + b"6")
    assert u.is_entry_for(record(line=full, ident=b""), full)
    assert not u.is_entry_for(record(line=full[:31], ident=b"x"), full)


def test_logged_out_clears_user_host_sets_time_and_type_only():
    before = record()
    after = u.logged_out(before, 2000.7)
    fields = struct.unpack(u.UTMP_FORMAT, after)
    assert fields[0] == u.DEAD_PROCESS
    assert fields[4] == bytes(32) and fields[5] == bytes(256)
    assert fields[9] == 2000
    # pid, line, id, exit, session, usec, address, reserved: untouched
    old = struct.unpack(u.UTMP_FORMAT, before)
    assert fields[1:4] == old[1:4] and fields[6:9] == old[6:9] and fields[10:] == old[10:]


def test_wtmp_record_is_zero_but_line_time_type():
    fields = struct.unpack(u.UTMP_FORMAT, u.wtmp_record(b"tty2", 3000))
    assert fields[0] == u.DEAD_PROCESS and fields[2].rstrip(b"\0") == b"tty2"
    assert fields[9] == 3000
    rest = [f for i, f in enumerate(fields) if i not in (0, 2, 9)]
    assert all(not (f.strip(b"\0") if isinstance(f, bytes) else f) for f in rest)


def test_time32_wraps_like_int32():
    assert u.time32(1000.9) == 1000
    assert u.time32(2 ** 31) == -(2 ** 31)


def test_main_on_temp_files(tmp_path, monkeypatch, capfd):
    utmp = tmp_path / "utmp"
    wtmp = tmp_path / "wtmp"
    utmp.write_bytes(record(line=b"tty9") + record())
    monkeypatch.setenv("RUNIT_UTMP", str(utmp))
    monkeypatch.setenv("RUNIT_WTMP", str(wtmp))
    assert u.main(["utmpset", "-w", "tty1"]) == 0
    data = utmp.read_bytes()
    assert data[:384] == record(line=b"tty9")
    assert struct.unpack_from("<h", data, 384)[0] == u.DEAD_PROCESS
    assert len(wtmp.read_bytes()) == 384 and wtmp.stat().st_mode & 0o777 == 0o600
    assert u.main(["utmpset", "tty1"]) == 111
    assert capfd.readouterr().err == (
        "utmpset: warning: unable to logout line tty1 in utmp: no such entry\n")


def test_main_reports_paths_it_cannot_open(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("RUNIT_UTMP", str(tmp_path / "none"))
    assert u.main(["/usr/sbin/utmpset", "tty1"]) == 111
    assert capfd.readouterr().err == (
        "utmpset: fatal: unable to open %s: file does not exist\n" % (tmp_path / "none"))
    assert u.main(["/usr/sbin/utmpset"]) == 1
    assert capfd.readouterr().err == "usage: utmpset [-w] line\n\n"


def test_main_long_line_is_fatal(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("RUNIT_UTMP", str(tmp_path / "none"))
    assert u.main(["utmpset", "x" * 33]) == 111
    assert capfd.readouterr().err == (
        "utmpset: fatal: unable to logout line %s in utmp: name too long\n" % ("x" * 33))
