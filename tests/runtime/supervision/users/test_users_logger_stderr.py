"""A logger root's data runs as a user that cannot write its log directory: root's stderr hears
of it once (runtime/supervision/loggers/othersoutput.py), and status goes on telling it.

Real processes: our runsvdir as root, ``runsvdir-nobody`` whose output's logger is written to
run as nobody into ``~/logs/runsvdir`` (``chpst -u nobody svlogd``: a logger host of that
identity) and finds that directory root's, 0700 — it fails at every restart, once a second.
Seconds: until the log side counts as crash-looping.
"""

import os
import subprocess
import time

import pytest

from runit_provision.health.verdict import verdict_of
from runit_provision.host.fsread import FsReader
from runit_provision.host.sides import read_side

from ...processes import wait_until
from .test_user_tree import user_tree  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="a tree run by root")]


def verdict(outer):
    with FsReader("/") as fs:
        now = int(time.time())
        return verdict_of(True, read_side(fs, str(outer), now),
                          read_side(fs, str(outer / "log"), now)).word


def said(proc):
    """What root's tree has written to its stdout and stderr so far."""
    os.set_blocking(proc.stdout.fileno(), False)
    try:
        return (proc.stdout.read() or b"").decode("utf-8", "replace")
    except BlockingIOError:
        return ""


def test_a_users_failing_logger_is_said_once_and_status_tells_it(user_tree):  # noqa: F811
    user_tree.build(log_as="nobody")
    subprocess.run(["chown", "root:root", str(user_tree.output_log)], check=True)
    user_tree.output_log.chmod(0o700)
    root = user_tree.start()
    user_tree.tree_pid()
    wait_until(lambda: "its logger is crash-looping" in verdict(user_tree.outer), timeout=30,
               what="the tree's logger crash-looping")  # five failed starts, a second apart
    time.sleep(1.5)  # one more
    out = said(root)
    assert out.count("svlogd: warning: unable to open log directory: %s: access denied"
                     % user_tree.output_log) == 1, out
    assert out.count("svlogd: fatal: no functional log directories.") == 1, out
    # the directory made the user's: the logger runs, and the tree's output kept in its pipe
    # meanwhile is logged
    subprocess.run(["chown", "nobody", str(user_tree.output_log)], check=True)
    wait_until(lambda: (user_tree.output_log / "current").exists()
               and "noisy starts" in (user_tree.output_log / "current").read_text(),
               timeout=30, what="the tree's output logged")
    assert "svlogd" not in said(root)
