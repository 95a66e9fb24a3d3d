"""checks/snapshot.py and the two host probes: one request, one command, the same records from
python3's probe and sh's, parsed and validated."""

import os
import shutil
import time

import pytest
import testinfra

from runit_provision.checks import snapshot as snapshot_module
from runit_provision.checks.snapshot import (
    MAX_COMMAND, Request, Snapshot, materialized, pieces, probe_command, take_snapshot)
from runit_provision.errors import VerifyError
from runit_provision.protocol.status import State

from ..conftest import OUR_BIN
from ..runtime.processes import BASE_PATH
from .helpers import FakeRunsv


@pytest.fixture
def host(monkeypatch):
    monkeypatch.setenv("PATH", "%s:%s" % (OUR_BIN, BASE_PATH))
    return testinfra.get_host("local://")


@pytest.fixture
def served_sides(sandbox):
    """Makes service directories under the sandbox that a FakeRunsv serves (closed after the
    test), and a Request for their sides: ``sides, request = served_sides("db", "plain")``."""
    runsv = FakeRunsv()

    def make(*names):
        sides = {name: sandbox / "sv" / name for name in names}
        request = Request()
        for side in sides.values():
            side.mkdir(parents=True)
            runsv.serve(side)
            request.side(str(side))
        return sides, request

    yield make
    runsv.close()


class Counting:
    """A host that counts its runs."""

    def __init__(self, host):
        self.host, self.runs = host, 0

    def run(self, command, *args):
        self.runs += 1
        return self.host.run(command, *args)


# -- the request --------------------------------------------------------------------------------
def test_request_lines_are_grouped_by_directory():
    request = Request().walk("/s/sv/web").stat("/s/service/web").side("/s/service/web")
    request.walk("/s/sv/api").login("root").stat("~alice/service").walk("/s/sv/web")
    assert len(request) == 6  # asked twice is asked once
    assert request.lines() == [
        ("", "login root"), ("/s/service", "stat web"), ("/s/service", "side web"),
        ("/s/sv", "walk web"), ("/s/sv", "walk api"), ("~alice", "stat service")]
    assert materialized(request.lines()) == [
        "in /", "login root", "in /s/service", "stat web", "side web",
        "in /s/sv", "walk web", "walk api", "in ~alice", "stat service"]


def test_request_pieces_stay_under_the_limit_and_carry_their_directory():
    request = Request()
    for number in range(500):
        request.walk("/srv/sv/service-%03d" % number)
    found = pieces(request.lines(), lambda lines: sum(len(line) + 1 for line in lines) <= 2000)
    assert len(found) >= 5
    for piece in found:
        assert piece[0] == "in /srv/sv"
        assert sum(len(line) + 1 for line in piece) <= 2000
    assert sum(len(piece) - 1 for piece in found) == 500
    assert pieces(request.lines(), lambda lines: True) == [materialized(request.lines())]


def test_request_refuses_what_a_line_cannot_carry():
    with pytest.raises(VerifyError):
        Request().stat("/a\nb")
    with pytest.raises(ValueError):
        Request().add("rm", "/")


def test_the_commands_are_ascii_and_a_thousand_services_fit_one():
    request = Request()
    for number in range(1000):
        name = "service-%04d" % number
        request.walk("/etc/sv/" + name).stat("/etc/service/" + name).side(
            "/etc/service/" + name).stat("/var/log/" + name).stat("/var/log/%s/config" % name)
    lines = materialized(request.lines())
    for python in (True, False):
        probe_command(lines, python).encode("ascii")  # else testinfra asks for the encoding
    assert len(probe_command(lines, python=True)) < MAX_COMMAND
    assert len(probe_command(lines, python=False)) > MAX_COMMAND  # sh: in pieces
    assert probe_command(["stat /"], python=False).endswith("stat /\nRUNIT_PROVISION_REQUEST\n")


# -- the records ----------------------------------------------------------------------------------
@pytest.mark.parametrize("output", [
    b"Q 1\n",                             # an unknown record
    b"E f 644 0 0 root root\n",           # a field short
    b"E f 6x4 0 0 root root /a\n",        # not octal
    b"E f 644 0 0 root root /a\nC 3 zz - /a\n",   # not hex
    b"S up 0 00 - - /a\n",                # status hex fine, decoded later; arity fine
])
def test_records_are_validated(output):
    snapshot = Snapshot()
    if output.startswith(b"S "):
        snapshot.add_output(output)  # valid: a 1-byte status is "bad format" on resolve
        side = snapshot.resolved().side("/a")
        assert side.is_supervised and side.status is None
        assert side.error == "unable to read supervise/status: bad format"
        return
    with pytest.raises(VerifyError):
        snapshot.add_output(output)


def test_fields_are_percent_encoded_with_none_and_empty():
    snapshot = Snapshot()
    snapshot.add_output(b"H 12.5 python 3.11\nE l 777 0 0 - - /a%20b%0Ac\n"
                        b"L = - /a%20b%0Ac\nU 1 1 = %2D bob\n")
    node = snapshot.node("/a b\nc")
    assert (node.kind, node.user, node.target, node.realpath) == ("l", None, "", None)
    assert snapshot.logins["bob"].gids == () and snapshot.logins["bob"].home == "-"
    assert snapshot.node("/elsewhere").error == "unread"


# -- both probes on one directory -----------------------------------------------------------------
@pytest.fixture
def odd_dir(sandbox):
    """Names and kinds a probe must survive: spaces, %, a newline, a FIFO (never opened for
    reading), a dangling link, a big file, a service whose supervise/ok has no reader, one
    served by this process."""
    base = sandbox / "sv"
    (base / "web" / "env").mkdir(parents=True)
    (base / "web" / "run").write_text("#!/bin/sh\nexec sleep 1\n")
    (base / "web" / "run").chmod(0o750)
    (base / "web" / "env" / "A B%C").write_text("x y\n")
    (base / "web" / "env" / "new\nline").write_bytes(b"\xff\x00bytes")
    (base / "web" / "env" / "empty").write_bytes(b"")
    os.mkfifo(str(base / "web" / "fifo"))
    (base / "web" / "gone").symlink_to("/nonexistent/target")
    (base / "web" / "big").write_bytes(b"x" * (300 * 1024))
    (base / "web" / "down").write_text("")
    runsv = FakeRunsv()
    runsv.serve(base / "web")
    runsv.serve(base / "web" / "log") if (base / "web" / "log").mkdir() is None else None
    (base / "dead" / "supervise").mkdir(parents=True)
    os.mkfifo(str(base / "dead" / "supervise" / "ok"))
    yield base
    runsv.close()


def odd_request(base):
    return (Request().walk(str(base / "web")).side(str(base / "web"))
            .side(str(base / "dead")).side(str(base / "nothing")).stat("~root")
            .stat(str(base / "web" / "gone")).login("root").login("no-such-login")
            .group("root").group("no-such-group").which("sv").which("no-such-command"))


def comparable(snapshot):
    nodes = {path: (node.kind, node.mode, node.uid, node.gid, node.user, node.group,
                    node.target, node.realpath, node.size, node.content, node.error)
             for path, node in snapshot.nodes.items()}
    sides = {path: (side.is_supervised, side.is_normally_up, side.status, side.error)
             for path, side in snapshot.sides.items()}
    logins = {name: (i.uid, i.gid, i.gids, i.home) for name, i in snapshot.logins.items()}
    commands = {name: (c.path, c.head) for name, c in snapshot.commands.items()}
    return nodes, sides, logins, snapshot.groups, commands, snapshot.listed


def test_python_and_sh_see_the_same(odd_dir, host):
    by_python = take_snapshot(host, odd_request(odd_dir), python=True)
    by_sh = take_snapshot(host, odd_request(odd_dir), python=False)
    assert (by_python.prober, by_sh.prober) == ("python", "sh")
    assert comparable(by_python) == comparable(by_sh)
    web = str(odd_dir / "web")
    assert by_python.children(web) == sorted(["run", "env", "fifo", "gone", "big", "down",
                                              "supervise", "log"])
    assert by_python.node(web + "/env/A B%C").content == b"x y\n"
    assert by_python.node(web + "/env/new\nline").content == b"\xff\x00bytes"
    assert by_python.node(web + "/env/empty").content == b""
    assert by_python.node(web + "/fifo").kind == "p" and by_python.node(web + "/run").mode == 0o750
    big = by_python.node(web + "/big")
    assert big.content is None and big.size == 300 * 1024 and len(big.sha256) == 64
    assert by_python.node(web + "/gone").target == "/nonexistent/target"
    assert by_python.node(web + "/gone").realpath is None
    assert by_python.node("~root").realpath == "/root"
    assert by_python.node(web + "/missing").error == "ENOENT"  # web was listed
    main, log = by_python.side(web), by_python.side(web + "/log")
    assert main.is_supervised and main.status.state == State.RUN and not main.is_normally_up
    assert main.process_uid == os.getuid() and log.is_supervised
    dead = by_python.side(str(odd_dir / "dead"))
    assert dead.is_supervised is False and dead.error == "runsv not running"
    assert by_python.side(str(odd_dir / "nothing")).error == (
        "unable to change to service directory: file does not exist")
    assert by_python.logins["root"].uid == 0 and not by_python.logins["no-such-login"].exists
    assert by_python.groups == {"root": 0, "no-such-group": None}
    assert by_python.commands["sv"].path == str(OUR_BIN / "sv")
    assert by_python.commands["no-such-command"].path is None


def test_a_tree_behind_a_link_is_listed_by_both_probes(odd_dir, host):
    """``tree`` of a link to a directory (Debian's ``/etc/service``) lists what it leads to,
    as runsvdir, started on the link, would scan it; dot-names are not read."""
    (odd_dir.parent / "linked").symlink_to(odd_dir)
    (odd_dir / ".hidden").mkdir()
    request = Request().tree(str(odd_dir.parent / "linked"))
    by_python = take_snapshot(host, request, python=True)
    by_sh = take_snapshot(host, request, python=False)
    assert comparable(by_python)[:2] == comparable(by_sh)[:2]
    linked = str(odd_dir.parent / "linked")
    assert linked in by_python.listed
    assert by_python.children(linked) == ["dead", "web"]
    assert by_python.side(linked + "/web").is_supervised


@pytest.fixture
def bin_without_python(odd_dir, monkeypatch):
    """A PATH of the tools the sh probe uses, without python3 (and sv only if asked)."""
    def make(with_sv):
        directory = odd_dir.parent / ("bin-%s" % with_sv)
        directory.mkdir()
        tools = ["sh", "stat", "od", "dd", "tr", "readlink", "date", "awk", "cut", "id",
                 "getent", "sha256sum"]
        for tool in tools:
            target = "/usr/bin/" + tool if os.path.exists("/usr/bin/" + tool) else "/bin/" + tool
            (directory / tool).symlink_to(target)
        if with_sv:
            (directory / "sv").symlink_to(OUR_BIN / "sv")
        monkeypatch.setenv("PATH", str(directory))
    return make


def test_without_python3_the_sh_probe_reads_after_one_more_command(odd_dir, host,
                                                                   bin_without_python):
    bin_without_python(with_sv=True)
    counting = Counting(host)
    snapshot = take_snapshot(counting, odd_request(odd_dir))
    assert (snapshot.prober, counting.runs) == ("sh", 2)
    assert snapshot.side(str(odd_dir / "web")).is_supervised
    assert take_snapshot(counting, odd_request(odd_dir)).prober == "sh"
    assert counting.runs == 3  # learnt once per host


def busybox_dd(directory, stalls_on=None):
    """A ``dd`` in ``directory`` that, like busybox's, refuses ``iflag=`` — and that never
    returns when it reads ``stalls_on``, as a dd that opened a FIFO swapped in would not."""
    directory.mkdir()
    stall = 'case $operand in "if=%s") exec sleep 1000 ;; esac; ' % stalls_on if stalls_on else ""
    (directory / "dd").write_text(
        '#!/bin/sh\nfor operand; do %scase $operand in iflag=*) echo "dd: unknown operand '
        '$operand" >&2; exit 1 ;; esac; done\nexec %s "$@"\n' % (stall, shutil.which("dd")))
    (directory / "dd").chmod(0o755)


def test_sh_with_a_dd_without_gnus_flags_reads_the_same(odd_dir, host, monkeypatch):
    """busybox's dd has neither ``iflag=nofollow`` nor ``nonblock``: the sh probe then reads
    with a plain dd after its own look at each record — the same records as python's."""
    busybox_dd(odd_dir.parent / "bin-dd")
    monkeypatch.setenv("PATH", "%s:%s" % (odd_dir.parent / "bin-dd", os.environ["PATH"]))
    by_python = take_snapshot(host, odd_request(odd_dir), python=True)
    by_sh = take_snapshot(host, odd_request(odd_dir), python=False)
    assert comparable(by_python) == comparable(by_sh)
    assert by_sh.node(str(odd_dir / "web" / "env" / "A B%C")).content == b"x y\n"


def test_sh_gives_up_on_a_read_that_stalls_where_dd_cannot_refuse_fifos(odd_dir, host,
                                                                         monkeypatch):
    """Without GNU's flags, a FIFO swapped in between the probe's look and dd's open would
    hold dd: the probe runs each read under ``timeout READ_SECONDS`` (10) and goes on when
    one is given up — that file read as empty, every other record as python's probe reads it.
    The ``timeout`` here logs what it was asked and gives the stalled read up at once: the
    behaviour without the ten seconds (coreutils keeps its own time)."""
    stalled = odd_dir / "web" / "env" / "A B%C"
    bin_dd = odd_dir.parent / "bin-dd"
    busybox_dd(bin_dd, stalls_on=stalled)
    asked = odd_dir.parent / "timeout-asked"
    (bin_dd / "timeout").write_text(
        '#!/bin/sh\necho "$1" >>%s\ncase "$*" in *"if=%s"*) shift; exec %s 0.01 "$@" ;; esac\n'
        'exec %s "$@"\n' % (asked, stalled, shutil.which("timeout"), shutil.which("timeout")))
    (bin_dd / "timeout").chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dd, os.environ["PATH"]))
    by_python = take_snapshot(host, odd_request(odd_dir), python=True)
    by_sh = take_snapshot(host, odd_request(odd_dir), python=False)
    durations = asked.read_text().split()
    assert durations[0] == "5" and len(durations) > 2  # the probe's look for a timeout, reads
    assert set(durations[1:]) == {"10"}  # every read bounded, by READ_SECONDS
    assert by_sh.node(str(stalled)).content == b""
    python_nodes, sh_nodes = comparable(by_python)[0], comparable(by_sh)[0]
    assert {path: node for path, node in sh_nodes.items() if path != str(stalled)} == {
        path: node for path, node in python_nodes.items() if path != str(stalled)}


def test_sh_without_sv_cannot_tell(odd_dir, host, bin_without_python):
    bin_without_python(with_sv=False)
    snapshot = take_snapshot(host, Request().side(str(odd_dir / "web")), python=False)
    side = snapshot.side(str(odd_dir / "web"))
    assert side.is_supervised is None
    assert side.error == "cannot tell: the host has neither python3 nor sv"


def test_a_big_request_takes_a_few_commands_and_reads_the_same(odd_dir, host, monkeypatch):
    request = odd_request(odd_dir)
    for number in range(200):
        request.stat(str(odd_dir / ("nothing-%03d" % number)))
    counting = Counting(host)
    whole = take_snapshot(counting, request)
    assert counting.runs == 1
    monkeypatch.setattr(snapshot_module, "MAX_COMMAND", len(probe_command([])) + 300)
    counting = Counting(host)
    pieces = take_snapshot(counting, request)
    assert counting.runs >= 3
    assert comparable(pieces)[:5] == comparable(whole)[:5]


def test_a_failing_probe_is_an_error():
    class Broken:
        def run(self, command):
            class Result:
                rc, stdout, stderr, stdout_bytes = 2, "", "sh: boom", b""
            return Result()
    with pytest.raises(VerifyError, match="reading the host failed \\(exit 2\\): sh: boom"):
        take_snapshot(Broken(), Request().stat("/"))


def test_the_python_probe_is_python_3_5():
    """hostprobe.py runs on the host's python3, not ours: its syntax is 3.5's, and it imports
    nothing of this project."""
    import ast

    source = (snapshot_module.HERE / "hostprobe.py").read_text()
    tree = ast.parse(source, feature_version=(3, 5))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"base64", "errno", "grp", "hashlib", "os", "pwd", "stat", "sys",
                        "time", "zlib"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


def test_both_probes_read_readiness_and_verify_judges_it(served_sides, host):
    """A side's ``supervise/readiness`` (docs/readiness.md) reaches the snapshot through
    python's probe and sh's alike, only when it is about the running pid; the ``ready`` check
    fails a running service that is still starting, or that nothing recorded."""
    import time

    from runit_provision.checks.expected import ready_problems
    from runit_provision.protocol.readiness import Readiness, readiness_bytes

    sides, request = served_sides("db", "cold", "stale", "plain")
    now_ns = time.time_ns()
    pid = os.getpid()
    records = {"db": Readiness("ready", pid, now_ns, now_ns, "serving", 0, 0),
               "cold": Readiness("starting", pid, now_ns - 31 * 10**9, 0, "replaying", 0, 0),
               "stale": Readiness("ready", pid + 1, now_ns, now_ns, "", 0, 0)}
    for name, record in records.items():
        (sides[name] / "supervise" / "readiness").write_bytes(readiness_bytes(record))
    by_python = take_snapshot(host, request, python=True)
    by_sh = take_snapshot(host, request, python=False)
    for snapshot in (by_python, by_sh):
        found = {name: snapshot.side(str(side)).readiness for name, side in sides.items()}
        assert found == {"db": records["db"], "cold": records["cold"], "stale": None,
                         "plain": None}
        problems = {name: ready_problems(name, str(side), snapshot)
                    for name, side in sides.items()}
        assert problems["db"] == []
        waited = int(snapshot.now) - records["cold"].started_ns // 10**9  # the host's clock
        assert waited >= 31
        assert problems["cold"] == ["cold: not ready: starting for %d s: replaying" % waited]
        assert problems["stale"][0].startswith("stale: not ready: nothing recorded for "
                                               "pid %d" % pid)


def test_both_probes_read_the_tally_and_verify_sees_a_crash_loop_between_deaths(served_sides,
                                                                                 host):
    """A side's ``supervise/tally`` (our runsv's account, docs/failures.md) reaches the
    snapshot through python's probe and sh's alike, so verify's ``running`` judges as
    ``status`` does: a service that runs right now but died 6 times in the last minute is
    crash-looping, not as wanted — without the tally that was a false green."""
    import time

    from runit_provision.checks.expected import running_problems
    from runit_provision.protocol.tally import Tally, tally_bytes

    sides, request = served_sides("looping", "calm", "plain", "torn")
    now_ns = time.time_ns()
    looping = Tally(os.getpid(), 7, 6, 1 << 8, now_ns - 10**9, 10**7,
                    [now_ns - seconds * 10**9 for seconds in range(1, 7)])
    calm = Tally(os.getpid(), 2, 1, 1 << 8, now_ns - 3600 * 10**9, 10**7,
                 [now_ns - 3600 * 10**9])
    (sides["looping"] / "supervise" / "tally").write_bytes(tally_bytes(looping))
    (sides["calm"] / "supervise" / "tally").write_bytes(tally_bytes(calm))
    torn = tally_bytes(looping).replace(b"deaths=6", b"deaths=9")  # a write caught half done
    (sides["torn"] / "supervise" / "tally").write_bytes(torn)
    for python in (True, False):
        snapshot = take_snapshot(host, request, python=python)
        found = {name: snapshot.side(str(side)).tally for name, side in sides.items()}
        assert found["looping"].deaths == 6 and found["calm"].deaths == 1, found
        assert found["plain"] is None and found["torn"] is None, found
        problems = {name: running_problems(name, str(side), snapshot)
                    for name, side in sides.items()}
        assert problems["calm"] == problems["plain"] == problems["torn"] == [], problems
        assert len(problems["looping"]) == 1, problems
        assert problems["looping"][0].startswith(
            "looping: crash-looping: run: %s: (pid %d)" % (sides["looping"], os.getpid()))


def test_verify_and_status_take_a_tally_by_one_rule(served_sides, host):
    """A tally that names another process than the status (one another runsv left: the C
    runsv now serves the side) is no account of what runs, for verify's probes (python's and
    sh's) as for status's reader: neither says crash-looping of it
    (protocol/tally.account_of)."""
    import time

    from runit_provision.checks.expected import running_problems
    from runit_provision.health.verdict import verdict_of
    from runit_provision.host.fsread import FsReader
    from runit_provision.host.sides import read_side
    from runit_provision.protocol.tally import Tally, tally_bytes

    sides, request = served_sides("left", "mine")
    now_ns = time.time_ns()
    recent = [now_ns - seconds * 10**9 for seconds in range(1, 7)]
    tallies = {"left": Tally(os.getpid() + 1, 7, 6, 1 << 8, now_ns - 10**9, 10**7, recent),
               "mine": Tally(os.getpid(), 7, 6, 1 << 8, now_ns - 10**9, 10**7, recent)}
    for name, tally in tallies.items():
        path = sides[name] / "supervise" / "tally"
        path.write_bytes(tally_bytes(tally))
        os.utime(str(path), (time.time() - 60,) * 2)  # written before the status: left
    with FsReader() as fs:
        by_status = {name: read_side(fs, str(side), time.time())
                     for name, side in sides.items()}
    looping = {name: verdict_of(True, side).word == "crash-looping"
               for name, side in by_status.items()}
    assert looping == {"left": False, "mine": True}
    for python in (True, False):
        snapshot = take_snapshot(host, request, python=python)
        problems = {name: running_problems(name, str(side), snapshot)
                    for name, side in sides.items()}
        assert {name: found != [] for name, found in problems.items()} == looping, problems
        assert snapshot.side(str(sides["left"])).tally is None
