"""runit-init for real: flag files and CONT to PID 1 — a PID namespace's shell, never the host's.

Debian ships no runit-init (its runit-init package is not installed), so only ours is tested;
the usage texts follow runit 2.1.2's runit-init.c.
"""

import os
import shutil
import stat
import subprocess

import pytest

from ..conftest import our_tool
from ..skips import missing
from .processes import BASE_PATH


def namespace_prefix():
    """unshare argv for a fresh PID namespace (a user namespace too when not root)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        missing("unshare(1)", "apt-get install util-linux")
    prefixes = [[unshare, "--pid", "--fork", "--kill-child"]]
    if os.geteuid() != 0:
        prefixes = [[unshare, "--user", "--map-root-user", "--pid", "--fork", "--kill-child"]]
    for prefix in prefixes:
        if subprocess.run(prefix + ["true"], stderr=subprocess.DEVNULL).returncode == 0:
            return prefix
    missing("a PID namespace (unshare --pid)", "run as root, or where user namespaces are "
            "allowed")


# PID 1 of the namespace: notes each CONT, runs runit-init, reports its exit code.
INIT_SHELL = 'trap "echo CONT" CONT; "$@"; echo "rc=$?"'


def run_as_child_of_init(args, env, timeout=30):
    proc = subprocess.run(namespace_prefix() + ["/bin/sh", "-c", INIT_SHELL, "sh"] + args,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout, start_new_session=True)
    return proc.stdout.decode()


@pytest.fixture
def flags(tmp_path):
    env = {"PATH": BASE_PATH, "RUNIT_STOPIT": str(tmp_path / "stopit"),
           "RUNIT_REBOOT": str(tmp_path / "reboot")}
    return tmp_path, env


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_halt_creates_stopit_clears_reboot_and_sends_cont(flags):
    tmp, env = flags
    (tmp / "reboot").write_text("")
    os.chmod(str(tmp / "reboot"), 0o755)
    assert run_as_child_of_init([our_tool("runit-init"), "0"], env) == "CONT\nrc=0\n"
    assert mode(tmp / "stopit") == 0o100
    assert mode(tmp / "reboot") == 0


def test_halt_without_reboot_file(flags):
    tmp, env = flags
    assert run_as_child_of_init([our_tool("runit-init"), "0"], env) == "CONT\nrc=0\n"
    assert mode(tmp / "stopit") == 0o100
    assert not (tmp / "reboot").exists()


def test_reboot_sets_both(flags):
    tmp, env = flags
    (tmp / "stopit").write_text("old")
    assert run_as_child_of_init([our_tool("runit-init"), "6"], env) == "CONT\nrc=0\n"
    assert mode(tmp / "stopit") == 0o100 and mode(tmp / "reboot") == 0o100
    assert (tmp / "stopit").read_text() == ""  # truncated, as open_trunc()


def test_only_the_first_character_counts(flags):
    tmp, env = flags
    assert run_as_child_of_init([our_tool("runit-init"), "6x"], env) == "CONT\nrc=0\n"
    assert mode(tmp / "reboot") == 0o100


def test_unwritable_flag_is_fatal_and_sends_nothing(flags):
    tmp, env = flags
    env["RUNIT_STOPIT"] = str(tmp / "missing" / "stopit")
    assert run_as_child_of_init([our_tool("runit-init"), "0"], env) == (
        "init: fatal: unable to create %s: file does not exist\nrc=111\n" % env["RUNIT_STOPIT"])


@pytest.mark.parametrize("args, text", [
    ([], "usage: runit-init 0|6\n\n"),
    ([""], "usage: runit-init 0|6\n\n"),
    (["1"], "usage: runit-init 0|6\n\n"),
    (["-x"], "usage: runit-init 0|6\n\n"),
    (["-V"], "$Id: f075d98bf7dd17c893021f9572cbb970cdad8dcf $\n\nusage: runit-init 0|6\n\n"),
])
def test_usage_exits_0_and_signals_nothing(flags, args, text):
    tmp, env = flags
    # usage never signals, so this one needs no namespace
    proc = subprocess.run([our_tool("runit-init")] + args, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr.decode()) == (0, b"", text)
    assert not (tmp / "stopit").exists()


def test_as_pid_1_it_execs_runit_from_path(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "runit"
    fake.write_text('#!/bin/sh\necho "runit as pid $$ with args [$*]"\nenv | sort\n')
    fake.chmod(0o755)
    # The C locale: the interpreter adds LC_CTYPE=C.UTF-8 to its own os.environ (PEP 538);
    # runit must get the environment runit-init was started with, as from the C runit-init.
    env = {"PATH": "%s:%s" % (bin_dir, BASE_PATH), "LANG": "C"}
    proc = subprocess.run(namespace_prefix() + [our_tool("runit-init"), "0"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                          start_new_session=True)
    lines = proc.stdout.decode().splitlines()
    assert (proc.returncode, lines[0]) == (0, "runit as pid 1 with args []")
    names = {line.split("=", 1)[0] for line in lines[1:]}
    assert names == {"PATH", "LANG", "PWD"}  # PWD: sh sets it


def test_as_pid_1_without_runit(tmp_path):
    # PATH is set (to a directory without runit), so the /sbin fallback — the host's real
    # runit, which must never run here — is not used.
    (tmp_path / "empty").mkdir()
    env = {"PATH": str(tmp_path / "empty")}
    proc = subprocess.run(namespace_prefix() + [our_tool("runit-init")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                          start_new_session=True)
    assert (proc.returncode, proc.stdout.decode()) == (
        111, "init: fatal: unable to start runit: file does not exist\n")
