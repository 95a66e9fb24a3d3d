"""The daily views start light (their budget: 1.5x a bare interpreter's start, docs/design.md):
``logs -n 10`` of a log directory loads none of the heavy modules — argparse, re, enum,
functools, collections, struct, YAML, the data pipeline. Checked in a fresh interpreter, as
tests/protocol/test_import_cost.py checks ``sv status``."""

import json
import subprocess
import sys

from runit_provision.logs import stamps
from runit_provision.protocol import tai64

HEAVY = ("argparse", "re", "enum", "functools", "collections", "struct", "bisect", "operator",
         "importlib", "signal", "json", "yaml", "runit_provision.hiera",
         "runit_provision.schema", "runit_provision.cli.inputs", "runit_provision.apply")

PROGRAM = """import json, sys
sys.path[:0] = %r
before = set(sys.modules)
from runit_provision.cli.main import main
code = main(%r)
sys.stdout.flush()
sys.stderr.write("\\n" + json.dumps([code, sorted(set(sys.modules) - before)]))
"""


def loaded_by(argv, tmp_path):
    """The exit code of ``runit-provision ARGV`` run in a fresh interpreter without site, and
    the modules it loaded (json, the test's own, is loaded before it starts)."""
    result = subprocess.run([sys.executable, "-S", "-c", PROGRAM % (sys.path, argv)],
                            capture_output=True, text=True, cwd=str(tmp_path))
    code, modules = json.loads(result.stderr.rsplit("\n", 1)[1])
    return code, result.stdout, set(modules)


def heavy(modules):
    return sorted(name for name in modules
                  if any(name == top or name.startswith(top + ".") for top in HEAVY))


def test_logs_of_a_directory_loads_nothing_heavy(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    (log / "current").write_bytes(b"".join(b"@4000000065000000%08x line %d\n" % (n, n)
                                           for n in range(50)))
    code, out, modules = loaded_by(["logs", "--dir", str(log), "-n", "3"], tmp_path)
    assert code == 0 and out.count("\n") == 3 and out.endswith("line 49\n"), out
    assert heavy(modules) == []


def test_the_stamps_offset_is_tai64s():
    assert stamps.TAI_OFFSET == tai64.TAI_OFFSET
