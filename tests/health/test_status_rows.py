"""status's rows (health/status.py) read from a tree on disk under a root: each declared
service's sides as its ``supervise/`` says, with what an apply owes it, then every entry of
the service directories the data does not declare — each row's fields one by one, for
every row, with the host's own probe and with one a caller gives, for a name, for the data
read and for the data that could not be."""

import os

import pytest

from runit_provision.errors import ServiceNameError
from runit_provision.health.status import (labels_named_on, service_statuses,
                                           statuses_named, undeclared_status)
from runit_provision.host import supervised as supervised_dirs
from runit_provision.host.fsread import FsReader
from runit_provision.host.owed import Owed, owed_text
from runit_provision.host.sides import probe_side
from runit_provision.host.supervised import Undeclared, Unread
from runit_provision.protocol.cgroupfs import ROOT_CGROUP
from runit_provision.protocol.status import State, Status
from runit_provision.protocol.tally import Tally, tally_bytes

from ..pipeline import config_from_text
from ..sides import NOW, NS, supervised, write_status

S = NOW // NS  # the moment every side is read, unix seconds
# cron is disabled and has no link; old is absent, listed before web; web has a logger
DATA = """\
runit::services:
  cron: {command: /usr/bin/cron, log: false, enabled: false}
  old: {command: /usr/bin/old, ensure: absent}
  web: {command: /usr/bin/web}
runit::users:
  alice:
    services:
      notebook: {command: /usr/bin/notebook, log: false}
"""
OWED = [Owed("restart", "/etc/sv/web", "web", "run changed"),
        Owed("hup", "/etc/sv/web/log", "web/log", "config changed"),
        Owed("restart", "/home/alice/sv/notebook", "alice/notebook", "env changed")]


def running(pid, seconds):
    return Status(S - seconds, 0, pid, False, "u", False, State.RUN)


@pytest.fixture
def host(tmp_path):
    """The data's services applied under a root, each side as its runsv left it, and beside
    them what the data does not declare: ``byhand`` linked from /opt (it runs, with a logger
    and our runtime's account), ``gone`` (a link to nothing), ``resting`` (a ``down`` file, a
    ``log`` that is a file: no logger), and ``mine`` in alice's tree (down, wanted up)."""
    root = tmp_path / "root"
    readers = []

    def side(path, status, tally=None):
        directory = root / path.lstrip("/")
        readers.append(supervised(directory))
        write_status(directory, status)
        if tally is not None:
            (directory / "supervise/tally").write_bytes(tally_bytes(tally))

    side("/etc/sv/web", running(42, 100), Tally(pid=42, starts=3))
    side("/etc/sv/web/log", running(43, 50), Tally(pid=43, starts=2))
    side("/etc/sv/cron", Status(S - 7, 0, 0, False, "d", False, State.DOWN))
    side("/home/alice/sv/notebook", running(1042, 9))
    side("/opt/byhand", running(77, 3), Tally(pid=77, starts=1))
    side("/opt/byhand/log", running(78, 3), Tally(pid=78, starts=1))
    side("/home/alice/service/mine", Status(S - 2, 0, 0, False, "u", False, State.DOWN))
    (root / "etc/sv/.pending-restarts").write_text(owed_text(OWED))
    service = root / "etc/service"
    service.mkdir()
    (service / "web").symlink_to("/etc/sv/web")
    (service / "byhand").symlink_to("/opt/byhand")
    (service / "gone").symlink_to("/opt/nowhere")
    (service / "resting").mkdir()
    (service / "resting/down").write_text("")
    (service / "resting/log").write_text("a file: runsv runs no logger\n")
    (root / "home/alice/service/notebook").symlink_to("/home/alice/sv/notebook")
    yield root
    for reader in readers:
        os.close(reader)


class Cgroups:
    """A CgroupReader whose Usage of a side is where it was asked for: the side's path and
    the top of the tree its record must be under."""

    unavailable = None

    def tree_top(self, fs, tree_side_path):
        return "top of " + tree_side_path

    def usage(self, fs, side_path, top):
        return side_path, top


class Listed:
    """A reader that notes each directory it lists."""

    def __init__(self, fs):
        self.fs, self.listed = fs, []

    def scan(self, path, *args, **kwargs):
        self.listed.append(path)
        return self.fs.scan(path, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.fs, name)


def side_of(side):
    """What a row says of a side: its state, pid, uptime and the starts our runtime counted
    (None: no account read)."""
    if side is None:
        return None
    return (side.state, side.pid or None, side.uptime,
            None if side.tally is None else side.tally.starts)


def row_of(row):
    return (row.label, row.path, row.tree, row.enabled, row.declared, row.note,
            side_of(row.main), side_of(row.log), [entry.reason for entry in row.owed],
            row.cgroup)


ALICES_TOP = "top of /etc/sv/runsvdir-alice"
NOT_SUPERVISED = ("not supervised", None, None, None)
ROWS = [
    ("cron", "/etc/sv/cron", None, False, True, None, ("down", None, 7, None), None, [],
     ("/etc/sv/cron", ROOT_CGROUP)),
    ("web", "/etc/sv/web", None, True, True, None, ("run", 42, 100, 3), ("run", 43, 50, 2),
     ["run changed", "config changed"], ("/etc/sv/web", ROOT_CGROUP)),
    ("runsvdir-alice", "/etc/sv/runsvdir-alice", "alice", True, True, None, NOT_SUPERVISED,
     NOT_SUPERVISED, [], ("/etc/sv/runsvdir-alice", ROOT_CGROUP)),
    ("alice/notebook", "/home/alice/sv/notebook", "alice", True, True, None,
     ("run", 1042, 9, None), None, ["env changed"], ("/home/alice/sv/notebook", ALICES_TOP)),
    ("byhand", "/etc/service/byhand", None, True, False, None, ("run", 77, 3, 1),
     ("run", 78, 3, 1), [], ("/etc/service/byhand", ROOT_CGROUP)),
    ("gone", "/etc/service/gone", None, True, False, "leads nowhere: /opt/nowhere",
     NOT_SUPERVISED, None, [], None),
    ("resting", "/etc/service/resting", None, True, False, None, NOT_SUPERVISED, None, [],
     ("/etc/service/resting", ROOT_CGROUP)),
    ("alice/mine", "/home/alice/service/mine", "alice", True, False, None,
     ("down", None, 2, None), None, [], ("/home/alice/service/mine", ALICES_TOP)),
]


def test_every_row_as_its_supervise_and_the_owed_restarts_say(host):
    with FsReader(str(host)) as fs:
        rows = service_statuses(config_from_text(DATA), fs, S, cgroups=Cgroups())
    assert [row_of(row) for row in rows] == ROWS
    assert (rows.unread, rows.cgroups_unavailable) == ([], None)
    wanted = {row.label: row.is_wanted for row in rows}
    assert (wanted["cron"], wanted["resting"], wanted["gone"], wanted["alice/mine"]) == (
        False, False, True, True)  # disabled; a down file; runsv's rule: up


def test_a_probe_given_is_asked_for_every_side_and_no_account_is_read(host):
    asked = []
    with FsReader(str(host)) as fs:
        def probe(path):
            asked.append(path)
            return probe_side(fs, path)
        rows = service_statuses(config_from_text(DATA), fs, S, probe=probe)
    assert asked == ["/etc/sv/cron", "/etc/sv/web", "/etc/sv/web/log", "/etc/sv/runsvdir-alice",
                     "/etc/sv/runsvdir-alice/log", "/home/alice/sv/notebook",
                     "/etc/service/byhand", "/etc/service/byhand/log", "/etc/service/resting",
                     "/home/alice/service/mine"]
    assert [row_of(row) for row in rows] == [untallied(row) for row in ROWS]


def untallied(row):
    """A row of ROWS as read without our runtime's accounts and without cgroups."""
    label, path, tree, enabled, declared, note, main, log, owed, _ = row
    return (label, path, tree, enabled, declared, note, uncounted(main), uncounted(log), owed,
            None)


def uncounted(side):
    return None if side is None else side[:3] + (None,)


def test_names_select_their_rows_and_only_then_a_directory_is_listed(host):
    config = config_from_text(DATA)
    with FsReader(str(host)) as fs:
        declared = Listed(fs)
        rows = service_statuses(config, declared, S, labels=frozenset(["web", "cron"]))
        assert [row.label for row in rows] == ["cron", "web"] and declared.listed == []
        mixed = Listed(fs)
        rows = service_statuses(config, mixed, S, labels=frozenset(["byhand", "web"]))
    assert [(row.label, row.declared) for row in rows] == [("web", True), ("byhand", False)]
    assert mixed.listed == ["/etc/service", "/home/alice/service"]


def test_a_directory_that_cannot_be_listed_is_said_only_when_all_are_asked_for(
        host, monkeypatch):
    monkeypatch.setattr(supervised_dirs, "MAX_ENTRIES", 1)
    config = config_from_text(DATA)
    with FsReader(str(host)) as fs:
        everything = service_statuses(config, fs, S)
        named = service_statuses(config, fs, S, labels=frozenset(["byhand"]))
    (unread,) = everything.unread
    assert (unread.login, unread.path) == ("alice", "/home/alice/service")
    assert "alice/mine" not in [row.label for row in everything]
    assert [row.label for row in named] == ["byhand"] and named.unread == []


def test_without_the_data_every_entry_is_one_it_does_not_declare(host):
    with FsReader(str(host)) as fs:
        rows = service_statuses(config_from_text(DATA), fs, S, declared=False)
    assert [(row.label, row.path, row.declared) for row in rows] == [
        ("byhand", "/etc/service/byhand", False), ("gone", "/etc/service/gone", False),
        ("resting", "/etc/service/resting", False), ("web", "/etc/service/web", False),
        ("alice/mine", "/home/alice/service/mine", False),
        ("alice/notebook", "/home/alice/service/notebook", False)]
    web = rows[3]
    assert (side_of(web.main), side_of(web.log), web.owed) == (
        ("run", 42, 100, 3), ("run", 43, 50, 2), [])  # read where the link leads


def test_a_link_whose_directory_changed_owner_is_not_read(host):
    """Listed as alice's link to her own directory; by the time it is read, root's."""
    (host / "home/alice/sv/mine").mkdir()
    entry = Undeclared("alice", "mine", "/home/alice/service/mine", "/home/alice/sv/mine",
                       None, 1000)
    with FsReader(str(host)) as fs:
        row = undeclared_status(fs, entry, S, None, usage=lambda path, login: "read")
    note = "not read: /home/alice/sv/mine is no longer its link's owner's"
    assert row_of(row) == ("alice/mine", "/home/alice/service/mine", "alice", True, False,
                           note, ("unknown", None, None, None), None, [], None)
    assert (row.main.unknown, row.is_wanted) == (note, True)


def test_an_entry_read_alone_carries_our_runtimes_account(host):
    entry = Undeclared(None, "byhand", "/etc/service/byhand", "/etc/service/byhand", None)
    with FsReader(str(host)) as fs:
        row = undeclared_status(fs, entry, S, None)
    assert (side_of(row.main), side_of(row.log), row.cgroup) == (
        ("run", 77, 3, 1), ("run", 78, 3, 1), None)


def test_a_logger_that_cannot_be_reached_safely_counts_and_is_unknown(host):
    (host / "etc/service/looped").mkdir()
    (host / "etc/service/looped/log").symlink_to("log")
    entry = Undeclared(None, "looped", "/etc/service/looped", "/etc/service/looped", None)
    with FsReader(str(host)) as fs:
        row = undeclared_status(fs, entry, S, None)
    assert (side_of(row.main), row.log.state, row.cgroup) == (
        ("not supervised", None, None, None), "unknown", None)


def test_names_are_the_datas_then_what_its_directories_hold(host):
    config = config_from_text(DATA)
    with FsReader(str(host)) as fs:
        assert labels_named_on(fs, config, None) is None
        # cron has no link: only the data names it
        assert labels_named_on(fs, config, ["cron", "byhand", "mine"]) == frozenset(
            ["cron", "byhand", "alice/mine"])
        assert labels_named_on(fs, config, ["web"], declared=False) == frozenset(["web"])
        with pytest.raises(ServiceNameError):
            labels_named_on(fs, config, ["cron"], declared=False)


def test_the_rows_of_names_read_now_under_a_root(host):
    config = config_from_text(DATA)
    rows = statuses_named(config, root=str(host))
    assert [(row.label, row.declared) for row in rows] == [
        (row[0], row[4]) for row in ROWS]
    rows = statuses_named(config, ["byhand", "cron"], str(host))
    assert [(row.label, row.main.state) for row in rows] == [("cron", "down"),
                                                             ("byhand", "run")]
    rows = statuses_named(config, None, str(host), declared=False)
    assert [row.label for row in rows if row.declared] == []
    assert "web" in [row.label for row in rows]
    with pytest.raises(ServiceNameError):
        statuses_named(config, ["cron"], str(host), declared=False)


def test_without_a_root_the_rows_are_the_hosts(tmp_path):
    sv, service = tmp_path / "sv", tmp_path / "service"
    reader = supervised(sv / "web")
    try:
        write_status(sv / "web", running(42, 5))
        service.mkdir()
        (service / "web").symlink_to(sv / "web")
        config = config_from_text("runit::sv_dir: %s\nrunit::service_dir: %s\n"
                                  "runit::services:\n  web: {command: /bin/web, log: false}\n"
                                  % (sv, service))
        (row,) = statuses_named(config, ["web"])
    finally:
        os.close(reader)
    assert (row.label, row.path, row.declared, row.main.state, row.main.pid) == (
        "web", str(sv / "web"), True, "run", 42)
