"""cli: ``runit-provision demo`` — the runtime supervising an example service in a sandbox.

Everything happens under a fresh temporary directory used as SVDIR; every process started is
ended before returning. Until the generator lands (hiera → service directories), the example
service directory is written here; later the demo renders it from ``hiera-examples/``.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RUN = """#!/bin/sh
# A service that says hello every 0.2 s; its stdout goes to the log service.
exec 2>&1
n=0
while :; do n=$((n+1)); echo "hello $n"; sleep 0.2; done
"""
LOG_RUN = """#!/bin/sh
# A minimal logger: prefix and append every line (svlogd arrives with the svlogd issue).
while IFS= read -r line; do printf 'demo: %s\\n' "$line"; done >> current
"""


def _write(path, text, mode=0o755):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def _tool(name):
    return [sys.executable, "-m", "runit_provision.runtime." + name]


def _sv(svdir, *args):
    env = dict(os.environ, SVDIR=svdir)
    result = subprocess.run(_tool("sv") + list(args), env=env, capture_output=True, text=True)
    print("$ sv %s\n%s" % (" ".join(args), result.stdout + result.stderr), end="", flush=True)
    return result.returncode


def _wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def add_parser(sub):
    parser = sub.add_parser("demo", help="supervise the bundled example service in a sandbox")
    parser.add_argument("--keep", action="store_true", help="leave the sandbox directory behind")
    return parser


def run(args):
    return run_demo(keep=args.keep)


def run_demo(keep=False):
    sandbox = tempfile.mkdtemp(prefix="runit-provision-demo.")
    svdir = os.path.join(sandbox, "service")
    service = os.path.join(svdir, "hello")
    os.makedirs(os.path.join(service, "log"))
    _write(os.path.join(service, "run"), RUN)
    _write(os.path.join(service, "log", "run"), LOG_RUN)
    print("sandbox: %s" % sandbox)
    runsv = subprocess.Popen(_tool("runsv") + [service], start_new_session=True)
    try:
        ok_fifo = os.path.join(service, "supervise", "ok")
        if not _wait_for(lambda: os.path.exists(ok_fifo), 10):
            print("runsv did not come up", file=sys.stderr)
            return 1
        _sv(svdir, "-w", "5", "start", "hello")
        _sv(svdir, "status", "hello")
        _sv(svdir, "-w", "5", "restart", "hello")
        _sv(svdir, "-w", "5", "down", "hello")
        _sv(svdir, "status", "hello")
        _sv(svdir, "-w", "5", "up", "hello")
        current = os.path.join(service, "log", "current")
        _wait_for(lambda: os.path.exists(current) and os.path.getsize(current) > 0, 5)
        with open(current) as handle:
            lines = handle.read().splitlines()
        print("log/current: %d lines, last: %s" % (len(lines), lines[-1] if lines else "-"))
        rc = _sv(svdir, "-w", "10", "exit", "hello")
        runsv.wait(timeout=15)
        print("runsv exited %d" % runsv.returncode)
        return rc
    finally:
        if runsv.poll() is None:
            os.killpg(runsv.pid, signal.SIGKILL)
            runsv.wait()
        if not keep:
            shutil.rmtree(sandbox, ignore_errors=True)
