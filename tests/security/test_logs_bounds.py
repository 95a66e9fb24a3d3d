"""What a user plants in their own log directory cannot make root's ``logs`` or ``status`` hang
or grow (N12 of docs/security.md; docs/logs.md#bounds).

``apprun1`` stops its own service web1 (so that nothing writes after the plant) and plants, in
``~/logs/web1``:

- a rotated file ``@400000006500000000000000.s``: 100 MB of zeros — no newline — gzip'd to
  ~97 KB (and ``current`` emptied, so that a tail reaches it);
- ``truncate -s 8G current``: 8 GiB of hole after web1's lines, no newline, no disk used.

Root then runs the real ``runit-provision logs`` (every declared service, merged), ``logs -n
5``, ``logs -f`` (followed for a few seconds, then interrupted as Ctrl-C does) and ``status
--logs 5`` (web1 is down as its owner wants: plain ``status`` shows no lines under it) in the
namespace (``sandbox.py``), each in a child of a small Python wrapper that reports its
exit, output, wall time, CPU time and peak RSS (``RUSAGE_CHILDREN``: the command is the
wrapper's only child) and caps its address space, so that a regression fails here with a
MemoryError instead of taking the machine's memory.

Each command's CPU time (under ``MAX_CPU``: work, which waiting for a core does not inflate),
wall time (``MAX_SECONDS``) and peak RSS (``MAX_RSS_MB``) are bounded here, in the slow tier:
they are the N12 property itself — a user's plant cannot make root's views hang or grow — with
a margin many times what the bounded code takes and far from the unbounded code, which read
the plants without end. What each takes is history (the CHANGELOG), not a claim of this test.
"""

import json
import sys
import textwrap

import pytest

from ..conftest import OUR_BIN
from ..runtime.processes import wait_until

pytestmark = pytest.mark.slow

MAX_CPU = 1.0
MAX_SECONDS = 3.0
MAX_RSS_MB = 64
FOLLOW_WINDOW = 3.0  # -f is watched this long, then interrupted
KILL_AFTER = 30  # a command still running then is killed: the code before, stuck
ADDRESS_SPACE_CAP = 2 << 30
CUT_MARK = "...[cut: longer than 65536 bytes]"
BOMB = "@400000006500000000000000.s"

_WRAPPER = textwrap.dedent("""\
    import json, resource, signal, subprocess, sys, tempfile, time
    resource.setrlimit(resource.RLIMIT_AS, (%(cap)d, %(cap)d))
    follow, argv = sys.argv[1] == "follow", sys.argv[2:]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        ready = None
        if follow:  # watched for the window: when does it say something on stderr?
            while time.monotonic() - started < %(window)f and child.poll() is None:
                if ready is None and err.tell():
                    ready = time.monotonic() - started
                time.sleep(0.02)
            child.send_signal(signal.SIGINT)
        try:
            rc = child.wait(%(kill)d)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            rc = "killed after %(kill)d s"
        seconds = time.monotonic() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    print(json.dumps({
        "rc": rc, "seconds": round(seconds, 3), "ready": ready,
        "cpu": round(usage.ru_utime + usage.ru_stime, 3),
        "rss_mb": round(usage.ru_maxrss / 1024, 1), "stdout_bytes": len(stdout),
        "marks": stdout.count(%(mark)r.encode()),
        "web1_lines": [line[-120:].decode("utf-8", "replace")
                       for line in stdout.splitlines() if b"apprun1 line" in line][-3:],
        "bounds": [line[-400:].decode("utf-8", "replace")
                   for line in (stdout + stderr).splitlines() if b"the bound" in line],
        "stderr": stderr.decode("utf-8", "replace")[-2000:]}))
    """) % {"cap": ADDRESS_SPACE_CAP, "window": FOLLOW_WINDOW, "kill": KILL_AFTER,
            "mark": CUT_MARK}

COMMANDS = {
    "logs": ["logs"],
    "logs -n 5": ["logs", "-n", "5"],
    "logs -f": ["logs", "-f"],
    "status --logs 5": ["status", "--logs", "5"],
}


@pytest.fixture
def impl():
    """Ours only: the CLI reads the same files whichever runsv serves the services."""
    return "ours"


def measured(sandbox, name):
    """``runit-provision COMMAND… --data data.yaml`` as root in the namespace, through the
    wrapper: {rc, seconds, cpu, rss_mb, marks, stderr…}."""
    command = [OUR_BIN / "runit-provision"] + COMMANDS[name] + ["--data",
                                                                sandbox.base / "data.yaml"]
    done = sandbox.ns.run([sys.executable, "-c", _WRAPPER,
                           "follow" if name == "logs -f" else "once"] + command,
                          env=sandbox.environ(),
                          timeout=KILL_AFTER + FOLLOW_WINDOW + 30)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    print("%-10s %s" % (name, {key: found[key] for key in (
        "rc", "seconds", "ready", "cpu", "rss_mb", "marks", "stdout_bytes")}))
    return found


def stop_web1_and_plant(sandbox, script):
    """apprun1 stops web1 (its lines end), then runs ``script`` in its home."""
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    done = sandbox.sv("-w", "7", "down", web1, user="apprun1", timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    current = sandbox.home("apprun1") / "logs" / "web1" / "current"
    wait_until(lambda: current.stat().st_size > 0, timeout=20, what="web1's lines logged")
    sandbox.as_user("apprun1", script, timeout=120)


def cheap(found, name):
    """Within the deadlines; what failed, with the figures, or None."""
    if not isinstance(found["rc"], int):
        return "%s: %s" % (name, found["rc"])
    if "MemoryError" in found["stderr"] or "Traceback" in found["stderr"]:
        return "%s: %s" % (name, found["stderr"][-500:])
    if found["cpu"] >= MAX_CPU or found["seconds"] >= MAX_SECONDS + (
            FOLLOW_WINDOW if name == "logs -f" else 0):
        return "%s: %.2f s, %.2f s of CPU" % (name, found["seconds"], found["cpu"])
    if found["rss_mb"] >= MAX_RSS_MB:
        return "%s: %.1f MB peak RSS" % (name, found["rss_mb"])
    if name == "logs -f" and (found["ready"] is None or found["ready"] >= MAX_SECONDS):
        return "%s: the bound not named within %.1f s (%s)" % (name, MAX_SECONDS,
                                                               found["ready"])
    return None


def test_n12_a_gzip_bomb_in_a_users_log_dir_costs_roots_logs_and_status_a_moment(sandbox):
    sandbox.up()
    stop_web1_and_plant(sandbox, "head -c 100000000 /dev/zero | gzip -c > logs/web1/%s && "
                                 ": > logs/web1/current" % BOMB)
    bomb = sandbox.home("apprun1") / "logs" / "web1" / BOMB
    assert 90000 < bomb.stat().st_size < 110000 and bomb.stat().st_uid == 61001
    named = "%s: decompressed past %d bytes, the bound for a compressed file of %d bytes: " \
            "the rest not read" % (BOMB, 100 * bomb.stat().st_size, bomb.stat().st_size)
    results = {name: measured(sandbox, name) for name in COMMANDS}
    failed = [problem for problem in (cheap(found, name) for name, found in results.items())
              if problem]
    assert not failed, (failed, results)
    for name, found in results.items():  # each names the bound, once (status in its place)
        assert [line for line in found["bounds"] if named in line] == found["bounds"], found
        assert len(found["bounds"]) == 1, (name, found)
    assert results["logs"]["rc"] == 1 and results["logs"]["marks"] == 1  # the cut line shown
    assert results["status --logs 5"]["marks"] == 1  # among web1's last lines


def test_n12_a_sparse_8_gib_current_costs_roots_logs_and_status_a_moment(sandbox):
    sandbox.up()
    stop_web1_and_plant(sandbox, "truncate -s 8G logs/web1/current")
    current = sandbox.home("apprun1") / "logs" / "web1" / "current"
    assert current.stat().st_size == 8 << 30 and current.stat().st_blocks < 1024
    named = "%s: not read further back than %d bytes (the bound on one file): what is older " \
            "not shown" % (current, 16 << 20)
    results = {name: measured(sandbox, name) for name in COMMANDS}
    failed = [problem for problem in (cheap(found, name) for name, found in results.items())
              if problem]
    assert not failed, (failed, results)
    # the whole view: web1's lines, then the hole as one line, cut and marked; no bound hit
    assert results["logs"]["rc"] == 0 and results["logs"]["marks"] == 1, results["logs"]
    assert results["logs"]["web1_lines"], results["logs"]
    assert results["logs"]["bounds"] == [], results["logs"]
    for name in ("logs -n 5", "logs -f", "status --logs 5"):  # a tail: the bound named, once
        assert len(results[name]["bounds"]) == 1, (name, results[name])
        assert named in results[name]["bounds"][0], (name, results[name])
