"""A full disk mid-apply: every file is wholly old or wholly new, no temp file is left, the
message says so, and the next apply (space freed) finishes the job. Real: the root is a 4 MiB
tmpfs in a private mount namespace (``unshare --mount``, root only), filled up to a few pages
before an apply that writes much more."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs: needs root")]

SCRIPT = Path(__file__).with_name("full_disk.py")


def services(value, count):
    return "runit::init: none\nrunit::services:\n" + "".join(
        "  s%02d: {command: /usr/bin/%s, env: {BIG: '%s'}}\n" % (index, value, value * 2000)
        for index in range(count)) + "  web: {command: /usr/bin/%s}\n" % value


def test_a_full_disk_leaves_old_files_and_the_next_apply_finishes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(services("old", 3))
    new.write_text(services("new", 40))
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                           str(SCRIPT), str(root), str(old), str(new)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["first"] == [0, ""]
    code, message = report["full"]
    assert code == 1 and "No space left on device" in message, message
    assert report["half_written"] == [] and report["temp_files"] == [] and report["kept"]
    assert report["again"] == [0, ""]
    assert report["new_run"].endswith("exec /usr/bin/new\n")
