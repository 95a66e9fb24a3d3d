"""What a service's cgroup holds, told for real where the controllers are (the VM tier: cgroup
v2 alone, memory and pids enabled): a tree of our runsvdir in the test's delegated cgroup
runs a service bounded to ``memory.max=32M`` that allocates 100 MB; the OOM killer kills it
at each start, and ``status`` says so under its deaths, with its memory and tasks against
their limits, and ``metrics`` counts the kills."""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

from runit_provision.cli.main import main
from runit_provision.protocol.cgroupfs import keyed_counts

from tests.conftest import our_tool
from tests.runtime.processes import wait_until

ALLOCATE = ("b = bytearray(100 * 2**20); b[::4096] = b'x' * (len(b) // 4096); "
            "print('allocated')")


def run(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_an_oom_kill_is_told_by_status_and_counted_by_metrics(cgroup, scratch, capsys):
    from tests.vm.conftest import in_cgroup

    svdir = scratch / "service"
    service = svdir / "eater"
    service.mkdir(parents=True)
    (service / "run").write_text("#!/bin/sh\nexec %s -c %s\n" % (
        sys.executable, "'%s'" % ALLOCATE))
    (service / "run").chmod(0o755)
    (service / "cgroup").write_text("cgroup 1 stop=group memory.max=33554432 pids.max=64\n")
    data = scratch / "data.yaml"
    data.write_text("runit::init: none\nrunit::service_dir: %s\nrunit::sv_dir: %s\n"
                    % (svdir, scratch / "sv"))
    tree = subprocess.Popen(in_cgroup(cgroup, [our_tool("runsvdir"), str(svdir)]),
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        record = service / "supervise" / "cgroup"
        path = wait_until(lambda: record.exists() and record.read_text(), timeout=120,
                          what="supervise/cgroup")
        events = Path("/sys/fs/cgroup" + path.strip(), "memory.events")
        wait_until(lambda: keyed_counts(events.read_text()).get("oom_kill"), timeout=120,
                   what="an OOM kill")

        code, out = run(capsys, "status", "eater", "--data", str(data))
        said = re.search(r"killed by the OOM killer \(memory_max 32M\), (once|\d+ times)", out)
        assert said, out
        assert re.search(r"memory \S+ \(peak \S+\) of 32M, tasks \d+ of 64", out), out
        code, out = run(capsys, "status", "eater", "--data", str(data), "--json")
        found = json.loads(out)["services"][0]["cgroup"]
        assert found["memory_max"] == 33554432 and found["tasks_max"] == 64
        assert found["oom_kills"] >= 1 and found["memory_peak"] <= 33554432

        code, out = run(capsys, "metrics", "--only", "eater", "--data", str(data))
        labels = '{service="eater",tree="system",declared="false"}'
        kills = re.search(r"^runit_service_oom_kills_total%s (\d+)$" % re.escape(labels), out,
                          re.MULTILINE)
        assert kills and int(kills.group(1)) >= 1, out
        assert "runit_service_memory_max_bytes%s 33554432\n" % labels in out
        assert "runit_service_tasks_max%s 64\n" % labels in out
    finally:
        tree.send_signal(signal.SIGTERM)
        tree.wait(timeout=60)
