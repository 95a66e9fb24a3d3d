"""The output of a user's tree is root's to log (docs/security.md, "Attacks and what holds
them": T1–T3): ``runsvdir-LOGIN/log`` is root's own svlogd writing root's directory
``LOG_DIR/runsvdir-LOGIN`` (root:root 0750, an ACL lets the user alone read it), and
``~/logs/runsvdir`` is the user's link to it — nothing but bytes crosses the uid boundary.

apprun1, the real unprivileged user of the namespace (``sandbox.py``), under our runtime and
the C runit side by side: can read their tree's log through the link and change nothing in
it, and another user of their group cannot read it; replaces the link with a FIFO, a link elsewhere (a stand-in for ``/etc``) or a
directory, and root's logger goes on writing root's directory alone; and feeds root garbage
and lies on every channel a process of theirs holds, and root's tree is as it was. Every wait
has a deadline; the sandbox ends every process it started.
"""

import os
import stat
import subprocess
from pathlib import Path

import pytest

from runit_provision.model.acl import XATTR, acl_from_bytes, readers_acl

from ..runtime.processes import proc_status, running_pid, wait_until
from .test_teardown import add_talker, add_user_service, assert_apprun1_tree_logged
from .test_users import (
    USERLOG, assert_apprun2_logging, assert_root_answers, with_userlog)

pytestmark = pytest.mark.slow

REFUSED = ("Permission denied", "Operation not permitted")


def tree_log(sandbox):
    """Root's directory of apprun1's tree's output."""
    return sandbox.path("var/log/runsvdir-apprun1")


def entries(directory):
    """What ``directory`` holds, as a change to it would show: name -> (inode, mode, owner)."""
    found = {}
    for name in os.listdir(str(directory)):
        info = os.lstat(os.path.join(str(directory), name))
        found[name] = (info.st_ino, info.st_mode, info.st_uid, info.st_gid)
    return found


def as_apprun1(sandbox, script):
    """``script`` as apprun1 in their home; its CompletedProcess, whatever its exit."""
    return sandbox.ns.run(["/bin/sh", "-c", 'cd "$0" && ' + script, sandbox.home("apprun1")],
                          user="apprun1")


# -- T1: root's directory, the user's link ---------------------------------------------------------
ATTEMPTS = [
    "touch logs/runsvdir/planted", "mkfifo logs/runsvdir/planted",
    "mkdir logs/runsvdir/planted", "ln -s /etc logs/runsvdir/planted",
    "ln logs/runsvdir/current logs/runsvdir/hard", "rm -f logs/runsvdir/current",
    "rm -f logs/runsvdir/config", "mv logs/runsvdir/current logs/runsvdir/old",
    "printf 's1\\n' > logs/runsvdir/config", "printf x >> logs/runsvdir/current",
    "chmod 0777 logs/runsvdir", "chmod 0666 logs/runsvdir/current",
    "chmod 0 logs/runsvdir/config", "chown apprun1 logs/runsvdir/current",
]


def test_t1_apprun1_reads_their_trees_log_and_can_change_nothing_in_it(sandbox):
    sandbox.up()
    talker = add_talker(sandbox)
    marker = assert_apprun1_tree_logged(sandbox, talker)
    directory = tree_log(sandbox)
    info = os.stat(str(directory))
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 0, 0o750)
    assert acl_from_bytes(os.getxattr(str(directory), XATTR)) == readers_acl(
        0o750, [sandbox.ns.users["apprun1"]])
    link = sandbox.home("apprun1") / "logs" / "runsvdir"
    assert os.readlink(str(link)) == str(directory)
    assert os.lstat(str(link)).st_uid == sandbox.ns.users["apprun1"]
    shown = as_apprun1(sandbox, "cat logs/runsvdir/current")
    assert shown.returncode == 0 and marker in shown.stdout, shown.stderr
    before = entries(directory)
    for attempt in ATTEMPTS:
        done = as_apprun1(sandbox, attempt)
        assert done.returncode != 0 and any(why in done.stderr for why in REFUSED), (
            attempt, done.returncode, done.stderr)
    assert entries(directory) == before
    assert_apprun1_tree_logged(sandbox, talker)


def test_t1_another_user_of_apprun1s_group_cannot_read_their_trees_log(sandbox):
    """apprun2 made a member of apprun1's primary group (as ``users`` holds every user on
    many hosts): the directory is root's group, so the group gives apprun2 nothing, and the
    ACL names apprun1 alone. The same directory as an apply before the ACL left it (in
    apprun1's group, no ACL) let apprun2 read it — the test's own control — and the next
    apply takes that back, restarting nothing."""
    sandbox.up()
    talker = add_talker(sandbox)
    marker = assert_apprun1_tree_logged(sandbox, talker)
    directory = tree_log(sandbox)
    read = "cat %s/current" % directory
    group = Path(sandbox.ns.scratch, "group")  # the namespace's /etc/group
    before = group.read_text()
    group.write_text(before.replace("apprun1:x:%d:\n" % sandbox.ns.users["apprun1"],
                                    "apprun1:x:%d:apprun2\n" % sandbox.ns.users["apprun1"]))
    try:
        assert marker in as_apprun1(sandbox, read).stdout
        refused = sandbox.ns.run(["/bin/sh", "-c", read], user="apprun2")
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused
        logger = running_pid(sandbox.sv_dir / "runsvdir-apprun1" / "log")
        os.removexattr(str(directory), XATTR)  # as an apply before the ACL left it
        os.chown(str(directory), 0, sandbox.ns.users["apprun1"])
        shown = sandbox.ns.run(["/bin/sh", "-c", read], user="apprun2")
        assert shown.returncode == 0 and marker in shown.stdout, shown.stderr
        report = sandbox.apply()
        assert [item["action"] for item in report["actions"]
                if item["path"] == str(directory)] == ["change"]
        assert report["restarts"] == []
        refused = sandbox.ns.run(["/bin/sh", "-c", read], user="apprun2")
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused
        assert marker in as_apprun1(sandbox, read).stdout
        assert running_pid(sandbox.sv_dir / "runsvdir-apprun1" / "log") == logger
    finally:
        group.write_text(before)
    assert_apprun1_tree_logged(sandbox, talker)


# -- T2: the link replaced -------------------------------------------------------------------------
PLANTS = {"fifo": "rm logs/runsvdir && mkfifo logs/runsvdir",
          "link": "rm logs/runsvdir && ln -s {standin} logs/runsvdir",
          "directory": "rm logs/runsvdir && mkdir logs/runsvdir"}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_t2_a_link_apprun1_replaces_leads_roots_logger_nowhere(sandbox, plant):
    """apprun1 puts a FIFO, a link to a stand-in for ``/etc`` or a directory where
    ``~/logs/runsvdir`` leads to root's directory. Root's logger of their tree, restarted,
    writes root's directory still, and nothing where apprun1's entry leads; ``apply`` leaves
    a FIFO or a directory as it is and says so (a pointer for people that gives way), puts
    the link back over a link; root answers in time."""
    standin = sandbox.path("standin-etc")  # root's, as /etc is
    standin.mkdir()
    sandbox.up()
    talker = add_talker(sandbox)
    assert_apprun1_tree_logged(sandbox, talker)
    sandbox.as_user("apprun1", PLANTS[plant].format(standin=standin))
    link = sandbox.home("apprun1") / "logs" / "runsvdir"
    planted = os.lstat(str(link))
    restart = sandbox.sv("-w", "7", "restart", sandbox.sv_dir / "runsvdir-apprun1" / "log",
                         timeout=30)
    assert restart.returncode == 0 and restart.seconds < 7.5, (restart.stdout, restart.seconds)
    assert_apprun1_tree_logged(sandbox, talker)
    report = sandbox.apply()
    noops = {item["path"]: item["reason"] for item in report["noops"]}
    acted = [item["action"] for item in report["actions"] if item["path"] == str(link)]
    if plant == "link":
        assert acted and os.readlink(str(link)) == str(tree_log(sandbox)), report["actions"]
    else:
        assert acted == [] and "left as it is" in noops.get(str(link), ""), (noops, acted)
        after = os.lstat(str(link))
        assert (after.st_ino, after.st_mode) == (planted.st_ino, planted.st_mode)
    if plant == "directory":
        assert os.listdir(str(link)) == []
    assert os.listdir(str(standin)) == []
    assert_apprun1_tree_logged(sandbox, talker)
    assert_root_answers(sandbox)
    assert_apprun2_logging(sandbox)


# -- T3: garbage and lies ---------------------------------------------------------------------------
# What a service of apprun1's without a logger says: its output is their tree's, which root's
# svlogd logs. Bytes that are not UTF-8, NULs, a terminal's escapes and a carriage return, a
# line twenty times svlogd's line length, then a flood.
GARBAGE = r"""exec >&2
echo garbage-start
printf 'bad utf8 \377\376\300\n'
printf 'nul '; head -c 3 /dev/zero; echo ' byte'
printf 'esc \033[2J\033]0;pwned\007 \r fake: line\n'
head -c 20000 /dev/zero | tr '\0' L; echo
yes flood-flood-flood | head -c 3000000
echo; echo garbage-end
exec sleep 2147483647"""

# What apprun1 plants beside it, where root's tree could once have read it: a link to root's
# service and a FIFO in ~/service (N11, N14: test_undeclared_visible.py), web1's records naming
# root's processes (O7, N15, A1: test_planted_pid.py, test_planted_records.py,
# test_adoption.py; out-of-bounds records: test_hostile_records.py) and garbage on its control.
LIES = """set -e
ln -s {sv_dir}/rootsvc service/peek
mkfifo service/fifo
printf '{tree}\\n' > sv/web1/supervise/pid
head -c 20 /dev/urandom > sv/web1/supervise/status
printf 'garbage\\000\\377' > sv/web1/supervise/control 2>/dev/null &
sleep 0.2
"""


def socket_inodes(pid):
    found = set()
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, name))
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def holders(uid, inodes, but):
    """The processes of ``uid`` other than ``but`` holding a socket among ``inodes``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == but:
            continue
        try:
            if proc_status(int(entry))["Uid"][0] != str(uid):
                continue
            if socket_inodes(int(entry)) & inodes:
                found.append(int(entry))
        except OSError:
            continue
    return found


def assert_the_host_is_out_of_reach(sandbox):
    """Ours: the logger host of apprun1's (root's ``userlog`` logged as them) holds the only
    socket a process of apprun1's shares with root's tree; apprun1 can neither read its
    descriptors nor hold that socket."""
    host = running_pid(sandbox.sv_dir / USERLOG / "log")
    uid = sandbox.ns.users["apprun1"]
    assert proc_status(host)["Uid"] == [str(uid)] * 4
    assert os.stat("/proc/%d/fd" % host).st_uid == 0  # not dumpable: its /proc is root's
    channel = socket_inodes(host)
    assert channel, "the host holds its channel"
    for attempt in ("ls /proc/%d/fd" % host, "readlink -v /proc/%d/fd/0" % host,
                    "cat /proc/%d/environ" % host):
        done = as_apprun1(sandbox, attempt)
        assert done.returncode != 0 and any(why in done.stderr for why in REFUSED), (
            attempt, done.stdout, done.stderr)
    assert holders(uid, channel, host) == []


def test_t3_garbage_and_lies_on_every_channel_leave_roots_tree_as_it_was(sandbox):
    """apprun1 feeds root garbage and lies on every channel a process of theirs holds: their
    tree's output, their ``~/service`` and ``supervise/`` files, and (ours) the logger host's
    channel, which they cannot reach. Root's tree: the same processes, ``sv -w 7 restart
    rootsvc`` in time, the garbage logged as bytes in root's directory of their tree and
    nowhere else of root's."""
    with_userlog(sandbox)
    mine = {side: running_pid(side) for side in (
        sandbox.sv_dir / "rootsvc", sandbox.sv_dir / "rootsvc" / "log",
        sandbox.sv_dir / USERLOG, sandbox.sv_dir / "runsvdir-apprun1" / "log",
        sandbox.sv_dir / "runsvdir-apprun2", sandbox.sv_dir / "runsvdir-apprun2" / "log")}
    sandbox.as_user("apprun1", LIES.format(sv_dir=sandbox.sv_dir, tree=sandbox.tree.pid))
    add_user_service(sandbox, "apprun1", "garbage", GARBAGE)
    directory = tree_log(sandbox)

    def logged():
        data = b""
        for name in sorted(os.listdir(str(directory))):
            if name.startswith("@") or name == "current":
                data += (directory / name).read_bytes()
        return data
    wait_until(lambda: b"garbage-end" in logged(), timeout=60, what="the garbage logged")
    if sandbox.impl == "ours":
        assert_the_host_is_out_of_reach(sandbox)
    assert sandbox.tree.poll() is None
    assert {side: running_pid(side) for side in mine} == mine
    assert_root_answers(sandbox)
    data = logged()
    for said in (b"garbage-start", b"bad utf8 \xff\xfe\xc0", b"\x1b[2J\x1b]0;pwned\x07",
                 b"L" * 500, b"flood-flood-flood"):
        assert said in data, said
    assert b"nul \x00\x00\x00 byte" in data
    for parent, _dirs, files in os.walk(str(sandbox.path("var/log"))):
        if parent.startswith(str(directory)):
            continue
        for name in files:
            assert b"pwned" not in open(os.path.join(parent, name), "rb").read(), (parent, name)
    assert b"pwned" not in sandbox.outputs.read_bytes()
    assert {(info.st_uid, stat.S_ISREG(info.st_mode)) for info in (
        os.lstat(str(directory / name)) for name in os.listdir(str(directory)))} == {(0, True)}
    assert_apprun2_logging(sandbox)
