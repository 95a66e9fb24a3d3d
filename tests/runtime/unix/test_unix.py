"""runtime/unix: runit's unix.a — sgetopt, scan_ulong, the PATH search and the libc handle.

The sgetopt cases are runit's subgetopt.c/sgetopt.c read by hand and probed with Debian's
2.1.2 tools (``sv --foo status x`` is ``sv status x``; the transcripts check the tools whole).
"""

import doctest
import errno
import json
import subprocess
import sys

import pytest

from runit_provision.runtime.unix import libc, pathexec, scan, sgetopt as sgetopt_module
from runit_provision.runtime.unix.pathexec import candidates, exec_search, find_program
from runit_provision.runtime.unix.scan import scan_ulong
from runit_provision.runtime.unix.sgetopt import sgetopt


@pytest.mark.parametrize("module", [sgetopt_module, scan, pathexec, libc])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# -- sgetopt -------------------------------------------------------------------------------------
def illegal(letter, prog=b"sv"):
    return ("?", prog + b": illegal option -- " + letter + b"\n")


def needs(letter, prog=b"sv"):
    return ("?", prog + b": option requires an argument -- " + letter + b"\n")


V, VV = ("v", None), ("V", None)

# (args, expected options, expected index), all with sv's "w:vV".
SGETOPT_CASES = [
    ([], [], 0),
    (["status", "x"], [], 0),
    (["-v", "status"], [V], 1),
    (["-vv", "-v", "up"], [V, V, V], 2),
    (["-w", "5", "up"], [("w", "5")], 2),
    (["-w5", "up"], [("w", "5")], 1),
    (["-vw5", "up"], [V, ("w", "5")], 1),
    (["-wv", "up"], [("w", "v")], 1),             # the rest of the word is the argument
    (["-w", "-v", "up"], [("w", "-v")], 2),       # so is the next word, whatever it is
    (["-w", "", "up"], [("w", "")], 2),
    # options end at a word not starting with "-", at a lone "-" (kept) ...
    (["x", "-v"], [], 0),
    (["", "-v"], [], 0),
    (["-", "x"], [], 0),
    (["-v", "-", "x"], [V], 1),
    # ... and after any word starting with "--" (consumed: only the 2nd character counts)
    (["--", "-v"], [], 1),
    (["--foo", "status", "x"], [], 1),
    (["---"], [], 1),
    (["--w", "5"], [], 1),
    (["-v", "--x", "-v"], [V], 2),
    (["-vV", "status"], [V, VV], 1),              # -V is an option like any other
    # problems end the list: what came before is kept, what comes after is never read
    (["-z"], [illegal(b"z")], 0),
    (["-vz", "x"], [V, illegal(b"z")], 0),
    (["-v", "-zV", "x"], [V, illegal(b"z")], 1),
    (["-:"], [illegal(b":")], 0),                 # ":" is never a letter
    (["-w"], [needs(b"w")], 1),
    (["-vw"], [V, needs(b"w")], 1),
    (["-v", "-w"], [V, needs(b"w")], 2),
    (["-\u00e9"], [illegal(b"\xc3")], 0),         # one byte: C's argv is bytes
    (["-\udcff"], [illegal(b"\xff")], 0),         # a byte that is not UTF-8
]


@pytest.mark.parametrize("args, options, index", SGETOPT_CASES,
                         ids=[" ".join(case[0]) or "(none)" for case in SGETOPT_CASES])
def test_sgetopt(args, options, index):
    assert sgetopt(args, "w:vV", "sv") == (options, index)


@pytest.mark.parametrize("optstring, args, options", [
    ("ab:", ["-ab", "x"], [("a", None), ("b", "x")]),
    ("aa:", ["-a", "x"], [("a", None)]),          # the first occurrence wins
    ("a:", ["-a:"], [("a", ":")]),
    ("", ["-a"], [illegal(b"a", b"p")]),
    ("u:U:b:e:/:n:", ["-/", "root", "-n-5"], [("/", "root"), ("n", "-5")]),
])
def test_sgetopt_option_strings(optstring, args, options):
    assert sgetopt(args, optstring, "p")[0] == options


def test_the_complaint_names_the_program_given():
    assert sgetopt(["-x"], "", "dsetlock")[0] == [illegal(b"x", b"dsetlock")]
    assert sgetopt(["-x"], "", "b\udce9")[0] == [illegal(b"x", b"b\xe9")]


# -- scan_ulong ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, result", [
    ("7", (7, 1)), ("", (0, 0)), ("abc", (0, 0)), ("12abc", (12, 2)), ("007", (7, 3)),
    ("-1", (0, 0)), ("+1", (0, 0)), (" 1", (0, 0)), ("1_0", (1, 1)), ("\u0661", (0, 0)),
    ("18446744073709551615", (2 ** 64 - 1, 20)),
    ("18446744073709551617", (1, 20)),           # wraps like C's unsigned long
    ("9" * 5000, ((10 ** 5000 - 1) % 2 ** 64, 5000)),
])
def test_scan_ulong(text, result):
    assert scan_ulong(text) == result
    assert scan_ulong(text.encode("utf-8", "surrogateescape")) == result


# -- the PATH search -----------------------------------------------------------------------------
def test_candidates_follow_pathexec_run():
    assert candidates("p", "/a::/c") == ["/a/p", "./p", "/c/p"]
    assert candidates("p", "") == ["./p"]
    assert candidates("p", None) == ["/bin/p", "/usr/bin/p"]
    assert candidates("a/p", "/x") == ["a/p"]


@pytest.mark.parametrize("results, expected, tried", [
    ({}, errno.ENOENT, 3),
    ({"/a/p": errno.EACCES}, errno.EACCES, 3),         # remembered, the search goes on
    ({"/b/p": errno.ENOEXEC}, errno.ENOEXEC, 2),       # anything else stops it
    ({"/a/p": errno.EISDIR, "/b/p": errno.ENOTDIR}, errno.ENOTDIR, 2),
])
def test_exec_search(results, expected, tried):
    calls = []

    def execve(name, argv, env):
        calls.append(name)
        return results.get(name, errno.ENOENT)

    assert exec_search("p", ["p"], {}, "/a:/b:/c", execve) == expected
    assert len(calls) == tried


def test_find_program_takes_the_first_executable_regular_file(tmp_path):
    for name in ("a", "b", "c", "d"):
        (tmp_path / name).mkdir()
    (tmp_path / "a" / "p").mkdir()                       # a directory: skipped
    (tmp_path / "b" / "p").write_text("")                # not executable: skipped
    for directory in ("c", "d"):
        (tmp_path / directory / "p").write_text("")
        (tmp_path / directory / "p").chmod(0o755)
    path = ":".join(str(tmp_path / name) for name in ("a", "b", "missing", "c", "d"))
    assert find_program("p", path) == str(tmp_path / "c" / "p")
    assert find_program("p", str(tmp_path / "a")) is None
    assert find_program("q", path) is None


# -- the libc handle -----------------------------------------------------------------------------
def test_libc_is_one_handle_and_ctypes_waits_for_it():
    code = ("import json, sys; from runit_provision.runtime.unix import libc; "
            "before = 'ctypes' in sys.modules; handle = libc.libc(); "
            "print(json.dumps([before, 'ctypes' in sys.modules, handle is libc.libc()]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert json.loads(out) == [False, True, True]


C_CALLS = r"""
import ctypes, json, os, sys
from runit_provision.runtime.unix import libc
library = libc.libc()
strlen = library["strlen"]
strlen.argtypes, strlen.restype = (ctypes.c_char_p,), ctypes.c_size_t
closed = library.close(-1)
error = libc.errno_error("close")
try:
    library.no_such_function_here
    missing = "found"
except AttributeError:
    missing = "AttributeError"
print(json.dumps({
    "pid": library.getpid() == os.getpid(), "strlen": strlen(b"runsvdir"),
    "close": [closed, error.errno, error.filename], "missing": missing
}))
"""


def test_the_calls_the_runtime_makes_through_the_handle():
    out = subprocess.run([sys.executable, "-c", C_CALLS], check=True, capture_output=True,
                         text=True).stdout
    assert json.loads(out) == {
        "pid": True, "strlen": 8, "close": [-1, errno.EBADF, "close"],
        "missing": "AttributeError"}

