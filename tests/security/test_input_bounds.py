"""Bounded input: hiera data cannot make ``runit-provision plan`` (or apply, which reads the
same) take the host's memory — row N5 of docs/security.md.

Here the attacker is whoever writes hiera data, and the attack is a file: no user or
namespace is needed. Each test runs the real CLI, ``runit-provision plan --hiera …``, in a
child of a small Python wrapper that reports the CLI's exit code, stderr, wall time and peak
RSS (``RUSAGE_CHILDREN`` of the wrapper: the CLI is its only child). The wrapper caps the
CLI's address space (``RLIMIT_AS``), so a regression fails the test with a MemoryError instead
of taking the machine's memory.
"""

import json
import subprocess
import sys
import textwrap

import pytest

from ..conftest import OUR_BIN
from ..hiera.test_source import billion_laughs

# Bounds far above what a refusal takes (docs/hiera.md#bounds-on-a-data-file), with room for a
# loaded machine. Both are checked in the slow tier alone (the seconds in tests/test_timing.py,
# the RSS below); in the fast tier the seconds bound the run (the wrapper's timeout), as the
# address space bounds its memory.
MAX_RSS_MB = 200
MAX_SECONDS = 15
ADDRESS_SPACE_CAP = 2 * 1024 ** 3

_WRAPPER = textwrap.dedent("""\
    import json, resource, subprocess, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (%d, %d))
    started = time.monotonic()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=%d)
    print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
                      "seconds": time.monotonic() - started,
                      "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
    """) % (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP, MAX_SECONDS * 8)

HIERA = """\
version: 5
hierarchy:
  - {name: node, path: node.yaml}
  - {name: common, path: common.yaml}
"""
NODE = "runit::init: none\nrunit::services:\n  web: {command: /usr/local/bin/web}\n"


def plan(tmp_path, common, node=NODE):
    """The real ``runit-provision plan`` of a two-level hierarchy staged under tmp_path:
    ``{rc, stdout, stderr, seconds, rss_mb}``."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (data / "node.yaml").write_text(node)
    if isinstance(common, bytes):
        (data / "common.yaml").write_bytes(common)
    else:
        (data / "common.yaml").write_text(common)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                         "www-data:x:33:33::/var/www:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nwww-data:x:33:\n")
    command = [str(OUR_BIN / "runit-provision"), "plan", "--hiera",
               str(tmp_path / "hiera.yaml"), "--facts", str(_facts(tmp_path)), "--root",
               str(root)]
    done = subprocess.run([sys.executable, "-c", _WRAPPER, *command], capture_output=True,
                          text=True, timeout=MAX_SECONDS * 10)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _facts(tmp_path):
    facts = tmp_path / "facts.yaml"
    facts.write_text("hostname: n1\nfqdn: n1.example.com\n")
    return facts


def assert_within_the_cap(result):
    """No MemoryError: the address-space cap turns a regression into one (its peak RSS is
    bounded in the slow tier, below)."""
    assert "MemoryError" not in result["stderr"]


@pytest.mark.parametrize("where, common, alias_at, key_path", [
    ("an ignored key", "site::unused:\n" + billion_laughs("  "), "7:13", "site::unused.f[1]"),
    ("a used key", "runit::services:\n  web:\n    bomb:\n" + billion_laughs("      "),
     "9:17", "runit::services.web.bomb.f[1]"),
])
def test_n5_a_billion_laughs_is_a_clear_error_in_a_moment(tmp_path, where, common, alias_at,
                                                          key_path):
    assert len(common.encode()) < 1024
    result = plan(tmp_path, common)
    assert result["rc"] == 1, result  # bad data (docs/exit-codes.md)
    assert result["stdout"] == ""
    assert result["stderr"] == (
        "runit-provision plan: %s:%s: %s: the alias *e copies too much: aliases and merge "
        "keys may copy at most 200000 values into one data file (an alias bomb?); write the "
        "data out, or alias less\n" % (tmp_path / "data" / "common.yaml", alias_at, key_path))
    assert_within_the_cap(result)


def hundred_mb():
    service = ("  svc%06d:\n    command: /usr/local/bin/svc --port 8080\n"
               "    env: {MODE: production}\n")
    block = "".join(service % number for number in range(10000)).encode()
    return b"runit::services:\n" + block * (100 * 1024 * 1024 // len(block) + 1)


def test_n5_a_100_mb_data_file_is_a_clear_error_before_it_is_read(tmp_path):
    common = hundred_mb()
    assert len(common) > 100 * 1024 * 1024
    result = plan(tmp_path, common)
    assert result["rc"] == 1, result
    assert result["stderr"] == (
        "runit-provision plan: %s: too big for a data file: more than 2097152 bytes (2 MiB), "
        "the bound on one file — split it (a hiera level can glob: services.d/*.yaml)\n"
        % (tmp_path / "data" / "common.yaml"))
    assert_within_the_cap(result)


@pytest.mark.slow
@pytest.mark.parametrize("data", ["bomb", "100 MB"])
def test_n5_refused_data_costs_the_cli_little_memory(tmp_path, data):
    """The security property itself — hostile data cannot take the host's memory — as the
    CLI's peak RSS: under MAX_RSS_MB, a wide margin over what it takes and far below what
    the regression took. A cost bound, so in the slow tier with the others: the fast tier
    holds none (tests/test_timing_rule.py)."""
    common = hundred_mb() if data == "100 MB" else "site::unused:\n" + billion_laughs("  ")
    result = plan(tmp_path, common)
    assert result["rc"] == 1, result
    assert result["rss_mb"] < MAX_RSS_MB, result


def base_and_services(count, bad=None):
    """``runit::services`` of ``count`` services each merging one base (``<<: *base``), the
    base's log settings aliased again in the last; ``bad``: (service number, key, value) of
    one bad own key."""
    lines = ["lookup_options:", "  runit::services: {merge: deep}",  # node.yaml's web too
             "site::base: &base", "  user: www-data", "  nice: 5",
             "  log: &log {size: 1000000, num: 10, timestamps: iso}", "runit::services:"]
    for number in range(count):
        lines += ["  svc%03d:" % number, "    <<: *base",
                  "    command: /usr/local/bin/svc --port %d" % (8000 + number)]
        if bad and bad[0] == number:
            lines.append("    %s: %s" % bad[1:])
    lines.append("  last: {<<: *base, nice: 1, log: *log, command: /usr/local/bin/last}")
    return "\n".join(lines) + "\n"


def test_n5_five_hundred_services_merging_a_base_still_plan(tmp_path):
    result = plan(tmp_path, base_and_services(500))
    assert result["rc"] == 2, result  # changes pending: every service is new
    for name in ("svc000", "svc499", "last", "web"):
        assert "+ /etc/sv/%s/run" % name in result["stdout"]
    assert result["stderr"] == ""


def test_n5_errors_in_merged_data_keep_their_file_line_and_column(tmp_path):
    common = base_and_services(500, bad=(250, "umask", "lots")).replace(
        "  nice: 5\n", "  nice: many\n")
    base_line = common.splitlines().index("  nice: many") + 1
    own_line = common.splitlines().index("    umask: lots") + 1
    result = plan(tmp_path, common)
    assert result["rc"] == 1, result
    common_yaml = tmp_path / "data" / "common.yaml"
    # a bad key of the base is reported where the base says it, for a service merging it …
    assert "%s:%d:3: services.svc000.nice" % (common_yaml, base_line) \
        in result["stderr"]
    # … and a service's own bad key where the service says it
    assert "%s:%d:5: services.svc250.umask" % (common_yaml, own_line) \
        in result["stderr"]
