"""bench: how fast ``sv status`` starts, against its budget of 2x a bare interpreter
(docs/design.md).

Measures, side by side in one run, ``sv status`` of one running service (supervised by the C
runsv in a scratch SVDIR) for:

* the C sv (``/usr/bin/sv``),
* our sv through the launcher ``runit-provision install-runtime`` installs (``#!PYTHON -SI``,
  the runtime's own byte-compiled copy; installed here under a scratch prefix, nothing else
  of the host touched) — the figure the budget is about,
* our sv through the installed console script (``.venv/bin/sv``: pip's wrapper, ``site``),
* our sv started directly: ``python -S -I LAUNCHER …``, where LAUNCHER is a four-line script
  (written to the scratch directory) that puts the checkout on ``sys.path`` and calls ``main``
  — what a console-script wrapper without ``site`` would cost,
* our sv through ``python -S -E -s -m runit_provision.runtime.sv`` (``-I`` would hide the
  checkout from ``-m``),
* ``python -S -I -c pass`` and ``python -I -c pass`` of the same interpreter (the anchors).

Runs are interleaved round-robin so that load on the machine hits every variant alike; the
table shows medians, p90 and the ratio of each median to the bare interpreter's. Bytecode is
written on a warm-up round (the environment's PYTHONDONTWRITEBYTECODE is dropped for the
children), as an installed package would have it.

Usage: ``.venv/bin/python bench/sv_startup.py [--runs N] [--json FILE]``
"""

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 2.0
INSTALLED = "our sv: installed launcher (-S -I)"
C_SV = "/usr/bin/sv"
C_RUNSV = "/usr/bin/runsv"


def interpreter():
    """The interpreter behind the venv (the same binary the console script uses)."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    return str(venv_python if venv_python.exists() else Path(sys.executable))


LAUNCHER = """import sys
sys.path.insert(0, %r)
from runit_provision.runtime.sv import main
sys.exit(main(["sv"] + sys.argv[1:]))
"""


def install_runtime(scratch):
    """Our runtime installed under ``scratch`` (prefix, bin, sbin; no init, no /usr/bin/sv):
    the path of its ``sv`` launcher and the interpreter the launchers start."""
    sys.path.insert(0, str(ROOT))
    from runit_provision.cli.main import main as provision
    argv = ["install-runtime", "--root", "/", "--prefix", str(scratch / "prefix"),
            "--bin-dir", str(scratch / "bin"), "--sbin-dir", str(scratch / "sbin"),
            "--init", "none", "--no-sv-link", "--json"]
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            code = provision(argv)
        finally:
            sys.stdout = stdout
    if code != 0:
        raise SystemExit("install-runtime failed (%d)" % code)
    launcher = scratch / "bin" / "sv"
    return str(launcher), launcher.read_text().splitlines()[0][2:].split()[0]


def variants(python, service, launcher, installed, installed_python):
    table = [
        ("python -S -I -c pass", [python, "-S", "-I", "-c", "pass"]),
        ("python -I -c pass (with site)", [python, "-I", "-c", "pass"]),
        ("launchers' python -S -I -c pass", [installed_python, "-S", "-I", "-c", "pass"]),
        ("C sv status", [C_SV, "status", service]),
        (INSTALLED, [installed, "status", service]),
        ("our sv: .venv/bin/sv (console script)", [str(ROOT / ".venv" / "bin" / "sv"),
                                                  "status", service]),
        ("our sv: python -S -I launcher", [python, "-S", "-I", launcher, "status", service]),
        ("our sv: python -S -E -s -m", [python, "-S", "-E", "-s", "-m",
                                        "runit_provision.runtime.sv", "status", service]),
    ]
    return [(name, argv) for name, argv in table if os.path.exists(argv[0])]


def start_service(svdir):
    service = svdir / "bench"
    service.mkdir(parents=True)
    run = service / "run"
    run.write_text("#!/bin/sh\nexec sleep 100000\n")
    run.chmod(0o755)
    runsv = C_RUNSV if os.access(C_RUNSV, os.X_OK) else str(ROOT / ".venv" / "bin" / "runsv")
    proc = subprocess.Popen([runsv, str(service)], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    stat = service / "supervise" / "stat"
    while time.monotonic() < deadline:
        if stat.exists() and stat.read_text() == "run\n":
            return proc, runsv
        time.sleep(0.01)
    stop_service(proc)
    raise SystemExit("runsv did not start the bench service")


def stop_service(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # runsv and its service share the session
    except ProcessLookupError:
        pass
    proc.wait()


def measure(table, env, cwd, runs):
    samples = {name: [] for name, _ in table}
    for name, argv in table:  # warm-up: bytecode written, page cache warm, output checked
        result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        if "-c pass" in name:
            continue
        if result.returncode != 0 or not result.stdout.startswith("run: "):
            raise SystemExit("%s failed: rc=%d %r %r"
                             % (name, result.returncode, result.stdout, result.stderr))
    for _ in range(runs):
        for name, argv in table:
            started = time.perf_counter()
            subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            samples[name].append(time.perf_counter() - started)
    return samples


def p90(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def report(samples, python):
    """The table; each ratio is against the bare start of the interpreter that variant runs
    (the installed launcher's against its own python's, which may be the system's)."""
    bare = statistics.median(samples["python -S -I -c pass"])
    own_bare = statistics.median(samples["launchers' python -S -I -c pass"])
    rows = []
    for name, values in samples.items():
        median = statistics.median(values)
        anchor = own_bare if name == INSTALLED else bare
        rows.append({"variant": name, "median_ms": median * 1000, "p90_ms": p90(values) * 1000,
                     "ratio_vs_bare": median / anchor})
    print("interpreter: %s (%s)" % (python, sys.version.split()[0]))
    print("%-40s %10s %10s %8s" % ("variant", "median ms", "p90 ms", "x bare"))
    for row in rows:
        mark = ""
        if row["variant"] == INSTALLED:
            mark = "  ok" if row["ratio_vs_bare"] <= BUDGET else "  OVER BUDGET (%.1fx)" % BUDGET
        print("%-40s %10.2f %10.2f %8.2f%s" % (row["variant"], row["median_ms"], row["p90_ms"],
                                               row["ratio_vs_bare"], mark))
    return rows


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    runs = 100
    out = None
    while argv:
        flag = argv.pop(0)
        if flag == "--runs":
            runs = int(argv.pop(0))
        elif flag == "--json":
            out = argv.pop(0)
        else:
            raise SystemExit(__doc__.strip().splitlines()[-1])
    python = interpreter()
    scratch = Path(tempfile.mkdtemp(prefix="sv-startup."))
    proc = None
    try:
        svdir = scratch / "service"
        proc, runsv = start_service(svdir)
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONSTARTUP")}
        env["SVDIR"] = str(svdir)
        launcher = scratch / "sv-launcher.py"
        launcher.write_text(LAUNCHER % str(ROOT))
        installed, installed_python = install_runtime(scratch)
        print("installed launcher: %s (%s -SI)" % (installed, installed_python))
        table = variants(python, "bench", str(launcher), installed, installed_python)
        samples = measure(table, env, str(ROOT), runs)
        print("runs per variant: %d; service supervised by %s" % (runs, runsv))
        rows = report(samples, python)
        if out:
            Path(out).write_text(json.dumps({"runs": runs, "python": python, "rows": rows},
                                            indent=2) + "\n")
    finally:
        if proc is not None:
            stop_service(proc)
        shutil.rmtree(str(scratch), ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
