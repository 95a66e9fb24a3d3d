"""checks/snapshot.py and the two host probes: one request, one command, the same records from
python3's probe and sh's, parsed and validated."""

import os

import pytest
import testinfra

from runit_provision.checks import snapshot as snapshot_module
from runit_provision.checks.snapshot import (
    MAX_COMMAND, Request, Snapshot, probe_command, take_snapshot)
from runit_provision.errors import VerifyError
from runit_provision.protocol.status import State

from ..conftest import OUR_BIN
from ..runtime.processes import BASE_PATH
from .helpers import FakeRunsv


@pytest.fixture
def host(monkeypatch):
    monkeypatch.setenv("PATH", "%s:%s" % (OUR_BIN, BASE_PATH))
    return testinfra.get_host("local://")


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
    assert request.chunks(10 ** 6) == [[
        "in /", "login root", "in /s/service", "stat web", "side web",
        "in /s/sv", "walk web", "walk api", "in ~alice", "stat service"]]


def test_request_chunks_stay_under_the_limit_and_carry_their_directory():
    request = Request()
    for number in range(500):
        request.walk("/srv/sv/service-%03d" % number)
    pieces = request.chunks(2000)
    assert len(pieces) >= 5
    for piece in pieces:
        assert piece[0] == "in /srv/sv"
        assert sum(len(line) + 1 for line in piece) <= 2000
    assert sum(len(piece) - 1 for piece in pieces) == 500


def test_request_refuses_what_a_line_cannot_carry():
    with pytest.raises(VerifyError):
        Request().stat("/a\nb")
    with pytest.raises(ValueError):
        Request().add("rm", "/")


def test_the_command_is_ascii_and_fits_one_argument():
    command = probe_command(["in /", "stat /"])
    command.encode("ascii")  # testinfra asks the host for its encoding otherwise
    assert len(command) < MAX_COMMAND // 3
    assert command.endswith("stat /\nRUNIT_PROVISION_REQUEST\n")


# -- the records ----------------------------------------------------------------------------------
@pytest.mark.parametrize("output", [
    b"Q 1\n",                             # an unknown record
    b"E f 644 0 0 root root\n",           # a field short
    b"E f 6x4 0 0 root root /a\n",        # not octal
    b"E f 644 0 0 root root /a\nC 3 zz - /a\n",   # not hex
    b"S up 0 00 - - - - - /a\n",          # status hex fine, decoded later; arity fine
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


def test_sh_without_sv_cannot_tell(odd_dir, host, monkeypatch):
    empty = odd_dir.parent / "empty-bin"
    empty.mkdir()
    for tool in ("sh", "stat", "od", "tr", "readlink", "date", "awk", "cut", "id", "getent",
                 "sha256sum"):
        target = "/usr/bin/" + tool if os.path.exists("/usr/bin/" + tool) else "/bin/" + tool
        (empty / tool).symlink_to(target)
    monkeypatch.setenv("PATH", str(empty))
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
    monkeypatch.setattr(snapshot_module, "MAX_COMMAND", len(probe_command([])) + 1500)
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
