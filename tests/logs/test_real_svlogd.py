"""The view over what real svlogds write — ours and Debian's C svlogd — through rotations,
with a processor, with each kind of stamp: every line once, in order. And ``logs -f`` while
a writer floods svlogd at full speed with ``s4096``: every line once, in order, across every
rotation — also with the logger killed with SIGKILL and started again mid-way.

Real processes; each ended by process group; every wait has a deadline."""

import os
import signal
import subprocess
import time

import pytest

from runit_provision.protocol.tai64 import tai64n_label

from ..conftest import our_tool, require_c_runit
from ..runtime.processes import (
    BASE_PATH, SH, Group, file_size, make_service, running_pid, wait_until)

pytestmark = pytest.mark.slow

STAMPS = {"none": [], "tai64n": ["-t"], "human": ["-tt"], "iso": ["-ttt"]}


def svlogd(impl):
    if impl == "c":
        require_c_runit()
        return "/usr/bin/svlogd"
    return our_tool("svlogd")


def logs(*args, **kwargs):
    return subprocess.run([our_tool("runit-provision"), "logs"] + [str(a) for a in args],
                          capture_output=True, timeout=60, **kwargs)


def numbered(count, width=40):
    return b"".join(b"%d %s\n" % (index, b"x" * (index % width)) for index in range(1, count + 1))


@pytest.mark.parametrize("impl", ["ours", pytest.param("c", marks=pytest.mark.interop)])
@pytest.mark.parametrize("stamps", list(STAMPS))
@pytest.mark.parametrize("processor", [None, "gzip"])
def test_every_line_svlogd_wrote_once_in_order(tmp_path, impl, stamps, processor):
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "config").write_text("s4096\nn1000\n" + ("!gzip\n" if processor else ""))
    data = numbered(3000)
    done = subprocess.run([svlogd(impl)] + STAMPS[stamps] + [str(logdir)], input=data,
                          capture_output=True, timeout=120, env={"PATH": BASE_PATH})
    assert done.returncode == 0, done.stderr
    rotated = [name for name in os.listdir(str(logdir)) if name.startswith("@")]
    assert len(rotated) > 10
    if processor:
        assert all((logdir / name).read_bytes()[:2] == b"\x1f\x8b" for name in rotated)
    shown = logs("--dir", logdir, "-o", "cat")
    assert shown.returncode == 0, shown.stderr
    assert_same_lines(shown.stdout, data)


def follow(logdir, output):
    """``logs -f -o cat`` on ``logdir``, its stdout to ``output``: from now on — whatever is
    written before the follower is ready comes through its historical read, and nothing
    twice."""
    since = tai64n_label(*divmod(time.time_ns() - 10**9, 10**9))
    return Group([our_tool("runit-provision"), "logs", "--dir", logdir, "-o", "cat", "-f",
                  "--since", since], output=output)


def assert_same_lines(got, expected):
    """``got == expected`` (bytes of lines), said briefly when not: pytest's own diff of two
    large byte strings takes minutes."""
    if got == expected:
        return
    got_lines, expected_lines = got.splitlines(), expected.splitlines()
    first = next((index for index, (a, b) in enumerate(zip(got_lines, expected_lines))
                  if a != b), min(len(got_lines), len(expected_lines)))
    raise AssertionError("%d lines where %d were expected; the first difference at line %d: "
                         "%r instead of %r" % (len(got_lines), len(expected_lines), first + 1,
                                               got_lines[first:first + 3],
                                               expected_lines[first:first + 3]))


def wait_for_lines(path, count, timeout=60):
    def seen():
        text = path.read_bytes() if path.exists() else b""
        return text.count(b"\n") >= count
    wait_until(seen, timeout=timeout, interval=0.05, what="%d lines followed" % count)


@pytest.mark.parametrize("impl", ["ours", pytest.param("c", marks=pytest.mark.interop)])
def test_follow_at_full_speed_through_rotations(tmp_path, impl, processes):
    logdir = tmp_path / "log"
    logdir.mkdir()
    (logdir / "config").write_text("s4096\nn100000\n")
    output = tmp_path / "followed"
    processes.groups.append(follow(logdir, output))
    data = numbered(20000)
    done = subprocess.run([svlogd(impl), "-tt", str(logdir)], input=data, capture_output=True,
                          timeout=120, env={"PATH": BASE_PATH})
    assert done.returncode == 0, done.stderr
    assert len([name for name in os.listdir(str(logdir)) if name.startswith("@")]) > 100
    wait_for_lines(output, 20000)
    assert_same_lines(output.read_bytes(), data)


@pytest.mark.parametrize("impl", ["ours", pytest.param("c", marks=pytest.mark.interop)])
def test_follow_across_a_logger_killed_and_started_again(tmp_path, impl, processes):
    """A service writes numbered lines without pause into its logger under our runsv; the
    logger is SIGKILLed twice meanwhile (runsv starts it again: it renames the crashed
    ``current`` to ``@….u``). The follower shows exactly what the files hold — every line
    once, in order — and with our svlogd, which takes only what it wrote, that is every
    line the service wrote."""
    service = make_service(tmp_path / "sv", "flood", run=SH + (
        'n=0\nwhile [ $n -lt 30000 ]; do n=$((n+1)); echo "$n"; done\nexec sleep 1000\n'),
        log_run=SH + "exec %s -tt ./main\n" % svlogd(impl))
    logdir = service / "log" / "main"
    logdir.mkdir()
    (logdir / "config").write_text("s4096\nn100000\n")
    output = tmp_path / "followed"
    processes.groups.append(follow(logdir, output))
    runsv = processes.start([our_tool("runsv"), service], env={"PATH": BASE_PATH},
                            output=tmp_path / "runsv.out")
    for _ in range(2):
        pid = wait_until(lambda: running_pid(service / "log"), what="the logger")
        # some lines in this logger's current — or none will come: the flood is over
        wait_until(lambda: file_size(logdir / "current") > 2000
                   or _all_files(logdir).endswith(b"30000\n"), what="some lines")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: running_pid(service / "log") not in (0, pid), what="a new logger")
    whole = wait_until(lambda: _all_files(logdir) if _all_files(logdir).endswith(b"30000\n")
                       else None, timeout=60, what="the last line logged")
    count = whole.count(b"\n")
    wait_for_lines(output, count)
    assert_same_lines(output.read_bytes(), whole)
    if impl == "ours":
        assert set(whole.splitlines()) == {b"%d" % n for n in range(1, 30001)}
    assert runsv.poll() is None


def _all_files(logdir):
    shown = logs("--dir", logdir, "-o", "cat")
    return shown.stdout
