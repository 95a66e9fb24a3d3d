#!/usr/bin/env python3
"""bench: ``runit-provision import`` of 200 service directories (budget ≤ 1 s), and ``plan``
right after it (budget: no change).

The host is a scratch root applied by ``runit-provision apply --root`` from data with every
kind of service the importer reads back: ``command`` with user, env, nice, limits, cwd and
needs; a ``run`` script; ``finish`` and ``control``; a canonical logger with svlogd settings;
one kept as written (``log: {run: …}``); ``down``. Then ``import`` of its ``/etc/sv`` — the
whole command, interpreter start-up included, median of ``--runs`` — and ``plan`` with the
imported data (plus the scratch root's ``init: none``, ``runtime: system``), which must exit
0. Needs root (owners are set). On ``/dev/shm`` unless ``--dir`` says otherwise.

Usage: ``.venv/bin/python bench/import.py [--services 200] [--runs 5] [--json FILE]``
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BUDGET_SECONDS = 1.0
TOOL = str(Path(sys.executable).parent / "runit-provision")
PASSWD = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33::/var/www:/bin/false\n"
GROUP = "root:x:0:\nwww-data:x:33:\nadm:x:4:\n"


def service(index):
    kind = index % 5
    if kind == 0:
        return {"command": "/usr/local/bin/app%d --port %d" % (index, 8000 + index),
                "user": "www-data", "env": {"PORT": str(8000 + index), "MODE": "prod"},
                "nice": 5, "limits": {"nofile": 4096}, "needs": ["s000"] if index else [],
                "log": {"size": 1000000, "num": 10, "timestamps": "iso"}}
    if kind == 1:
        return {"run": "#!/bin/bash\nset -e\nexec /usr/bin/worker --queue q%d\n" % index,
                "finish": "#!/bin/sh\nsleep 1\n"}
    if kind == 2:
        return {"command": ["/usr/bin/daemon", "-f", "/etc/d%d.conf" % index],
                "cwd": "/srv/d%d" % index, "control": {"h": "exec sv hup ."},
                "log": {"run": "#!/bin/sh\nexec svlogd -tt ./main\n"}}
    if kind == 3:
        return {"command": "/bin/sleep 1000", "down": True, "log": False}
    return {"command": "/usr/bin/server%d" % index, "umask": "027",
            "log": {"user": "www-data:adm", "prefix": "s%d: " % index}}


def build(directory, count):
    root = directory / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    data = {"runit::init": "none", "runit::runtime": "system",
            "runit::services": {"s%03d" % n: service(n) for n in range(count)}}
    path = directory / "data.yaml"
    path.write_text(yaml.safe_dump(data))
    done = subprocess.run([TOOL, "apply", "--data", str(path), "--root", str(root),
                           "--profile-d", "none"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("apply failed: %s" % done.stderr)
    return root


def timed(argv):
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    return time.perf_counter() - started, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-import-", dir=args.dir))
    try:
        root = build(directory, args.services)
        out = directory / "imported.yaml"
        argv = [TOOL, "import", "--root", str(root), "/etc/sv", "--out", str(out)]
        times = []
        for _ in range(args.runs):
            seconds, done = timed(argv)
            if done.returncode not in (0, 2):
                raise SystemExit("import failed: %s" % done.stderr)
            times.append(seconds)
        imported = yaml.safe_load(out.read_text())
        imported["runit"].update({"init": "none", "runtime": "system"})
        merged = directory / "merged.yaml"
        merged.write_text(yaml.safe_dump(imported))
        plan_seconds, plan = timed([TOOL, "plan", "--data", str(merged), "--root", str(root),
                                    "--profile-d", "none"])
        result = {"services": args.services, "import_exit": done.returncode,
                  "import_seconds_median": round(statistics.median(times), 3),
                  "import_seconds_all": [round(t, 3) for t in times],
                  "budget_seconds": BUDGET_SECONDS,
                  "plan_exit": plan.returncode, "plan_seconds": round(plan_seconds, 3),
                  "plan_last_line": plan.stdout.strip().splitlines()[-1:]}
    finally:
        shutil.rmtree(str(directory), ignore_errors=True)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    ok = result["import_seconds_median"] <= BUDGET_SECONDS and result["plan_exit"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
