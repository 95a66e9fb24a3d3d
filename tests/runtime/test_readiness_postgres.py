"""Debian's PostgreSQL under our runsvdir with ``ready: notify`` (it is built with systemd
support: it sends READY=1 once it accepts connections) and a dependent whose ``needs`` guard
waits for it, then runs ``psql -c 'select 1'``: it never fails, and it starts right after
PostgreSQL's READY=1.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from runit_provision.protocol.readiness import readiness_from_bytes

from ..conftest import our_tool
from ..skips import missing
from ..livetree import free_port, our_runsvdir
from .processes import (SH, kill_pids, make_service, processes_under, read_bytes, wait_until,
                        write_file)

PG_BIN = Path("/usr/lib/postgresql/15/bin")

pytestmark = pytest.mark.slow


def as_postgres(argv):
    return subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
                          + [str(arg) for arg in argv], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def cluster():
    if not (PG_BIN / "postgres").exists() or shutil.which("psql") is None:
        missing("PostgreSQL (%s, psql)" % PG_BIN, "apt-get install postgresql")
    # the postgres user must reach its cluster: not under pytest's root-only temp dirs
    pg_dir = Path(tempfile.mkdtemp(prefix="runit-provision-ready-pg-"))
    try:
        shutil.chown(str(pg_dir), "postgres", "postgres")
        done = as_postgres([PG_BIN / "initdb", "-D", pg_dir / "data", "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        assert done.returncode == 0, done.stdout + done.stderr
        yield pg_dir
    finally:
        kill_pids(processes_under(pg_dir))
        shutil.rmtree(str(pg_dir), ignore_errors=True)


def test_a_dependent_of_postgresql_starts_once_it_is_ready_and_never_fails(tmp_path, cluster):
    port = free_port()
    sv_dir, service_dir = tmp_path / "sv", tmp_path / "service"
    service_dir.mkdir()
    result = tmp_path / "psql.out"
    postgres = make_service(sv_dir, "postgres", run=SH + (
        "exec 2>&1\nexec chpst -u postgres %s -D %s -c listen_addresses=127.0.0.1 -c port=%d "
        "-c unix_socket_directories=%s -c fsync=off -c shared_buffers=16MB\n")
        % (PG_BIN / "postgres", cluster / "data", port, cluster))
    write_file(postgres / "ready", "notify\n")
    app = make_service(sv_dir, "app", run=SH + (
        "sv -w 60 start %s || exit 1\n"
        "date +%%s%%N > %s.started\n"
        "psql -h 127.0.0.1 -p %d -U postgres -tA -c 'select 1' >> %s 2>&1\n"
        "echo \"rc=$?\" >> %s\n"
        "exec sleep 1000\n") % (postgres, result, port, result, result))
    for service in (postgres, app):
        os.symlink(str(service), str(service_dir / service.name))
    with our_runsvdir(tmp_path, service_dir) as path:
        try:
            wait_until(lambda: "rc=" in (read_bytes(result) or b"").decode(), timeout=90,
                       what="the dependent's psql")
            assert (read_bytes(result) or b"").decode() == "1\nrc=0\n"  # first try, no error
            record = readiness_from_bytes(read_bytes(postgres / "supervise" / "readiness"))
            assert record.state == "ready" and record.refused == 0
            started_ns = int(read_bytes(Path("%s.started" % result)))
            assert started_ns >= record.ready_ns
            assert (started_ns - record.ready_ns) / 1e9 < 1.0  # woken, not polled
        finally:
            # a clean shutdown first (sv's TERM: PostgreSQL's smart shutdown, no restart):
            # only that removes the cluster's shared memory (/dev/shm/PostgreSQL.*, a SysV
            # segment), which a killed postmaster leaves on the host
            subprocess.run([our_tool("sv"), "-w", "30", "down", str(postgres)],
                           env={"PATH": path}, capture_output=True, timeout=60)
