"""Shared by the checks tests: a sandbox other users can reach, the data of a small host, its
rendered tree put on disk with owners (the applier's stand-in until ``apply`` lands), and
supervision faked in-process for the pure tier.

Every path is relocated under the sandbox through the data (``sv_dir``, ``service_dir``,
``log_dir``, the user's ``home``); nothing touches the host's /etc, /home, users or init.
"""

import grp
import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

import yaml

from runit_provision.accounts import NO_ACCOUNTS
from runit_provision.cli.render import write_tree
from runit_provision.protocol.status import State, Status, status_to_bytes
from runit_provision.render import render

from ..pipeline import config_from_file

SLEEP = ["sh", "-c", "echo up; exec sleep 1000"]


def make_sandbox():
    """A scratch directory every user can search (svlogd runs as nobody in it): pytest's
    tmp_path lives under a 0700 directory."""
    path = Path(tempfile.mkdtemp(prefix="runit-checks-"))
    path.chmod(0o755)
    return path


def remove_sandbox(path):
    shutil.rmtree(str(path), ignore_errors=True)


def host_data(sandbox, path_env, runtime="python"):
    """One service per kind of drift the tests make, a down one, a disabled one, an absent one,
    a logger running as nobody, and root's own tree (root: the venv and the sandbox are not
    reachable for nobody's tree; see tests/runtime/test_rendered_tree.py)."""
    services = {name: {"command": SLEEP} for name in ("web", "api", "db", "cache", "queue")}
    services.update({
        "mailer": {"command": SLEEP, "log": {"user": "nobody"}},
        "worker": {"command": SLEEP, "down": True},
        "spare": {"command": SLEEP, "enabled": False},
        "old": {"command": SLEEP, "ensure": "absent"},
    })
    return {"runit": {
        "runtime": runtime, "init": "none",
        "sv_dir": str(sandbox / "sv"), "service_dir": str(sandbox / "service"),
        "log_dir": str(sandbox / "log"),
        "services": services,
        "users": {"root": {"home": str(sandbox / "home"), "groups": ["root"],
                           "path": path_env,
                           "services": {"app": {"command": SLEEP}}}},
    }}


def config_of(sandbox, data):
    data_file = sandbox / "data.yaml"
    data_file.write_text(yaml.safe_dump(data))
    return config_from_file(data_file, NO_ACCOUNTS), data_file


def put_on_disk(tree, sandbox):
    """The tree at its final paths, with the owners and groups the applier gives (group None:
    the owner's primary group), links last."""
    for entry in tree:
        assert entry.path.startswith(str(sandbox) + "/"), entry.path
    (sandbox / "home").mkdir(exist_ok=True)
    write_tree(tree, "/")
    for entry in tree:
        if entry.kind in ("file", "directory", "symlink"):
            account = pwd.getpwnam(entry.owner)
            gid = grp.getgrnam(entry.group).gr_gid if entry.group else account.pw_gid
            os.lchown(entry.path, account.pw_uid, gid)


def rendered(sandbox, data):
    config, data_file = config_of(sandbox, data)
    return config, render(config), data_file


class FakeRunsv:
    """supervise/ as a runsv keeps it, without one: ``ok`` and ``control`` FIFOs whose reader is
    this process, and the status files naming a live pid (this process's)."""

    def __init__(self):
        self.readers = {}

    def serve(self, side, state=State.RUN, want="u"):
        supervise = Path(side) / "supervise"
        supervise.mkdir(exist_ok=True)
        for fifo in ("ok", "control"):
            if not (supervise / fifo).exists():
                os.mkfifo(str(supervise / fifo), 0o600)
        self.readers.setdefault(str(side), os.open(str(supervise / "ok"),
                                                   os.O_RDONLY | os.O_NONBLOCK))
        self.write(side, state, want)

    def write(self, side, state, want="u"):
        pid = os.getpid() if state != State.DOWN else 0
        record = Status(int(time.time()) - 5, 0, pid, False, want, False, State(state))
        supervise = Path(side) / "supervise"
        (supervise / "status").write_bytes(status_to_bytes(record))
        (supervise / "pid").write_text("%d\n" % pid if pid else "")
        (supervise / "stat").write_text(("down", "run", "finish")[state] + "\n")

    def stop_serving(self, side):
        fd = self.readers.pop(str(side), None)
        if fd is not None:
            os.close(fd)

    def close(self):
        for side in list(self.readers):
            self.stop_serving(side)


# -- drift: one kind per service, made by hand as an operator would ---------------------------
def drift_files(sandbox):
    """Every drift that is a change of files: a changed ``run``, a wrong mode, a wrong owner,
    a missing logger, an unwritable log directory, a stale absent service."""
    with open(str(sandbox / "sv" / "api" / "run"), "a") as handle:
        handle.write("# edited by hand\n")
    (sandbox / "sv" / "db" / "run").chmod(0o700)
    os.lchown(str(sandbox / "sv" / "cache" / "run"), pwd.getpwnam("nobody").pw_uid, -1)
    shutil.rmtree(str(sandbox / "sv" / "queue" / "log"))
    (sandbox / "log" / "mailer").chmod(0o500)
    old = sandbox / "sv" / "old"
    old.mkdir()
    (old / "run").write_text("#!/bin/sh\nexec sleep 1000\n")
    (old / "run").chmod(0o755)
    (sandbox / "service" / "old").symlink_to(old)


# check id -> what its first problem says (a path relative to the sandbox is prefixed with it)
DRIFT_FAILURES = {
    "web::running": "web: not running: down: {sandbox}/service/web: ",
    "api::files": "{sandbox}/sv/api/run: content differs from the data",
    "db::files": "{sandbox}/sv/db/run: mode 0700, want 0755",
    "cache::files": "{sandbox}/sv/cache/run: owned by nobody:root, want root:root",
    "queue::files": "{sandbox}/sv/queue/log: missing (ENOENT)",
    "queue::logger running": "queue/log: no logger ({sandbox}/service/queue/log is not a "
                             "directory on the host)",
    "mailer::files": "{sandbox}/log/mailer: mode 0500, want 0755",
    "mailer::log dir writable": "{sandbox}/log/mailer: not writable by nobody (uid 65534, "
                                "gids 65534): {sandbox}/log/mailer is 0500 nobody:nogroup",
    "old::absent": "{sandbox}/service/old: still there (ensure: absent)",
    "runsvdir-root::running": "runsvdir-root: not running: down: {sandbox}/service/"
                              "runsvdir-root: ",
    "runsvdir-root::runs as root": "runsvdir-root: not running, so not as root",
    "~root/app::supervised": "~root/app: not supervised: runsv not running (is runsvdir-root "
                             "running?)",
    "~root/app::running": "~root/app: not running: not supervised: runsv not running",
    "~root/app::logger running": "~root/app/log: not running: not supervised: runsv not "
                                 "running",
}


def failures(outcomes):
    """{check id: first line of its first problem} of every check that did not pass."""
    return {outcome.check.nodeid: (outcome.error or outcome.problems[0]).split("\n")[0]
            for outcome in outcomes if outcome.status not in ("passed", "skipped")}


def assert_drift_reported(outcomes, sandbox):
    found = failures(outcomes)
    assert sorted(found) == sorted(DRIFT_FAILURES), found
    for nodeid, start in DRIFT_FAILURES.items():
        assert found[nodeid].startswith(start.format(sandbox=sandbox)), (nodeid, found[nodeid])
