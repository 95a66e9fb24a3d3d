#!/usr/bin/env python3
"""bench: ``runit-provision import sv/*`` of a distribution's whole set in Void Linux's shapes
(budget ≤ 1 s), ``plan`` on that host right after (budget: no change), and the shapes found.

The host is written as Void's packages install their service directories (``/etc/sv/NAME``),
in the proportions issue 32 counted in void-packages' 531: 222 ``run`` scripts that source
``conf`` (with a ``conf``), 31 instances whose ``run`` is a link to a generic service's, 40
with hand-written ``sv check`` guards, ``vlogger`` loggers (``exec vlogger -t NAME -p
daemon``) on a third, ``supervise`` links into ``/run/runit``, the rest plain ``exec`` runs.
Then ``import --root ROOT sv/*`` from ``ROOT/etc`` — relative paths, the whole command,
interpreter start-up included, median of ``--runs`` — and ``plan`` with the imported data
(plus ``init: none``, ``runtime: system``), which must exit 0. On ``/dev/shm`` unless
``--dir`` says otherwise.

With ``--corpus DIR`` (``$VOID_SV_CORPUS``: 290 directories Void's packages ship, read in
place, never copied) the directories are the corpus's own: ``import NAME/*`` from the
directory that holds it (``--service-dir`` an empty one: nothing of it is linked), the
changes ``plan`` would make that import names counted, then the data applied to a scratch
root whose second ``plan`` must exit 0.

Usage: ``.venv/bin/python bench/void_import.py [--services 531 | --corpus DIR] [--runs 5]
[--json FILE]``
"""

import argparse
import json
import os
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


def write(path, text, mode):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def service(sv, index):
    """One service directory, its shape chosen by ``index``; its name."""
    name = "svc%03d" % index
    base = sv / name
    if index < 31:  # an instance of a generic service
        generic = "generic%d" % (index % 3)
        if not (sv / generic).exists():
            write(sv / generic / "run", "#!/bin/sh\nexec 2>&1\nd=${PWD##*-}\n[ -r conf ] && "
                                        ". ./conf\nexec /usr/lib/%s/${d} $OPTS\n" % generic,
                  0o755)
        base.mkdir()
        os.symlink("../%s/run" % generic, str(base / "run"))
        write(base / "conf", "OPTS=\"-i %d\"\n" % index, 0o644)
    elif index < 31 + 222:  # run sources conf
        write(base / "run", "#!/bin/sh\n[ -r conf ] && . ./conf\nexec %s ${OPTS} 2>&1\n"
                            % name, 0o755)
        write(base / "conf", "# options for %s\nOPTS=\"--foreground\"\n" % name, 0o644)
    elif index < 31 + 222 + 40:  # a hand-written guard
        write(base / "run", "#!/bin/sh\nsv check dbus >/dev/null || exit 1\nexec %s -n\n"
                            % name, 0o755)
    else:
        write(base / "run", "#!/bin/sh\nexec %s -f 2>&1\n" % name, 0o755)
    if index % 3 == 0:
        write(base / "log" / "run", "#!/bin/sh\nexec vlogger -t %s -p daemon\n" % name, 0o755)
    os.symlink("/run/runit/supervise.%s" % name, str(base / "supervise"))
    return name


def build(directory, count):
    root = directory / "root"
    (root / "etc" / "service").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    sv = root / "etc" / "sv"
    sv.mkdir()
    for index in range(count):
        service(sv, index)
    return root


def shapes(services):
    count = lambda test: sum(1 for data in services.values() if test(data))  # noqa: E731
    return {
        "services": len(services),
        "command (read into keys)": count(lambda d: "command" in d),
        "run kept as written": count(lambda d: "run" in d),
        "run a link": count(lambda d: "run" in d.get("links", {})),
        "conf carried": count(lambda d: "conf" in d),
        "log/run kept as written (vlogger)": count(
            lambda d: isinstance(d.get("log"), dict) and "vlogger" in d["log"].get("run", "")),
    }


def timed(argv, cwd):
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd)
    return time.perf_counter() - started, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--services", type=int, default=531)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", default="/dev/shm")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--corpus", metavar="DIR", help="a directory of service directories "
                        "(Void's: $VOID_SV_CORPUS), imported in place")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="bench-void-import-", dir=args.dir))
    if args.corpus:
        try:
            result = corpus(Path(os.path.realpath(args.corpus)), directory, args.runs)
        finally:
            shutil.rmtree(str(directory), ignore_errors=True)
        return report(result, args.json)
    try:
        root = build(directory, args.services)
        out = directory / "imported.yaml"
        names = sorted(os.listdir(str(root / "etc" / "sv")))
        argv = [TOOL, "import", "--root", str(root)] + ["sv/" + n for n in names] + [
            "--out", str(out)]
        times = []
        for _ in range(args.runs):
            seconds, done = timed(argv, str(root / "etc"))
            if done.returncode not in (0, 2):
                raise SystemExit("import failed (%d): %s" % (done.returncode, done.stderr))
            times.append(seconds)
        imported = yaml.safe_load(out.read_text())
        found = shapes(imported["runit"]["services"])
        imported["runit"].update({"init": "none", "runtime": "system"})
        merged = directory / "merged.yaml"
        merged.write_text(yaml.safe_dump(imported))
        plan_seconds, plan = timed([TOOL, "plan", "--data", str(merged), "--root", str(root),
                                    "--profile-d", "none"], None)
        result = {"directories": len(names), "import_exit": done.returncode,
                  "import_seconds_median": round(statistics.median(times), 3),
                  "import_seconds_all": [round(t, 3) for t in times],
                  "budget_seconds": BUDGET_SECONDS, "shapes": found,
                  "plan_exit": plan.returncode, "plan_seconds": round(plan_seconds, 3),
                  "plan_last_line": plan.stdout.strip().splitlines()[-1:]}
    finally:
        shutil.rmtree(str(directory), ignore_errors=True)
    return report(result, args.json)


def report(result, json_file):
    text = json.dumps(result, indent=1)
    print(text)
    if json_file:
        Path(json_file).write_text(text + "\n")
    ok = result["import_seconds_median"] <= BUDGET_SECONDS and result["plan_exit"] == 0
    return 0 if ok else 1


def corpus(source, directory, runs):
    """The corpus at ``source`` imported in place (relative paths from its parent), then
    applied to a scratch root with the accounts its services run as, and planned again."""
    names = sorted(name for name in os.listdir(str(source))
                   if os.path.lexists(str(source / name / "run")))
    (directory / "service").mkdir()
    out = directory / "imported.yaml"
    argv = [TOOL, "import"] + ["%s/%s" % (source.name, n) for n in names] + [
        "--service-dir", str(directory / "service"), "--out", str(out)]
    times = []
    for _ in range(runs):
        seconds, done = timed(argv, str(source.parent))
        if done.returncode not in (0, 2):
            raise SystemExit("import failed (%d): %s" % (done.returncode, done.stderr))
        times.append(seconds)
    said = [line for line in done.stderr.splitlines() if ": plan would change: " in line]
    imported = yaml.safe_load(out.read_text())
    services = imported["runit"]["services"]
    accounts = sorted({data[key] for data in services.values() for key in ("user", "group")
                       if key in data} - {"root"})
    root = directory / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n" + "".join(
        "%s:x:%d:%d::/:/bin/false\n" % (name, 2000 + i, 2000 + i)
        for i, name in enumerate(accounts)))
    (root / "etc" / "group").write_text("root:x:0:\n" + "".join(
        "%s:x:%d:\n" % (name, 2000 + i) for i, name in enumerate(accounts)))
    imported["runit"].update({"init": "none", "runtime": "system"})
    merged = directory / "merged.yaml"
    merged.write_text(yaml.safe_dump(imported))
    common = ["--data", str(merged), "--root", str(root), "--profile-d", "none"]
    apply_seconds, applied = timed([TOOL, "apply"] + common, None)
    plan_seconds, plan = timed([TOOL, "plan"] + common, None)
    return {"corpus": str(source), "directories": len(names), "import_exit": done.returncode,
            "import_seconds_median": round(statistics.median(times), 3),
            "import_seconds_all": [round(t, 3) for t in times],
            "budget_seconds": BUDGET_SECONDS, "shapes": shapes(services),
            "plan_would_change_said": len(said), "apply_exit": applied.returncode,
            "apply_seconds": round(apply_seconds, 3), "plan_exit": plan.returncode,
            "plan_seconds": round(plan_seconds, 3),
            "plan_last_line": plan.stdout.strip().splitlines()[-1:]}


if __name__ == "__main__":
    sys.exit(main())
