"""What a service's cgroup holds, told by status (table and ``--json``) and metrics — pure: a
made-up cgroup v2 directory tree stands for the mount (``CgroupReader(mount=)``), each
service's ``supervise/cgroup`` record is written as our runsv writes it, and each side's status
is made up. Every figure, the unknown ones (a controller not enabled), the records a user's tree
could plant, and the one line of a host without cgroup v2."""

import io
import json
import os

import pytest

from runit_provision.cli.main import main
from runit_provision.cli.status import print_table
from runit_provision.health.metrics import exposition
from runit_provision.health.status import Rows, ServiceStatus
from runit_provision.host import cgroupread
from runit_provision.host.cgroupread import NO_HIERARCHY, CgroupReader
from runit_provision.host.fsread import FsReader
from runit_provision.protocol.tally import Tally

from ..apply.helpers import staged_root
from ..cgroupchain import DEEP, chain
from ..sides import NOW, NS, made_side

BASE = "/runit-provision/etc-service"
FULL = {"memory.current": "32716390\n", "memory.peak": "42047897\n",
        "memory.max": "268435456\n", "memory.high": "max\n", "pids.current": "3\n",
        "pids.max": "64\n", "memory.events": "low 0\nhigh 0\nmax 7\noom 3\noom_kill 3\n",
        "cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
        "cgroup.procs": "41\n42\n43\n"}
# this machine's controller-less hierarchy: membership and CPU time, no memory.* nor pids.*
BARE = {"cpu.stat": "usage_usec 1000\n", "cgroup.procs": "42\n"}


def cgroup(mount, name, files):
    """Service ``name``'s cgroup under ``mount`` holding ``files``; its path below it."""
    path = BASE + "/" + name
    directory = mount / path.lstrip("/")
    directory.mkdir(parents=True)
    for file, text in files.items():
        (directory / file).write_text(text)
    return path


def side_dir(base, name, record=None):
    """A service directory whose ``supervise/cgroup`` is ``record`` (bytes; None: none)."""
    side = base / "sv" / name
    (side / "supervise").mkdir(parents=True)
    if record is not None:
        (side / "supervise" / "cgroup").write_bytes(record)
    return side


@pytest.fixture
def cg(tmp_path):
    """``usage(name, files, record=None)``: the Usage the reader finds for a service whose
    cgroup holds ``files`` (None: no cgroup) and whose record is ``record`` (None: its
    cgroup's path, as runsv writes it)."""
    mount = tmp_path / "cgroup2"
    mount.mkdir()
    reader, fs = CgroupReader(str(mount)), FsReader("/")

    def usage(name, files, record=None):
        path = cgroup(mount, name, files) if files is not None else BASE + "/" + name
        side = side_dir(tmp_path, name, (path + "\n").encode() if record is None else record)
        return reader.usage(fs, str(side))
    usage.reader, usage.fs = reader, fs
    yield usage
    reader.close()
    fs.close()


def crash_loop():
    tally = Tally()
    for moment in range(5):
        tally.started(9)
        tally.died(9, NOW - (10 - moment) * NS, NS // 2)  # SIGKILL, after half a second
    return made_side("down", 0, 1, "up", True, tally)


def views(rows):
    table = io.StringIO()
    print_table(rows, table)
    return (table.getvalue(), json.loads(json.dumps([row.as_json() for row in rows])),
            exposition(rows))


def test_every_figure_and_an_oom_crash_loop_reads_right(cg):
    usage = cg("web", FULL)
    row = ServiceStatus("web", "/etc/sv/web", None, True, crash_loop(), None, cgroup=usage)
    table, (found,), metrics = views([row])
    lines = table.splitlines()
    assert lines[2:] == [
        "  crash-looping: 5 deaths in 60 s, last signal 9 (KILL) after 0.50 s",
        "  killed by the OOM killer (memory_max 256M), 3 times",
        "  memory 31.2M (peak 40.1M) of 256M, tasks 3 of 64",
        "  3 processes outlive the main process"]
    assert found["cgroup"] == {
        "path": BASE + "/web", "memory": 32716390, "memory_peak": 42047897,
        "memory_max": 268435456, "memory_high": None, "tasks": 3, "tasks_max": 64,
        "oom_kills": 3, "cpu_seconds": 2.5, "processes": 3, "outliving": 3}
    labels = '{service="web",tree="system",declared="true"}'
    for line in ("runit_service_memory_bytes%s 32716390", "runit_service_memory_peak_bytes%s "
                 "42047897", "runit_service_memory_max_bytes%s 268435456",
                 "runit_service_tasks%s 3", "runit_service_tasks_max%s 64",
                 "runit_service_cpu_seconds_total%s 2.500000",
                 "runit_service_oom_kills_total%s 3",
                 "runit_service_outliving_processes%s 3"):
        assert "\n" + line % labels + "\n" in metrics
    assert "runit_service_memory_high_bytes" not in metrics  # max: no throttle
    assert "# TYPE runit_service_oom_kills_total counter\n" in metrics
    assert "# TYPE runit_service_cpu_seconds_total counter\n" in metrics


def test_a_running_main_process_owns_its_cgroup_and_one_kill_is_once(cg):
    usage = cg("web", dict(FULL, **{"memory.events": "oom_kill 1\n"}))
    row = ServiceStatus("web", "/etc/sv/web", None, True, made_side("run", 42, 100), None,
                        cgroup=usage)
    table, (found,), metrics = views([row])
    assert table.splitlines()[2:] == ["  killed by the OOM killer (memory_max 256M), once",
                                      "  memory 31.2M (peak 40.1M) of 256M, tasks 3 of 64"]
    assert found["cgroup"]["outliving"] == 0
    assert 'runit_service_outliving_processes{service="web",tree="system",declared="true"} 0' \
        in metrics


def test_unknown_figures_are_not_said_and_one_process_outlives(cg):
    row = ServiceStatus("web", "/etc/sv/web", None, True, made_side("down", 0, 5, "down"),
                        None, cgroup=cg("web", BARE))
    table, (found,), metrics = views([row])
    assert table.splitlines()[2:] == ["  1 process outlives the main process"]
    assert found["cgroup"] == {
        "path": BASE + "/web", "memory": None, "memory_peak": None, "memory_max": None,
        "memory_high": None, "tasks": None, "tasks_max": None, "oom_kills": None,
        "cpu_seconds": 0.001, "processes": 1, "outliving": 1}
    families = {line.split("{")[0] for line in metrics.splitlines()
                if line.startswith("runit_service_") and "{" in line}
    assert {"runit_service_cpu_seconds_total", "runit_service_outliving_processes"} \
        <= families
    assert not {"runit_service_memory_bytes", "runit_service_tasks",
                "runit_service_oom_kills_total"} & families


def test_a_users_tree_is_counted_in_its_whole_subtree(cg, tmp_path):
    """``runsvdir-LOGIN``'s cgroup is the user's to divide: its top holds no process, its
    tree's are below it — every one counted, and once the tree is gone, every one outlives."""
    usage = cg("runsvdir-nobody", BARE)  # created first: its directory, then the user's
    top = tmp_path / "cgroup2" / BASE.lstrip("/") / "runsvdir-nobody"
    (top / "cgroup.procs").write_text("")
    for below, pids in (("supervise", "50\n"), ("web", "51\n"), ("web/hid/deeper", "52\n53\n")):
        (top / below).mkdir(parents=True)
        (top / below / "cgroup.procs").write_text(pids)
    (top / "planted").symlink_to(tmp_path)  # a link is no cgroup: never followed
    usage = cg.reader.usage(cg.fs, str(tmp_path / "sv" / "runsvdir-nobody"))
    assert sorted(usage.procs) == [50, 51, 52, 53]
    running = ServiceStatus("runsvdir-nobody", "/etc/sv/runsvdir-nobody", None, True,
                            made_side("run", 50, 100), None, cgroup=usage)
    ended = ServiceStatus("runsvdir-nobody", "/etc/sv/runsvdir-nobody", None, True,
                          made_side("down", 0, 5, "down"), None, cgroup=usage)
    (_, (found,), _), (table, (gone,), _) = views([running]), views([ended])
    assert (found["cgroup"]["processes"], found["cgroup"]["outliving"]) == (4, 0)
    assert (gone["cgroup"]["processes"], gone["cgroup"]["outliving"]) == (4, 4)
    assert "  4 processes outlive the main process" in table.splitlines()


def test_memory_without_a_limit_nor_a_peak(cg):
    usage = cg("web", {"memory.current": "1536\n", "memory.max": "max\n",
                       "pids.current": "2\n", "pids.max": "max\n",
                       "memory.events": "oom_kill 2\n", "cgroup.procs": "42\n"})
    row = ServiceStatus("web", "/etc/sv/web", None, True, made_side("run", 42, 100), None,
                        cgroup=usage)
    assert views([row])[0].splitlines()[2:] == ["  killed by the OOM killer, 2 times",
                                                "  memory 1.5K, tasks 2"]


def test_no_record_or_no_cgroup_says_nothing(cg, tmp_path):
    fs = FsReader("/")
    with CgroupReader(str(tmp_path)) as reader:
        assert reader.usage(fs, str(side_dir(tmp_path, "classic"))) is None  # C runit
    fs.close()
    assert cg("gone", None) is None  # removed once empty
    row = ServiceStatus("classic", "/etc/sv/classic", None, True, made_side("run", 42, 9),
                        None)
    table, (found,), metrics = views([row])
    assert table.splitlines()[2:] == [] and "cgroup" not in found
    assert "memory" not in metrics and "outliving" not in metrics


@pytest.mark.parametrize("record, why", [
    (b"/a/../../etc\n", "supervise/cgroup names no cgroup"),
    (b"runit-provision/web\n", "supervise/cgroup names no cgroup"),
    (b"/" + b"a/" * 3000 + b"\n", "supervise/cgroup is not a regular file of at most 4096 "
                                  "bytes"),
    ("fifo", "supervise/cgroup is not a regular file of at most 4096 bytes"),
    ("link", "supervise/cgroup is not a regular file of at most 4096 bytes"),
])
def test_a_planted_record_is_not_followed(cg, tmp_path, record, why):
    cgroup(tmp_path / "cgroup2", "target", FULL)
    if isinstance(record, bytes):
        usage = cg("web", None, record)
    else:
        side = side_dir(tmp_path, "web")
        planted = side / "supervise" / "cgroup"
        if record == "fifo":
            os.mkfifo(str(planted))  # a read would block: it is never opened for one
        else:
            (tmp_path / "good").write_text(BASE + "/target\n")
            planted.symlink_to(tmp_path / "good")
        with FsReader("/") as fs, CgroupReader(str(tmp_path / "cgroup2")) as reader:
            usage = reader.usage(fs, str(side))
    assert usage.unreadable == why
    row = ServiceStatus("web", "/etc/sv/web", None, True, made_side("run", 42, 9), None,
                        cgroup=usage)
    table, (found,), metrics = views([row])
    assert table.splitlines()[2:] == ["  cgroup: not read: " + why]
    assert found["cgroup"] == {"unreadable": why}
    assert "runit_service_memory" not in metrics and "outliving" not in metrics


def test_a_record_of_a_cgroup_deeper_than_recursion_goes_is_read(cg, tmp_path):
    """A user's service divided its cgroup thousands deep and its record names the deepest:
    read one directory at a time like any other, not a frame per level."""
    top = tmp_path / "cgroup2" / cgroup(tmp_path / "cgroup2", "deep", {}).lstrip("/")
    with chain(top, DEEP, "a") as deepest:
        (deepest / "cgroup.procs").write_text("42\n")
        path = "/" + str(deepest.relative_to(tmp_path / "cgroup2"))
        usage = cg("web", None, (path + "\n").encode())
        (deepest / "cgroup.procs").unlink()
    assert usage.unreadable is None and usage.path == path
    assert usage.procs == (42,)


def test_a_host_without_cgroup_v2_says_so_once(tmp_path, monkeypatch, capsys):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
                         "30 22 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n")
    monkeypatch.setattr(cgroupread, "MOUNTINFO", str(mountinfo))
    with CgroupReader() as reader:
        assert reader.unavailable == NO_HIERARCHY
        side = side_dir(tmp_path, "web", (BASE + "/web\n").encode())
        with FsReader("/") as fs:
            assert reader.usage(fs, str(side)) is None  # no figure per service
    rows = Rows([ServiceStatus(name, "/etc/sv/" + name, None, True,
                               made_side("run", 42, 9), None) for name in ("a", "b")],
                cgroups_unavailable=NO_HIERARCHY)
    table = io.StringIO()
    print_table(rows, table)
    lines = table.getvalue().splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["a", "b"]  # nothing under a row
    assert lines[3:] == ["cgroups: unavailable (no cgroup v2 hierarchy is mounted)"]

    # the command, on a staged tree: the line once under the table, the field in --json
    root = staged_root(tmp_path / "host")
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::services:\n  web:\n    command: sleep 1\n")
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    capsys.readouterr()
    main(["status", "--data", str(data), "--root", str(root)])
    out = capsys.readouterr().out
    assert out.count("cgroups: unavailable") == 1
    assert out.splitlines()[-1] == "cgroups: unavailable (no cgroup v2 hierarchy is mounted)"
    main(["status", "--data", str(data), "--root", str(root), "--json"])
    assert json.loads(capsys.readouterr().out)["cgroups_unavailable"] == NO_HIERARCHY


def test_the_commands_read_the_record_runsv_wrote(tmp_path, monkeypatch, capsys):
    mount = tmp_path / "cgroup2"
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("30 1 0:26 / %s rw - cgroup2 cgroup2 rw\n" % mount)
    monkeypatch.setattr(cgroupread, "MOUNTINFO", str(mountinfo))
    root = staged_root(tmp_path / "host")
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::services:\n  web:\n    command: sleep 1\n")
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    path = cgroup(mount, "web", dict(FULL, **{"cgroup.procs": "4242\n"}))
    supervise = root / "etc/sv/web/supervise"
    supervise.mkdir(exist_ok=True)
    (supervise / "cgroup").write_text(path + "\n")
    capsys.readouterr()
    main(["status", "web", "--data", str(data), "--root", str(root)])
    out = capsys.readouterr().out
    assert "  memory 31.2M (peak 40.1M) of 256M, tasks 3 of 64\n" in out
    assert "  1 process outlives the main process\n" in out  # nothing runs there
    assert "cgroups: unavailable" not in out
    main(["status", "web", "--data", str(data), "--root", str(root), "--json"])
    document = json.loads(capsys.readouterr().out)
    assert "cgroups_unavailable" not in document
    assert document["services"][0]["cgroup"]["oom_kills"] == 3
    main(["metrics", "--data", str(data), "--root", str(root)])
    assert 'runit_service_oom_kills_total{service="web",tree="system",declared="true"} 3\n' \
        in capsys.readouterr().out


USERS_DATA = """runit::init: none
runit::services:
  web:
    command: sleep 1
runit::users:
  alice:
    services:
      notebook:
        command: sleep 1
  bob:
    services:
      chat:
        command: sleep 1
"""


def test_a_users_record_shows_only_a_cgroup_of_its_own_tree(tmp_path, monkeypatch, capsys):
    """A user writes their service's record: naming root's service's cgroup, another user's,
    or one beside their tree's, it shows none of those figures under the user's service —
    the record is unreadable, that row says so, and every other row reads on."""
    mount = tmp_path / "cgroup2"
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("30 1 0:26 / %s rw - cgroup2 cgroup2 rw\n" % mount)
    monkeypatch.setattr(cgroupread, "MOUNTINFO", str(mountinfo))
    root = staged_root(tmp_path / "host", passwd="root:x:0:0:root:/root:/bin/sh\n"
                       "alice:x:1001:1001::/home/alice:/bin/sh\n"
                       "bob:x:1002:1002::/home/bob:/bin/sh\n",
                       group="root:x:0:\nalice:x:1001:\nbob:x:1002:\n")
    for login in ("alice", "bob"):
        (root / "home" / login).mkdir(parents=True)
    data = tmp_path / "data.yaml"
    data.write_text(USERS_DATA)
    assert main(["apply", "--data", str(data), "--root", str(root)]) == 0
    web = cgroup(mount, "web", FULL)  # root's service: 3 processes, 2.5 s of CPU
    chat = cgroup(mount, "runsvdir-bob/chat", FULL)
    own = cgroup(mount, "runsvdir-alice/notebook", BARE)

    def record(side, path):
        (root / side / "supervise").mkdir(parents=True, exist_ok=True)
        (root / side / "supervise" / "cgroup").write_text(path + "\n")

    def alices():
        capsys.readouterr()
        main(["status", "--data", str(data), "--root", str(root), "--json"])
        rows = {row["service"]: row for row in json.loads(capsys.readouterr().out)["services"]}
        assert rows["web"]["cgroup"]["processes"] == 3  # root's rows read on
        assert rows["bob/chat"]["cgroup"]["processes"] == 3
        return rows["alice/notebook"].get("cgroup")

    record("etc/sv/web", web)
    record("home/bob/sv/chat", chat)
    record("home/alice/sv/notebook", own)
    # root's tree records the cgroup it hands each user's tree; without it, nothing is shown
    record("etc/sv/runsvdir-bob", BASE + "/runsvdir-bob")
    assert alices() == {"unreadable": "supervise/cgroup: its tree's cgroup is not recorded"}
    record("etc/sv/runsvdir-alice", BASE + "/runsvdir-alice")
    assert alices()["processes"] == 1  # its own: shown
    top = BASE + "/runsvdir-alice"
    for foreign in (web, chat, BASE + "/runsvdir-alicex", top, top + "/../web"):
        record("home/alice/sv/notebook", foreign)
        why = "supervise/cgroup names no cgroup under its tree's (%s)" % top
        assert alices() == {"unreadable": why}, foreign
    main(["status", "alice/notebook", "--data", str(data), "--root", str(root)])
    assert "  cgroup: not read: supervise/cgroup names no cgroup under its tree's (%s)\n" \
        % top in capsys.readouterr().out
    main(["metrics", "--data", str(data), "--root", str(root)])
    assert 'service="alice/notebook"' not in "".join(
        line for line in capsys.readouterr().out.splitlines(True)
        if line.startswith(("runit_service_cpu", "runit_service_outliving")))
