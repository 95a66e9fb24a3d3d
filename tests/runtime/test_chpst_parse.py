"""chpst: command-line parsing into a Plan, user specs, limits and the exec environment.

Pure functions only — no process state changes. The texts are Debian runit 2.1.2-54's, probed
with /usr/bin/chpst (the usage line is 2.3.0's: it adds ``[-C pwd]``).
"""

import errno
from types import SimpleNamespace

import pytest

from runit_provision.errors import FatalError, UsageError
from runit_provision.runtime import chpst
from runit_provision.runtime.chpst import (
    HARD, Plan, as_long, environment_for_exec, personality, plan_from_argv, soft_limit_for)
from runit_provision.runtime.unix import pathexec
from runit_provision.runtime.unix.scan import scan_ulong
from runit_provision.runtime.unix.sgetopt import sgetopt
from runit_provision.runtime.unix.userspec import ids_from_numbers, resolve_user

USAGE = ("usage: chpst [-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir]"
         " [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n]"
         " [-t n] prog\n\n").encode()


def usage_text(argv):
    with pytest.raises(UsageError) as info:
        plan_from_argv(argv)
    return info.value.text


# --- getopt --------------------------------------------------------------------------------

@pytest.mark.parametrize("args, pairs, first", [
    (["-v", "prog"], [("v", None)], 1),
    (["-vP0", "prog", "-1"], [("v", None), ("P", None), ("0", None)], 1),
    (["-uroot", "prog"], [("u", "root")], 1),
    (["-u", "root", "prog"], [("u", "root")], 2),
    (["-vu", "root", "prog"], [("v", None), ("u", "root")], 2),
    (["-u", "-v", "prog"], [("u", "-v")], 2),          # an argument may look like an option
    (["--", "-v"], [], 1),
    (["--anything", "prog"], [], 1),                    # sgetopt only looks at the 2nd char
    (["-", "prog"], [], 0),                             # a lone "-" is an operand
    (["prog", "-v"], [], 0),
    ([], [], 0),
    (["-v"], [("v", None)], 1),
])
def test_getopt_like_djbs_sgetopt(args, pairs, first):
    assert sgetopt(args, chpst.CHPST_OPTIONS, "chpst") == (pairs, first)


def test_getopt_complaints():
    pairs, _ = sgetopt(["-vx", "prog"], chpst.CHPST_OPTIONS, "chpst")
    assert pairs == [("v", None), ("?", b"chpst: illegal option -- x\n")]
    pairs, _ = sgetopt(["-v", "-u"], chpst.CHPST_OPTIONS, "chpst")
    assert pairs[-1] == ("?", b"chpst: option requires an argument -- u\n")
    pairs, _ = sgetopt(["-:"], chpst.CHPST_OPTIONS, "chpst")
    assert pairs == [("?", b"chpst: illegal option -- :\n")]
    # sgetopt writes the one byte it looked at
    pairs, _ = sgetopt(["-\u00e9"], chpst.CHPST_OPTIONS, "chpst")
    assert pairs == [("?", b"chpst: illegal option -- \xc3\n")]


# --- chpst's own options -------------------------------------------------------------------

def test_every_option():
    plan = plan_from_argv([
        "chpst", "-u", "nobody", "-U", "daemon:bin", "-b", "zero", "-e", "env", "-/", "/root",
        "-C", "/work", "-n", "-5", "-l", "lock", "-m", "100", "-d", "200", "-o", "7", "-p", "8",
        "-f", "9", "-c", "0", "-r", "11", "-t", "12", "-v", "-P", "-0", "-1", "-2", "prog", "a"])
    assert plan == Plan(
        set_user="nobody", env_user="daemon:bin", argv0="zero", env_dir="env", root="/root",
        pwd="/work", nice=-5, lock="lock", lock_wait=True, verbose=True, setsid=True,
        close_fds=(0, 1, 2), argv=["prog", "a"],
        limits={"s": 100, "l": 100, "a": 100, "d": 200, "o": 7, "p": 8, "f": 9, "c": 0,
                "r": 11, "t": 12})


def test_defaults():
    assert plan_from_argv(["chpst", "true"]) == Plan(argv=["true"])
    assert plan_from_argv(["/usr/bin/chpst", "--", "-x"]) == Plan(argv=["-x"])


def test_later_options_win():
    plan = plan_from_argv(["chpst", "-d", "1", "-m", "5", "-u", "a", "-u", "b", "prog"])
    assert plan.limits == {"d": 5, "s": 5, "l": 5, "a": 5}
    assert plan.set_user == "b"
    assert plan_from_argv(["chpst", "-m", "5", "-d", "1", "prog"]).limits["d"] == 1


@pytest.mark.parametrize("text, value", [
    ("5", 5), ("+5", 5), ("-5", -5), ("0", 0), ("", 0), ("-", 0), ("+", 0), ("-0", 0)])
def test_nice_forms(text, value):
    assert plan_from_argv(["chpst", "-n", text, "prog"]).nice == value


def test_empty_number_is_zero_as_in_runit():
    # scan_ulong() of "" consumes nothing and leaves nothing behind: a limit of 0
    assert plan_from_argv(["chpst", "-m", "", "prog"]).limits["d"] == 0


@pytest.mark.parametrize("argv", [
    ["chpst"],
    ["chpst", "-v"],
    ["chpst", "-m", "12x", "prog"],
    ["chpst", "-o", " 5", "prog"],
    ["chpst", "-o", "=", "prog"],                  # "=" is softlimit's, not chpst's
    ["chpst", "-o", "-1", "prog"],
    ["chpst", "-n", "++5", "prog"],
    ["chpst", "-n", "5x", "prog"],
    ["chpst", "-l", "a", "-L", "b", "prog"],
    ["chpst", "-L", "a", "-l", "b", "prog"],
    ["chpst", "-l", "", "-l", "b", "prog"],        # even an empty lock name counts as given
])
def test_usage_errors(argv):
    assert usage_text(argv) == USAGE


def test_usage_error_stops_at_the_first_problem():
    # a bad number before an illegal option: the usage alone, no complaint
    assert usage_text(["chpst", "-m", "x", "-Z", "prog"]) == USAGE
    assert usage_text(["chpst", "-Z", "-m", "x", "prog"]) == (
        b"chpst: illegal option -- Z\n" + USAGE)


def test_version_then_usage():
    assert usage_text(["chpst", "-V", "prog"]) == (
        b"$Id: f279d44141c981dd7535a12260efcf1ef7beed26 $\n" + USAGE)


def test_complaints_name_argv0_usage_strips_the_d():
    text = usage_text(["/x/dchpst", "-x"])
    assert text.startswith(b"dchpst: illegal option -- x\nusage: chpst [-vVP012]")
    # an unknown name is chpst under that name (runit: "usage: og ..." for "dog")
    assert usage_text(["/x/dog"]).startswith(b"usage: og [-vVP012]")


def test_long_numbers_wrap_like_c():
    assert scan_ulong("18446744073709551617x") == (1, 20)
    assert as_long(2 ** 64 - 1) == -1
    plan = plan_from_argv(["chpst", "-o", "18446744073709551615", "prog"])
    assert plan.limits["o"] == HARD     # a negative long: soft limit = hard limit


def test_limit_clamping():
    assert soft_limit_for(5, 10) == 5
    assert soft_limit_for(50, 10) == 10
    assert soft_limit_for(HARD, 10) == 10
    assert soft_limit_for(10 ** 18, -1) == 10 ** 18   # -1 is RLIM_INFINITY to Python


# --- personalities -------------------------------------------------------------------------

@pytest.mark.parametrize("argv0, expected", [
    ("setlock", ("setlock", "setlock")),
    ("/usr/bin/dsetlock", ("setlock", "dsetlock")),
    ("ddenvdir", ("denvdir", "ddenvdir")),   # only one "d" is stripped
    ("chpst", ("chpst", "chpst")),
    ("", ("", "")),
])
def test_personality_names(argv0, expected):
    assert personality(argv0) == expected


def test_setuidgid_envuidgid_envdir_pgrphack():
    assert plan_from_argv(["setuidgid", "nobody", "id", "-u"]) == Plan(
        set_user="nobody", user_extended=False, argv=["id", "-u"])
    assert plan_from_argv(["envuidgid", "nobody", "env"]) == Plan(
        env_user="nobody", user_extended=False, argv=["env"])
    assert plan_from_argv(["envdir", "dir", "env"]) == Plan(
        env_dir="dir", env_dir_lenient=False, argv=["env"])
    assert plan_from_argv(["pgrphack", "sh", "-c", "x"]) == Plan(
        setsid=True, argv=["sh", "-c", "x"])
    # no option parsing at all: "-v" is the account
    assert plan_from_argv(["setuidgid", "-v", "id"]).set_user == "-v"


@pytest.mark.parametrize("argv, usage", [
    (["setuidgid"], b"usage: setuidgid account child\n\n"),
    (["setuidgid", "nobody"], b"usage: setuidgid account child\n\n"),
    (["envuidgid", "nobody"], b"usage: envuidgid account child\n\n"),
    (["envdir", "dir"], b"usage: envdir dir child\n\n"),
    (["/bin/denvdir"], b"usage: envdir dir child\n\n"),
    (["pgrphack"], b"usage: pgrphack child\n\n"),
    (["setlock", "file"], b"usage: setlock [ -nNxX ] file program [ arg ... ]\n\n"),
    (["setlock", "-n"], b"usage: setlock [ -nNxX ] file program [ arg ... ]\n\n"),
    (["setlock", "-y", "f", "p"],
     b"setlock: illegal option -- y\nusage: setlock [ -nNxX ] file program [ arg ... ]\n\n"),
    (["softlimit", "-x"],
     b"softlimit: illegal option -- x\nusage: softlimit [-a allbytes] [-c corebytes]"
     b" [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles]"
     b" [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child\n\n"),
    (["softlimit", "-m"],
     b"softlimit: option requires an argument -- m\nusage: softlimit [-a allbytes]"
     b" [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes]"
     b" [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs]"
     b" child\n\n"),
])
def test_personality_usage(argv, usage):
    assert usage_text(argv) == usage


def test_softlimit_bad_number_prints_chpsts_usage_under_its_own_name():
    # runit's getlarg() calls chpst's usage(), whose progname is "softlimit"
    assert usage_text(["softlimit", "-o", "12x", "prog"]) == USAGE.replace(
        b"usage: chpst", b"usage: softlimit")


def test_setlock_is_inverted_relative_to_daemontools():
    assert plan_from_argv(["setlock", "f", "p"]) == Plan(
        lock="f", lock_wait=False, argv=["p"])
    assert plan_from_argv(["setlock", "-n", "f", "p"]).lock_wait is True
    assert plan_from_argv(["setlock", "-nN", "f", "p"]).lock_wait is False
    plan = plan_from_argv(["setlock", "-x", "f", "p"])
    assert (plan.lock_quiet, plan.exec_quiet) == (True, True)
    assert plan_from_argv(["setlock", "-xX", "f", "p"]).lock_quiet is False


def test_softlimit_options():
    plan = plan_from_argv(["softlimit", "-a", "1", "-c", "=", "-d", "3", "-f", "4", "-l", "5",
                           "-o", "6", "-p", "7", "-r", "8", "-s", "9", "-t", "10", "prog"])
    assert plan.limits == {"a": 1, "c": HARD, "d": 3, "f": 4, "l": 5, "o": 6, "p": 7, "r": 8,
                           "s": 9, "t": 10}
    assert plan_from_argv(["softlimit", "-m", "=", "prog"]).limits == {
        "d": HARD, "s": HARD, "l": HARD, "a": HARD}
    assert usage_text(["softlimit", "-o", "5"]).startswith(b"usage: softlimit [-a allbytes]")


# --- user specs ----------------------------------------------------------------------------

PASSWD = {"nobody": (65534, 65534), "daemon": (1, 1), "bin": (2, 2)}
GROUPS = {"nogroup": 65534, "daemon": 1, "bin": 2, "sys": 3}


def fake_getpwnam(name):
    uid, gid = PASSWD[name]
    return SimpleNamespace(pw_uid=uid, pw_gid=gid)


def fake_getgrnam(name):
    return SimpleNamespace(gr_gid=GROUPS[name])


def resolve(spec, extended=True, database_errno=lambda path: 0):
    return resolve_user(spec, extended, fake_getpwnam, fake_getgrnam, database_errno)


@pytest.mark.parametrize("spec, ids", [
    ("nobody", (65534, [65534])),           # primary gid only: no initgroups()
    ("nobody:daemon", (65534, [1])),
    ("nobody:daemon:bin:sys", (65534, [1, 2, 3])),
    (":5:6", (5, [6])),
    (":5:6:7", (5, [6, 7])),
    (":1:1:", (1, [1, 0])),                 # runit: an empty number is 0
    ("::", (0, [0])),
    (":0:4294967296", (0, [0])),            # uid_t/gid_t truncation
])
def test_user_specs(spec, ids):
    assert resolve(spec) == ids


@pytest.mark.parametrize("spec, message", [
    ("nosuch", "unknown user/group: nosuch"),
    ("nobody:nosuch", "unknown user/group: nobody:nosuch"),
    ("nobody:", "unknown user/group: nobody:"),
    ("nobody:daemon:", "unknown user/group: nobody:daemon:"),
    ("", "unknown user/group: "),
    (":12", "invalid uid/gids: 12"),
    (":", "invalid uid/gids: "),
    (":x:1", "invalid uid/gids: x:1"),
    (":1:2:x", "invalid uid/gids: 1:2:x"),
])
def test_user_spec_errors(spec, message):
    with pytest.raises(FatalError) as info:
        resolve(spec)
    assert str(info.value) == message


def test_personalities_take_an_account_name_only():
    assert resolve("nobody", extended=False) == (65534, [65534])
    for spec in ("nobody:daemon", ":1:1"):
        with pytest.raises(FatalError) as info:
            resolve(spec, extended=False)
        assert str(info.value) == "unknown account: %s" % spec


def test_an_unreadable_database_reports_its_errno():
    # as glibc leaves errno after getpwnam() when /etc/passwd is missing (e.g. after chpst -/)
    missing = {"/etc/group": errno.ENOENT}.get
    assert resolve("nobody:daemon", database_errno=lambda path: 0) == (65534, [1])
    with pytest.raises(FatalError) as info:
        resolve("nobody:nosuch", database_errno=missing)
    assert str(info.value) == "unable to get password/group file entry: file does not exist"
    with pytest.raises(FatalError) as info:
        resolve("nosuch", database_errno=missing)      # /etc/passwd is fine: just unknown
    assert str(info.value) == "unknown user/group: nosuch"
    with pytest.raises(FatalError) as info:
        resolve("nosuch", extended=False, database_errno=lambda path: errno.EACCES)
    assert str(info.value) == "unable to get password file entry: access denied"
    with pytest.raises(FatalError) as info:
        resolve(":x", database_errno=lambda path: errno.ENOENT)   # no lookup at all
    assert str(info.value) == "invalid uid/gids: x"


def test_at_most_60_groups():
    numbers = ":0:" + ":".join(str(n) for n in range(60))
    assert ids_from_numbers(numbers[1:]) == (0, list(range(60)))
    assert ids_from_numbers(numbers[1:] + ":") == (0, list(range(60)))
    assert ids_from_numbers(numbers[1:] + ":60") is None
    names = "nobody:" + ":".join(["bin"] * 61)
    assert resolve(names) == (65534, [2] * 60)   # runit ignores the rest


# --- the exec environment ------------------------------------------------------------------

def test_changes_replace_in_runits_order():
    environ = {"A": "1", "B": "2", "C": "3"}
    env = environment_for_exec(environ, [("A", "x"), ("B", None), ("D", "4")])
    # removing moves the last entry into the hole, then the change is appended
    assert list(env.items()) == [("C", "3"), ("A", "x"), ("D", "4")]
    assert environ == {"A": "1", "B": "2", "C": "3"}


def test_a_name_with_an_equals_sign():
    env = environment_for_exec({"K": "old"}, [("K=V", "x")])
    assert env == {"K": "V=x"}
    assert environment_for_exec({"K": "old"}, [("K=V", None)]) == {"K": "V"}


def test_unset_of_a_missing_name_is_harmless():
    assert environment_for_exec({"A": "1"}, [("B", None)]) == {"A": "1"}


def test_original_environ_from_proc(tmp_path):
    block = tmp_path / "environ"
    block.write_bytes(b"A=1\0LC_CTYPE=C\0A=2\0noequals\0=x\0B=a=b\0")
    assert chpst.original_environ(str(block)) == {"A": "1", "LC_CTYPE": "C", "B": "a=b"}


def test_exec_search(monkeypatch, tmp_path):
    tried = []

    def fake_execve(path, argv, env):
        tried.append(path)
        raise OSError(results.pop(0), "x")

    monkeypatch.setattr(chpst.os, "execve", fake_execve)
    monkeypatch.setattr(pathexec, "_restore_signals", lambda: None)
    results = [errno.ENOENT, errno.EACCES, errno.ENOENT]
    assert chpst.exec_program("p", ["p"], {}, "/a::/c") == errno.EACCES
    assert tried == ["/a/p", "./p", "/c/p"]
    tried[:] = []
    results = [errno.ENOENT, errno.ENOEXEC, errno.ENOENT]
    assert chpst.exec_program("p", ["p"], {}, "/a:/b:/c") == errno.ENOEXEC
    assert tried == ["/a/p", "/b/p"]                 # anything else stops the search
    tried[:] = []
    results = [errno.ENOTDIR]
    assert chpst.exec_program("p", ["p"], {}, "/f:/b") == errno.ENOTDIR
    tried[:] = []
    results = [errno.ENOENT, errno.ENOENT]
    assert chpst.exec_program("p", ["p"], {}, None) == errno.ENOENT
    assert tried == ["/bin/p", "/usr/bin/p"]
    tried[:] = []
    results = [errno.ENOENT]
    assert chpst.exec_program("./p", ["p"], {}, "/a") == errno.ENOENT
    assert tried == ["./p"]
