"""Shared by the checks tests: a sandbox other users can reach, the data of a small host put on
disk by ``runit-provision apply`` (what verify checks is what apply made), and supervision
faked in-process for the pure tier.

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
from runit_provision.cli.main import main
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
    """One service per kind of drift the tests make (web with an env), a down one without a
    logger, a disabled one, an absent one, a logger running as nobody, and root's own tree
    (root: the venv and the sandbox are not reachable for nobody's tree; see
    tests/runtime/test_rendered_tree.py)."""
    services = {name: {"command": SLEEP} for name in ("web", "api", "db", "cache", "queue")}
    services["web"]["env"] = {"GREETING": "hi"}
    services.update({
        "mailer": {"command": SLEEP, "log": {"user": "nobody"}},
        "worker": {"command": SLEEP, "down": True, "log": False},
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


def apply_data(data_file, sandbox, staged=False):
    """``runit-provision apply`` of the data, its profile snippet kept in the sandbox; the
    users' homes made first (apply never creates homes). ``staged``: ``--root /`` — written
    in place, nothing waited for or started (no runsvdir runs in the pure tier)."""
    (sandbox / "home").mkdir(exist_ok=True)
    argv = ["apply", "--data", str(data_file), "--profile-d", str(sandbox / "profile.d")]
    code = main(argv + (["--root", "/"] if staged else []))
    assert code == 0, "apply failed (exit %s)" % code


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


def plant_strays(sandbox):
    """Files runsv (or chpst -e) would act on that the data does not declare, and a group the
    data leaves to the applier changed by hand — what verify flags and apply puts back."""
    for path, text in (("sv/web/down", ""), ("sv/web/finish", "#!/bin/sh\n"),
                       ("sv/web/env/EXTRA", "1\n"), ("sv/api/check", "#!/bin/sh\n"),
                       ("sv/db/control/t", "#!/bin/sh\n"), ("sv/worker/log/run", "#!/bin/sh\n"),
                       ("home/sv/app/finish", "#!/bin/sh\n")):
        target = sandbox / path
        target.parent.mkdir(exist_ok=True)
        target.write_text(text)
        target.chmod(0o755)
    for path in NEITHERS:
        target = sandbox / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("an admin's\n")
    os.lchown(str(sandbox / "sv" / "cache" / "run"), -1, grp.getgrnam("nogroup").gr_gid)
    # log: {user: nobody} leaves the group open: the owner's primary group, for both
    os.lchown(str(sandbox / "log" / "mailer" / "config"), -1, 0)


# What runsv never acts on: neither flagged by verify nor purged by apply.
NEITHERS = ("sv/api/notes", "sv/api/log/log/run", "sv/api/log/notes")


# check id -> every problem it reports (a path relative to the sandbox is prefixed with it)
STRAY_FAILURES = {
    "web::files": ["{sandbox}/sv/web/down: not in the data (the service is normally down)",
                   "{sandbox}/sv/web/env/EXTRA: not in the data (chpst -e sets it)",
                   "{sandbox}/sv/web/finish: not in the data (runsv runs it)"],
    "api::files": ["{sandbox}/sv/api/check: not in the data (runsv runs it)"],
    "db::files": ["{sandbox}/sv/db/control: not in the data (runsv runs it)"],
    "cache::files": ["{sandbox}/sv/cache/run: owned by root:nogroup, want root:root"],
    "worker::files": ["{sandbox}/sv/worker/log: not in the data (runsv starts a logger "
                      "from it)"],
    "mailer::files": ["{sandbox}/log/mailer/config: owned by nobody:root, want nobody:(gid "
                      "65534, nobody's group)"],
    "root/app::files": ["{sandbox}/home/sv/app/finish: not in the data (runsv runs it)"],
}


def assert_strays_reported(outcomes, sandbox):
    found = {outcome.check.nodeid: sorted(outcome.problems) for outcome in outcomes
             if outcome.status not in ("passed", "skipped")}
    assert found == {nodeid: sorted(problem.format(sandbox=sandbox) for problem in problems)
                     for nodeid, problems in STRAY_FAILURES.items()}, found


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
    "root/app::supervised": "root/app: not supervised: runsv not running (is runsvdir-root "
                            "running?)",
    "root/app::running": "root/app: not running: not supervised: runsv not running",
    "root/app::logger running": "root/app/log: not running: not supervised: runsv not "
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
