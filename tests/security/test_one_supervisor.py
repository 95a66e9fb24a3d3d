"""One supervisor: a user's tree is the user's own runsvdir, and what a user does to it costs
that user alone (docs/security.md, docs/runsvdir.md "Users' trees").

Each finding as a real unprivileged user (``apprun1``, in the security tier's namespace) does
it against a host applied by the real ``apply``, with root's views run as root through the
CLI — under our runtime and, where the C runit has the same thing, under it side by side:

- a planted back-off wait of ``1e300`` seconds in a service's tally, once crashed root's whole
  tree at every start (root's tree read the user's records);
- 400 logged services linked by one user once took root's tree to its descriptor limit, and
  root lost its own services (root's tree held each user's service's descriptors);
- a user's timer whose runs fail was green in every view (a user's timer ran elsewhere than
  root's, and the views read the two differently).
"""

import json
import os
import re
import time

import pytest

from runit_provision.protocol.backoff import Backoff, Waiting, backoff_bytes
from runit_provision.protocol.tally import Tally, tally_bytes

from ..conftest import our_tool
from ..runtime.processes import running_pid, start_time, wait_until
from .test_users import assert_apprun2_logging, assert_root_answers

pytestmark = pytest.mark.slow

LEAD = 12  # seconds from the data's writing to the timer's one elapse: one service's apply


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def test_a_planted_endless_back_off_costs_root_nothing(sandbox):
    """apprun1's ``evil`` carries a tally whose back-off wait is ``1e300`` seconds, due in a
    year of 20 digits, beside a ``backoff`` file; apprun1 links it and then kills their own
    tree so the next one reads it. Root's tree runs on, the same process, and root's service
    and apprun2's answer as before."""
    sandbox.up()
    tree = sandbox.tree.pid  # root's runsvdir (nsenter execs it)
    born = start_time(tree)
    evil = sandbox.home("apprun1") / "sv" / "evil"
    waiting = Waiting(3, step=2, steps=6, delay=1e300, due_ns=10 ** 28)
    tally = tally_bytes(Tally(starts=3, deaths=3, exit_status=1 << 8,
                              died_at_ns=time.time_ns(), ran_ns=10 ** 7, waiting=waiting))
    sandbox.as_user("apprun1", "mkdir -p sv/evil/supervise && printf '#!/bin/sh\\nexit 1\\n' "
                    "> sv/evil/run && chmod +x sv/evil/run")
    (evil / "backoff").write_bytes(backoff_bytes(Backoff(1, 60, 6)))
    (evil / "supervise" / "tally").write_bytes(tally)
    for path in (evil / "backoff", evil / "supervise" / "tally"):
        os.chown(str(path), 61001, 61001)
    sandbox.as_user("apprun1", "ln -s ../sv/evil service/evil")
    users_tree = sandbox.sv_dir / "runsvdir-apprun1"
    sandbox.as_user("apprun1", "kill -9 %d" % running_pid(users_tree))
    time.sleep(3)  # a few rounds of whatever the planted record does to the user's tree
    assert start_time(tree) == born, "root's tree died"
    if sandbox.impl == "ours":
        # and the user's own tree, which reads the record, bounds it: it runs on too (the C
        # runit's orphaned runsvs keep its lock: apprun1's next tree waits for them)
        again = running_pid(users_tree)
        time.sleep(2)
        assert again and running_pid(users_tree) == again, "apprun1's tree dies of its record"
    assert_root_answers(sandbox)
    assert_apprun2_logging(sandbox)


def test_a_user_linking_400_services_moves_no_descriptor_of_roots(sandbox):
    """apprun1 links 400 logged services, each with a ``down`` file (their loggers run):
    root's tree holds not one descriptor more, and root's own service restarts as before."""
    sandbox.up()
    tree = sandbox.tree.pid  # root's runsvdir (nsenter execs it)
    before = fd_count(tree)
    sandbox.as_user("apprun1", "for n in $(seq 1 400); do d=sv/many$n; mkdir -p $d/log/main && "
                    "printf '#!/bin/sh\\nexec sleep 1000\\n' > $d/run && "
                    "printf '#!/bin/sh\\nexec svlogd ./main\\n' > $d/log/run && "
                    "chmod +x $d/run $d/log/run && : > $d/down && "
                    "ln -s ../$d service/many$n; done", timeout=120)
    last = sandbox.home("apprun1") / "sv" / "many400" / "log"
    wait_until(lambda: running_pid(last), timeout=120, what="the 400th logger running")
    assert fd_count(tree) <= before, (before, fd_count(tree))
    done = sandbox.sv("-w", "7", "restart", sandbox.sv_dir / "rootsvc", timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("ok: run: "), done.stdout
    assert_root_answers(sandbox)
    assert_apprun2_logging(sandbox)


def test_a_users_failing_timer_is_red_in_every_view(sandbox):
    """apprun1's timer runs and exits 3: ``status`` says failed and exits 3, ``status
    --json`` and the fact say failed, ``verify`` fails, ``metrics`` says not as wanted — as
    for a timer of root's. It fires once, ``LEAD`` seconds after the data is written (once a
    day), so that its state holds still while every view is read."""
    if sandbox.impl == "c" and not (sandbox.bin / "timer-run").exists():
        (sandbox.bin / "timer-run").symlink_to(our_tool("timer-run"))  # install-runtime's
    sandbox.up()  # (up waits for every side to run: a timer's runs only at its elapse)
    at = time.gmtime(time.time() + LEAD)
    sandbox.user_services["apprun1"]["tick"] = {
        "command": ["sh", "-c", "echo ticking; exit 3"],
        "schedule": "*-*-* %02d:%02d:%02d UTC" % (at.tm_hour, at.tm_min, at.tm_sec)}
    sandbox.apply()
    tick = sandbox.home("apprun1") / "sv" / "tick"
    wait_until(lambda: (tick / "supervise" / "last-run").exists(), timeout=LEAD + 30,
               what="tick's run recorded")
    name = "apprun1/tick"

    def verdict():
        done = sandbox.tool("status", "--json", "--logs", "0")
        rows = {row["service"]: row for row in json.loads(done.stdout)["services"]}
        return rows[name]["verdict"]
    wait_until(lambda: verdict().startswith("failed"), timeout=30, what="tick failed")
    assert re.match(r"failed \(exit 3, at \S+; next at \S+\)\Z", verdict()), verdict()
    done = sandbox.tool("status", name, "--logs", "0")
    assert done.returncode == 3, (done.stdout, done.stderr)
    fact = json.loads(sandbox.tool("status", "--fact").stdout)
    facts = {row["service"]: row["verdict"] for row in fact["services"]}
    assert facts[name].startswith("failed (exit 3"), facts[name]
    done = sandbox.tool("verify")
    assert done.returncode == 1 and "tick" in done.stdout, (done.stdout, done.stderr)
    metrics = sandbox.tool("metrics").stdout
    assert re.search(r'^runit_service_as_wanted\{service="apprun1/tick",tree="apprun1",'
                     r'declared="true"\} 0$', metrics, re.M), \
        [line for line in metrics.splitlines() if "tick" in line]
