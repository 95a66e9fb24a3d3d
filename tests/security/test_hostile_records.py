"""Records a user writes in their own tree, out of every bound, read by root's views
(docs/security.md, "What root reads of a user's tree"): one hostile record costs its
service's row, never the view.

apprun1, the real unprivileged user of the namespace (``sandbox.py``), runs its own tree —
our runsvdir started as the user, not by root's tree — and, while it runs, writes:

- ``supervise/timer`` of its timer ``nightly``: ``next=`` of 20 digits;
- ``supervise/last-run`` of its one-shot ``job1``: ``ended=99999999999999999``;
- ``supervise/tally`` of ``crashy`` (a back-off declared): a wait with ``delay=1e300``, its
  CRC right;
- ``supervise/readiness`` of ``banner``: a start time of terminal escapes.

Root then runs ``status``, ``status --json``, ``status --fact``, ``metrics`` and ``verify``.
Before the bounds, each printed a traceback (``OverflowError`` in ``time.gmtime``) and no
service at all. Now each says those four services are unreadable and why, never as wanted,
with nothing a terminal acts on, and tells apprun1's ``web1`` and root's ``rootsvc`` as
before.
"""

import json
import subprocess
from binascii import crc32

import pytest
import yaml


from ..conftest import OUR_BIN
from ..runtime.processes import (
    descendants, kill_pids, process_group_members, running_pid, wait_until)
from .sandbox import Sandbox, service

pytestmark = pytest.mark.slow

DEADLINE = 60  # seconds for one command
ESCAPES = r"\033[2J\033]0;pwned\007"  # printf's spelling
HOSTILE = ("nightly", "job1", "crashy", "banner")
REASONS = {
    "nightly": "supervise/timer: next=99999999999999999999.000000 is not a time within "
               "1970..9999",
    "job1": "supervise/last-run: ended=99999999999999999 is not a time within 1970..9999",
    "crashy": "supervise/tally: delay=1e300 is not a number of seconds within 0..172800",
    "banner": "supervise/readiness: started=?[2J?]0;pwned? is not a time within 1970..9999",
}


@pytest.fixture
def host(namespace):
    """The sandbox's host, our runtime: root's ``rootsvc`` and apprun1's services, applied in
    place (``--root /``: nothing started); what the test starts is ended by process group."""
    found = Sandbox(namespace, "ours")
    found.started = []
    yield found
    for proc in found.started:
        kill_pids(set(process_group_members(proc.pid)) | set(descendants(proc.pid)))
        proc.wait()
    found.close()


def applied(host):
    host.services = {"rootsvc": service("root")}
    host.user_services = {"apprun1": {
        "web1": service("apprun1"),
        "job1": {"oneshot": True, "command": ["sh", "-c", "echo set up"]},
        "nightly": {"schedule": "*-*-* 03:00:00", "command": ["sh", "-c", "echo night"]},
        "crashy": {"command": ["sleep", "1000"],
                   "restart": {"delay": 1, "max_delay": 10, "steps": 3}},
        "banner": service("apprun1"),
    }}
    data = host.base / "data.yaml"
    data.write_text(yaml.safe_dump(host.data()))
    done = host.ns.run([OUR_BIN / "runit-provision", "apply", "--data", data, "--root", "/",
                        "--profile-d", "none"], env=host.environ(), timeout=120)
    assert done.returncode == 0, (done.stdout, done.stderr)


def start(host, argv, user=None):
    """``argv`` in the namespace (as ``user``), a session of its own; kept to be ended."""
    environ = host.environ()
    if user is not None:
        environ["HOME"] = str(host.home(user))
    with open(str(host.base / "started.out"), "ab") as out:
        proc = subprocess.Popen(host.ns.argv(argv, user=user), env=environ,
                                stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=str(host.home(user)) if user else None)
    host.started.append(proc)
    return proc


def plant(host, sv):
    """apprun1's records, written as apprun1 while its tree runs."""
    due = b"%d" % 10 ** 11
    body = (b"tally 1 pid=0 starts=1 deaths=1 exit=1 core=0 at=1700000000.5 ran=0.1 "
            b"recent=0 restarts=1 step=0/3 delay=1e300 due=" + due)
    tally = host.base / "tally"
    tally.write_bytes((body + b" crc=%08x" % crc32(body)).ljust(1023) + b"\n")
    tally.chmod(0o644)
    banner = running_pid(sv / "banner")
    host.as_user("apprun1", "\n".join([
        "set -e",
        "printf 'timer-state 1 next=%s.000000 elapse=0 skipped=0 timed_out=0 missed=0\\n' "
        "> sv/nightly/supervise/timer" % ("9" * 20),
        "printf 'last-run 1 exit=0 signal=0 started=1 ended=99999999999999999\\n' "
        "> sv/job1/supervise/last-run",
        "cat %s > sv/crashy/supervise/tally" % tally,
        "printf 'state ready\\npid %d\\nstarted %s\\nready 1\\nmainpid 0\\nrefused 0\\n' "
        "> sv/banner/supervise/readiness.new" % (banner, ESCAPES),
        "mv sv/banner/supervise/readiness.new sv/banner/supervise/readiness"]))


def test_hostile_records_cost_their_rows_never_the_view(host):
    applied(host)
    sv = host.home("apprun1") / "sv"
    start(host, [OUR_BIN / "runsv", host.sv_dir / "rootsvc"])
    start(host, [OUR_BIN / "runsvdir", host.home("apprun1") / "service"], user="apprun1")
    for side in (host.sv_dir / "rootsvc", sv / "web1", sv / "web1" / "log", sv / "crashy",
                 sv / "banner"):
        wait_until(lambda side=side: running_pid(side), timeout=30, what="%s running" % side)
    wait_until(lambda: (sv / "job1" / "supervise" / "last-run").exists(), timeout=30,
               what="job1 ran")
    wait_until(lambda: (sv / "nightly" / "supervise" / "timer").exists(), timeout=30,
               what="nightly armed")
    plant(host, sv)

    table = host.tool("status", "--logs", "0", timeout=DEADLINE)
    report = host.tool("status", "--json", "--logs", "0", timeout=DEADLINE)
    fact = host.tool("status", "--fact", timeout=DEADLINE)
    metrics = host.tool("metrics", timeout=DEADLINE)
    verify = host.tool("verify", "--json", timeout=DEADLINE)
    for done in (table, report, fact, metrics, verify):
        assert "Traceback" not in done.stderr, done.stderr
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout, done.stdout

    # status: exit 3 (not as wanted), a row each, the hostile ones unreadable and why
    assert table.returncode == 3, (table.stdout, table.stderr)
    lines = table.stdout.splitlines()
    for name in HOSTILE:
        row = [line for line in lines if line.startswith("apprun1/%s " % name)]
        assert len(row) == 1 and row[0].split()[1] == "unreadable", table.stdout
        assert "  unreadable: " + REASONS[name] in table.stdout, table.stdout
    for label, state in (("apprun1/web1", "run"), ("rootsvc", "run")):
        row = [line for line in lines if line.startswith(label + " ")]
        assert len(row) == 1 and row[0].split()[1] == state, table.stdout

    assert report.returncode == 3, report.stderr
    verdicts = {row["service"]: row["verdict"] for row in json.loads(report.stdout)["services"]}
    for name in HOSTILE:
        assert verdicts["apprun1/" + name] == "unreadable (%s)" % REASONS[name], verdicts
    assert verdicts["apprun1/web1"] == verdicts["rootsvc"] == "as wanted", verdicts
    # nothing supervises apprun1's tree here (it was started by hand): said as it is
    assert verdicts["runsvdir-apprun1"] == "not running", verdicts

    assert fact.returncode == 3
    facts = {row["service"]: row["verdict"] for row in json.loads(fact.stdout)["services"]}
    assert all(facts["apprun1/" + name].startswith("unreadable (") for name in HOSTILE), facts
    assert facts["apprun1/web1"] == "as wanted", facts

    assert metrics.returncode == 0, metrics.stderr
    for name in HOSTILE:
        labels = '{service="apprun1/%s",tree="apprun1",declared="true"}' % name
        assert "runit_service_as_wanted%s 0\n" % labels in metrics.stdout, metrics.stdout
        assert "runit_service_unreadable%s 1\n" % labels in metrics.stdout, metrics.stdout
    web1 = '{service="apprun1/web1",tree="apprun1",declared="true"}'
    assert "runit_service_as_wanted%s 1\n" % web1 in metrics.stdout, metrics.stdout

    assert verify.returncode == 1, verify.stderr
    checks = {check["id"]: check for check in json.loads(verify.stdout)["checks"]}
    for name in HOSTILE:
        found = [check for check in checks.values() if check["id"].startswith(
            "apprun1/%s::" % name) and check["status"] == "failed"]
        assert found and any("unreadable (" in problem for check in found
                             for problem in check["problems"]), (name, found)
    web1_checks = [check for check in checks.values()
                   if check["id"].startswith("apprun1/web1::")]
    assert web1_checks and all(check["status"] == "passed" for check in web1_checks), \
        web1_checks
    assert checks["rootsvc::running"]["status"] == "passed"

    # the user's tree, and root's runsv, still run
    assert all(proc.poll() is None for proc in host.started)
