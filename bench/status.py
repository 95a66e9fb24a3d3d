#!/usr/bin/env python3
"""bench: ``runit-provision status`` of 200 services running under our runsvdir — the cost of
reading each side's account (``supervise/tally``, docs/failures.md) beside its status.

The services (``sleep``, each with the stock logger) are declared in a data file, applied, and
run by our runsvdir; then, median of ``--runs``:

a. ``runit-provision status --data F`` (the whole command) and ``status --fact``;
b. in process, ``health.status.service_statuses`` with the tally read and without it (what
   ``status`` did before the account existed): the ratio is the account's cost;
c. with ``--baseline DIR`` (a checkout of the code before the account, e.g. ``git worktree add
   DIR 5ec107e``): the whole ``status`` command of this checkout and of DIR, each run as
   ``python -S`` with its own source first on the path (the editable install's finder would
   otherwise pick this checkout for both). Budget (issue 18): ≤ 1.2× today's.

Usage: ``.venv/bin/python bench/status.py [--services N] [--runs N] [--baseline DIR]``
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = ROOT / ".venv" / "bin"

from runit_provision.apply.fsroot import FsRoot  # noqa: E402
from runit_provision.health.status import service_statuses  # noqa: E402
from runit_provision.health import status as status_module  # noqa: E402
from tests.pipeline import config_from_file  # noqa: E402


def timed(function, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bare_status(source, data):
    """``runit-provision status --data DATA`` with the package taken from ``source``."""
    site = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    code = ("import sys; sys.argv = ['runit-provision', 'status', '--data', %r]; "
            "from runit_provision.cli.main import main; sys.exit(main())" % str(data))
    subprocess.run([str(BIN / "python"), "-S", "-c", code], stdout=subprocess.DEVNULL,
                   env={"PYTHONPATH": "%s:%s" % (source, site), "PATH": "/usr/bin:/bin"})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", metavar="DIR")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-status-"))
    service_dir = scratch / "service"
    service_dir.mkdir()
    data = scratch / "data.yaml"
    data.write_text(yaml.safe_dump({"runit": {
        "runtime": "python", "init": "none", "sv_dir": str(scratch / "sv"),
        "service_dir": str(service_dir), "log_dir": str(scratch / "log"),
        "services": {"s%03d" % index: {"command": ["sleep", "100000"]}
                     for index in range(args.services)}}}))
    tree = subprocess.Popen([str(BIN / "runsvdir"), str(service_dir)], start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                            env={"PATH": "%s:/usr/bin:/bin" % BIN})
    cli = [str(BIN / "runit-provision")]
    try:
        subprocess.run(cli + ["apply", "--data", str(data), "--wait", "60", "--profile-d",
                              "none"], check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while subprocess.run(cli + ["status", "--data", str(data)],
                             stdout=subprocess.DEVNULL).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("the services did not come up")
            time.sleep(0.2)
        whole = timed(lambda: subprocess.run(cli + ["status", "--data", str(data)],
                                             stdout=subprocess.DEVNULL), args.runs)
        fact = timed(lambda: subprocess.run(cli + ["status", "--data", str(data), "--fact"],
                                            stdout=subprocess.DEVNULL), args.runs)
        compared = None
        if args.baseline:
            compared = [timed(lambda source=source: bare_status(source, data), args.runs)
                        for source in (ROOT, Path(args.baseline))]
        config = config_from_file(data)
        with FsRoot("/") as fs:
            now = int(time.time())
            with_tally = timed(lambda: service_statuses(config, fs, now), args.runs)
            probe = status_module.probe_side
            without = timed(lambda: service_statuses(config, fs, now,
                                                     probe=lambda path: probe(fs, path)),
                            args.runs)
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.readlink("/proc/%s/cwd" % entry).startswith(str(scratch)):
                        os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
    print("# status bench: %d services under our runsvdir, medians of %d" % (args.services,
                                                                             args.runs))
    print("| figure | with the account | without | ratio | budget |")
    print("|---|---|---|---|---|")
    print("| service_statuses, in process | %.1f ms | %.1f ms | %.2fx | <= 1.2x |" % (
        with_tally * 1e3, without * 1e3, with_tally / without))
    print("| runit-provision status (whole command) | %.3f s | | | |" % whole)
    print("| runit-provision status --fact | %.3f s | | | |" % fact)
    if compared:
        print("| status, whole command, python -S | %.3f s | %.3f s (%s) | %.2fx | <= 1.2x |"
              % (compared[0], compared[1], args.baseline, compared[0] / compared[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
