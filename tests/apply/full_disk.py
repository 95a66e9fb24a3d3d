"""Run inside a private mount namespace by test_full_disk.py: ROOT becomes a small tmpfs, the
disk is filled up, and apply is run into it (see that test's docstring). Prints one JSON line.

Usage: full_disk.py ROOT OLD_DATA NEW_DATA
"""

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

from runit_provision.cli.main import main


def snapshot(base):
    found = {}
    for directory, names, files in os.walk(base):
        for name in names + files:
            path = os.path.join(directory, name)
            key = os.path.relpath(path, base)
            if os.path.islink(path):
                found[key] = "-> " + os.readlink(path)
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    found[key] = handle.read().decode("utf-8", "replace")
    return found


def apply(root, data):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["apply", "--data", data, "--root", root])
    return code, err.getvalue()


def main_script(root, old, new):
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", root], check=True)
    os.makedirs(os.path.join(root, "etc"))
    report = {"first": apply(root, old)}
    before = snapshot(root)
    filler = os.path.join(root, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)  # fill the disk but a few pages
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    os.close(fd)
    os.truncate(filler, os.path.getsize(filler) - 3 * 4096)
    report["full"] = apply(root, new)
    after = snapshot(root)
    report["half_written"] = [key for key, value in after.items()
                              if key != "filler" and before.get(key, value) != value]
    report["temp_files"] = [key for key in after if key.endswith(".runit-provision.tmp")]
    report["kept"] = all(key in after for key in before)
    os.unlink(filler)
    report["again"] = apply(root, new)
    report["new_run"] = snapshot(root).get("etc/sv/web/run", "")
    subprocess.run(["umount", root], check=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main_script(*sys.argv[1:4])
