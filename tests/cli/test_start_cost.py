"""The daily views start light (their budget: 1.5x a bare interpreter's start, docs/design.md):
``logs -n 10`` of a log directory loads none of the heavy modules — argparse, re, enum,
functools, collections, struct, YAML, the data pipeline, nor ``os`` (``posix`` and
protocol/without_os.py stand in for it) — and ``logs NAME`` and ``status NAME`` with their
data kept (startup/cached_config.py) none of the data pipeline's nor anything of the applier
(they read the host through host/), no ``collections`` (protocol/tuples.py makes their records) and no
``os``. Checked in a fresh interpreter, as tests/protocol/test_import_cost.py checks ``sv
status``; the program reports without ``json`` (which loads ``re``, ``enum``, ``collections``…),
so that nothing of these is loaded before it looks."""

import ast
import os
import subprocess
import sys
import time

import pytest

from runit_provision.logs import stamps
from runit_provision.protocol import tai64

# itertools: only for a clock stepped back
RARE = ("itertools",)
HEAVY = ("argparse", "re", "enum", "functools", "collections", "struct", "bisect",
         "importlib", "signal", "json", "yaml", "runit_provision.hiera",
         "runit_provision.schema", "runit_provision.cli.inputs",
         "runit_provision.apply") + RARE

PROGRAM = """import sys
sys.path[:0] = %r
before = set(sys.modules)
from runit_provision.cli.main import main
code = main(%r)
sys.stdout.flush()
sys.stderr.write("\\n" + repr([code, sorted(set(sys.modules) - before)]))
"""


STATUS_HEAVY = ("argparse", "enum", "yaml", "runit_provision.hiera", "runit_provision.schema",
                "runit_provision.inputs", "runit_provision.apply",
                "runit_provision.cli.output", "re",
                "functools", "collections", "keyword", "reprlib", "typing",
                "dataclasses", "struct", "importlib", "json", "runit_provision.cli.inputs",
                "runit_provision.cli.helptext") + RARE
# what status reads without (the applier's observation and writer, the whole apply/ room:
# status reads through host/; logs' verb: its last lines come from logs/sources.tails; status
# NAME lists no service directory: no host/supervised, which logs/sources imports only for
# what the data does not declare), each ~0.1-0.6 M instructions of its start
STATUS_ONLY_HEAVY = ("runit_provision.cli.logs", "runit_provision.host.supervised")


def loaded_by(argv, tmp_path, env=None):
    """The exit code of ``runit-provision ARGV`` run in a fresh interpreter without site, and
    the modules it loaded."""
    result = subprocess.run([sys.executable, "-S", "-c", PROGRAM % (sys.path, argv)],
                            capture_output=True, text=True, cwd=str(tmp_path),
                            env=None if env is None else dict(os.environ, **env))
    code, modules = ast.literal_eval(result.stderr.rsplit("\n", 1)[1])
    return code, result.stdout, set(modules)


def heavy(modules, names=HEAVY):
    return sorted(name for name in modules
                  if any(name == top or name.startswith(top + ".") for top in names))


def test_logs_of_a_directory_loads_nothing_heavy(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    (log / "current").write_bytes(b"".join(b"@4000000065000000%08x line %d\n" % (n, n)
                                           for n in range(50)))
    code, out, modules = loaded_by(["logs", "--dir", str(log), "-n", "3"], tmp_path)
    assert code == 0 and out.count("\n") == 3 and out.endswith("line 49\n"), out
    assert heavy(modules) == []


def kept_inputs(tmp_path):
    """The command line's inputs (``--data``, ``--root``) and environment of a service with a
    log of 50 lines, once its Config is kept — kept once the inputs are 2 s old (a change
    within a file time's tick would not show)."""
    if os.geteuid() != 0:
        pytest.skip("the data is kept for root's runs only")
    data = tmp_path / "data.yaml"
    data.write_text("runit::services:\n  web:\n    command: sleep 1000\n")
    log = tmp_path / "root" / "var" / "log" / "web"
    log.mkdir(parents=True)
    (log / "current").write_bytes(b"".join(b"@4000000065000000%08x line %d\n" % (n, n)
                                           for n in range(50)))
    cache = tmp_path / "cache"
    env = {"RUNIT_PROVISION_CACHE": str(cache)}
    inputs = ["--data", str(data), "--root", str(tmp_path / "root")]
    deadline = time.monotonic() + 30
    while not (cache.is_dir() and os.listdir(str(cache))):
        assert time.monotonic() < deadline, "the data was never kept"
        code, out, _ = loaded_by(["logs", "-n", "1", "web"] + inputs, tmp_path, env)
        assert code == 0 and out.endswith("line 49\n"), out
        time.sleep(0.25)  # a poll's pace, not a synchronisation: the loop's deadline holds
    return inputs, env


def test_status_of_a_name_with_its_data_kept_loads_no_pipeline_nor_plan(tmp_path):
    inputs, env = kept_inputs(tmp_path)
    code, out, modules = loaded_by(["status", "web"] + inputs, tmp_path, env)
    # not supervised: not as wanted, and its last lines under the table
    assert code == 3 and "not supervised" in out and out.endswith("line 49\n"), out
    assert heavy(modules, STATUS_HEAVY + STATUS_ONLY_HEAVY) == []


def test_status_of_a_timer_loads_no_calendar(tmp_path):
    """A timer's status (docs/timers.md) reads its three records — its schedule shown as
    written, not parsed: the calendar would load zoneinfo."""
    from runit_provision.protocol.lastrun import LastRun, last_run_bytes
    from runit_provision.protocol.status import State

    from ..checks.helpers import FakeRunsv

    inputs, env = kept_inputs(tmp_path)
    side = tmp_path / "root" / "etc" / "sv" / "web"
    side.mkdir(parents=True)
    runsv = FakeRunsv()
    try:
        runsv.serve(side, State.DOWN, want="u")  # waiting, as our runtime shows it
        (side / "schedule").write_bytes(b"timer 1\nwhen=*-*-* 03:00:00 Europe/Paris\n")
        now = int(time.time())
        (side / "supervise" / "timer").write_bytes(
            b"timer-state 1 next=%d.0 elapse=%d.0 skipped=0 timed_out=0 missed=0\n"
            % (now + 600, now - 600))
        (side / "supervise" / "last-run").write_bytes(last_run_bytes(
            LastRun(0, 0, (now - 600) * 10**9, (now - 599) * 10**9)))
        code, out, modules = loaded_by(["status", "web"] + inputs, tmp_path, env)
    finally:
        runsv.close()
    assert code == 0 and "scheduled" in out and "last run: started" in out, out
    assert heavy(modules, STATUS_HEAVY + STATUS_ONLY_HEAVY + (
        "zoneinfo", "datetime", "runit_provision.protocol.calendar")) == []


def test_logs_of_a_name_with_its_data_kept_loads_nothing_heavy(tmp_path):
    inputs, env = kept_inputs(tmp_path)
    code, out, modules = loaded_by(["logs", "-n", "3", "web"] + inputs, tmp_path, env)
    assert code == 0 and out.count("\n") == 3 and out.endswith("line 49\n"), out
    assert heavy(modules, HEAVY + STATUS_HEAVY) == []


def test_the_stamps_offset_is_tai64s():
    assert stamps.TAI_OFFSET == tai64.TAI_OFFSET
