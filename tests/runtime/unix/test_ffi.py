"""runtime/unix/ffi.py: the C types made from ``_ctypes`` behave as ctypes' own, cost a process
no ``import ctypes``, and give way to ctypes' package wherever the internals are not leaned on
(``RUNIT_PROVISION_CPYTHON_INTERNALS=no``, a CPython not measured, a piece missing)."""

import doctest
import errno
import json
import os
import subprocess
import sys

import pytest

from runit_provision.runtime.unix import cpython, ffi

PROBE = r"""
import errno, json, os, sys
from runit_provision.runtime.unix import ffi, libc
library = libc.libc()
strlen = library["strlen"]
strlen.argtypes, strlen.restype = (ffi.c_char_p,), ffi.c_size_t
closed = library.close(-1)
closed_errno = ffi.get_errno()
try:
    library.no_such_function_here
    missing = "found"
except AttributeError:
    missing = "AttributeError"

class Pair(ffi.Structure):
    _fields_ = [("first", ffi.c_long), ("second", ffi.c_long)]

pair = Pair(7, 9)
words = (ffi.c_char_p * 3)(b"run", b"it", None)
buffer = ffi.create_string_buffer(8)
memmove = library["memmove"]
memmove.argtypes = (ffi.c_void_p, ffi.c_void_p, ffi.c_size_t)
memmove(buffer, b"sv", 2)
print(json.dumps({
    "kind": ffi.KIND, "ctypes_loaded": "ctypes" in sys.modules,
    "pid": library.getpid() == os.getpid(), "strlen": strlen(b"runsvdir"),
    "close": [closed, closed_errno], "missing": missing,
    "pair": ffi.string_at(ffi.addressof(pair), ffi.sizeof(Pair)) == bytes(pair),
    "pointer": ffi.POINTER(Pair) is ffi.POINTER(Pair),
    "words": [word and word.decode() for word in words], "buffer": buffer.raw.hex(),
    "byref": library.clock_gettime(0, ffi.byref(pair)), "seconds": pair.first > 0,
}))
"""


def probe(internals):
    environ = dict(os.environ, RUNIT_PROVISION_CPYTHON_INTERNALS=internals)
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True,
                         text=True, env=environ).stdout
    return json.loads(out)


@pytest.mark.parametrize("internals", ["yes", "no"])
def test_the_calls_the_runtime_makes_behave_alike_either_way(internals):
    seen = probe(internals)
    leaned = internals == "yes" and cpython.leans_on_internals(environ={})
    assert seen == {
        "kind": "_ctypes" if leaned else "ctypes", "ctypes_loaded": not leaned,
        "pid": True, "strlen": 8, "close": [-1, errno.EBADF], "missing": "AttributeError",
        "pair": True, "pointer": True, "words": ["run", "it", None],
        "buffer": "7376000000000000", "byref": 0, "seconds": True}


@pytest.mark.parametrize("internals", ["yes", "no"])
def test_doctests_either_way(internals):
    code = ("import doctest, sys; from runit_provision.runtime.unix import ffi; "
            "sys.exit(doctest.testmod(ffi).failed or not ffi.__doc__)")
    environ = dict(os.environ, RUNIT_PROVISION_CPYTHON_INTERNALS=internals)
    assert subprocess.run([sys.executable, "-c", code], env=environ).returncode == 0
    assert doctest.testmod(ffi).failed == 0


def test_a_piece_missing_from_ctypes_internals_means_ctypes_package(monkeypatch):
    import _ctypes
    import ctypes  # its own names taken before the piece goes

    monkeypatch.delattr(_ctypes, "CFuncPtr")
    pieces = ffi._pieces()
    assert pieces["KIND"] == "ctypes" and pieces["c_int"] is ctypes.c_int
    assert pieces["c_library"]().getpid() == os.getpid()
