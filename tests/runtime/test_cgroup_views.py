"""What a live service's cgroup holds, told by the real CLI: a tree of our runsvdir in this
machine's cgroup v2 hierarchy (controller-less: membership and CPU time; memory, tasks and the
OOM killer are the VM tier's, tests/vm/test_cgroup_views.py). A service kept as runit keeps it
(``stop=main``) leaves a child behind after ``sv down``: ``status`` says so, ``--json`` and
``metrics`` count it, and ``metrics`` has its CPU time."""

import json
import os
import signal

from runit_provision.cli.main import main

from .processes import alive, make_service
from .test_cgroups import cgtree, escaping_run, read_pid, sv  # noqa: F401 (a fixture)


def run(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_status_says_what_outlives_the_main_process(cgtree, tmp_path, capsys):  # noqa: F811
    svdir, start, _ = cgtree
    service = make_service(svdir, "classic", run=escaping_run(tmp_path / "child"))
    (service / "cgroup").write_text("cgroup 1 stop=main\n")
    data = tmp_path / "data.yaml"
    data.write_text("runit::init: none\nrunit::service_dir: %s\nrunit::sv_dir: %s\n"
                    % (svdir, tmp_path / "sv"))
    start()
    child = read_pid(tmp_path / "child")
    try:
        code, out = run(capsys, "status", "classic", "--data", str(data))
        assert "the main process" not in out, out  # running: the child is the main process's own
        assert sv("-w", "20", "down", "classic", svdir=svdir).returncode == 0
        assert alive([child])
        code, out = run(capsys, "status", "classic", "--data", str(data))
        assert "  1 process outlives the main process\n" in out, out
        assert "cgroups: unavailable" not in out
        code, out = run(capsys, "status", "classic", "--data", str(data), "--json")
        found = json.loads(out)["services"][0]["cgroup"]
        assert found["outliving"] == 1 and found["processes"] == 1
        assert found["path"] == (svdir / "classic/supervise/cgroup").read_text().strip()
        assert found["memory"] is None  # no memory controller here: unknown, not 0
        code, out = run(capsys, "metrics", "--only", "classic", "--data", str(data))
        labels = '{service="classic",tree="system",declared="false"}'
        assert "runit_service_outliving_processes%s 1\n" % labels in out
        assert "runit_service_cpu_seconds_total%s " % labels in out
        assert "runit_service_memory_bytes" not in out
    finally:
        if alive([child]):
            os.kill(child, signal.SIGKILL)
