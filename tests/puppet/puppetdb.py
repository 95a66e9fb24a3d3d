"""A real PuppetDB for the fleet tier: Debian's ``puppetdb`` (7.12) on 127.0.0.1, its database
a private PostgreSQL 15 cluster, both started by the test under one temp dir.

PostgreSQL: ``initdb`` as the ``postgres`` system user (initdb refuses root) in a temp dir of
its own (pytest's are root's alone), trust authentication, listening on 127.0.0.1:PORT and a
socket in that dir only, no fsync;
a ``puppetdb`` role and database with ``pg_trgm``. PuppetDB: as the packaged service would run
it, without its start script (which hard-codes /etc/puppetdb): ``java … clojure.main -m
puppetlabs.puppetdb.core services --config base/conf --bootstrap-config
/etc/puppetdb/bootstrap.cfg``, cleartext HTTP on 127.0.0.1 only, the package's ``auth.conf``
(measured here: it answers ``/status/v1/services`` ~19 s after the start, at ~460 MB with
``-Xmx256m -XX:+UseSerialGC``; its Clojure compiled once per machine, as the server's:
``server.clojure_classes``). ``stop()`` ends both by their process groups.

Facts reach it through its command API (``replace_facts``, version 5), as the Puppet server's
terminus sends them; ``wait_for_facts`` waits until the queue has stored them.
"""

import datetime
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from ..livetree import free_port
from .server import bootstrap_namespaces, clojure_classes

JAR = Path("/usr/share/puppetdb/puppetdb.jar")
BOOTSTRAP = Path("/etc/puppetdb/bootstrap.cfg")
PACKAGED_AUTH = Path("/etc/puppetdb/conf.d/auth.conf")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
JAVA = "/usr/bin/java"
TERMINUS = Path("/usr/lib/ruby/vendor_ruby/puppet/indirector/facts/puppetdb.rb")
NEEDS = {str(JAR): "puppetdb", str(BOOTSTRAP): "puppetdb", str(PG_BIN / "initdb"): "postgresql",
         JAVA: "puppetdb (a Java runtime)", str(TERMINUS): "puppet-terminus-puppetdb"}
MAIN = "puppetlabs.puppetdb.core"
JAVA_ARGS = ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]

LOGBACK = """<configuration>
  <appender name="F" class="ch.qos.logback.core.FileAppender">
    <file>{log}</file>
    <encoder><pattern>%d %-5p [%c{{2}}] %m%n</pattern></encoder>
  </appender>
  <root level="warn"><appender-ref ref="F"/></root>
</configuration>
"""


def as_postgres(argv, **options):
    return subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]
                          + [str(word) for word in argv], capture_output=True, text=True,
                          timeout=120, **options)


class PuppetDB:
    """PostgreSQL and PuppetDB under ``base``; ``url`` once ``start()`` returned."""

    def __init__(self, base, ssl_port=None):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.pg_port, self.port = free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.ssl_port = ssl_port  # HTTPS too (``start(ssl_files=…)``): the terminus's way in
        self.proc = None
        # the postgres user must reach its cluster: not under pytest's root-only temp dirs
        self.pg_dir = Path(tempfile.mkdtemp(prefix="runit-provision-pg-"))
        self.pg_data = self.pg_dir / "data"
        self.log = self.base / "puppetdb.log"

    # -- starting --------------------------------------------------------------------------
    def start(self, timeout=240, ssl_files=None):
        """``ssl_files``: ``(cert, key, ca)`` to serve HTTPS on ``ssl_port`` with. PostgreSQL
        first, unless ``start_postgres()`` started it already (the session starts it while the
        Puppet server boots)."""
        if not (self.pg_data / "postmaster.pid").exists():
            self.start_postgres()
        self._configure(ssl_files)
        # its Clojure compiled once per machine, as the server's (server.clojure_classes)
        classes = clojure_classes(JAR, [MAIN] + bootstrap_namespaces(BOOTSTRAP), JAVA_ARGS)
        with open(str(self.base / "java.out"), "wb") as out:  # the child keeps its own
            self.proc = subprocess.Popen(
                [JAVA] + JAVA_ARGS + ["-cp", "%s:%s" % (classes, JAR) if classes else str(JAR),
                                      "clojure.main", "-m", MAIN, "services", "--config",
                                      str(self.base / "conf"), "--bootstrap-config",
                                      str(BOOTSTRAP)],
                start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("PuppetDB did not start: %s\n%s" % (
                    (self.base / "java.out").read_text()[-2000:], self._log_tail()))
            time.sleep(0.5)
        return self

    def start_postgres(self):
        shutil.chown(str(self.pg_dir), "postgres", "postgres")
        done = as_postgres([PG_BIN / "initdb", "-D", self.pg_data, "-U", "postgres",
                            "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        assert done.returncode == 0, done.stdout + done.stderr
        options = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s "
                   "-c fsync=off -c shared_buffers=16MB" % (self.pg_port, self.pg_dir))
        done = as_postgres([PG_BIN / "pg_ctl", "-D", self.pg_data, "-l",
                            self.pg_dir / "log", "-w", "-o", options, "start"])
        assert done.returncode == 0, done.stdout + done.stderr
        for database, sql in (("postgres", "create role puppetdb login password 'puppetdb'"),
                              ("postgres", "create database puppetdb owner puppetdb"),
                              ("puppetdb", "create extension pg_trgm")):
            done = as_postgres([PG_BIN / "psql", "-h", "127.0.0.1", "-p", self.pg_port,
                                "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                                "-c", sql])
            assert done.returncode == 0, done.stdout + done.stderr

    def _configure(self, ssl_files=None):
        conf = self.base / "conf"
        (self.base / "vardir").mkdir()
        conf.mkdir()
        shutil.copy(str(PACKAGED_AUTH), str(conf / "auth.conf"))
        (self.base / "logback.xml").write_text(LOGBACK.format(log=self.log))
        jetty = "host = 127.0.0.1\nport = %d\n" % self.port
        if ssl_files is not None:
            cert, key, ca = ssl_files
            jetty += ("ssl-host = 127.0.0.1\nssl-port = %d\nssl-cert = %s\nssl-key = %s\n"
                      "ssl-ca-cert = %s\n" % (self.ssl_port, cert, key, ca))
        (conf / "config.ini").write_text(
            "[global]\nvardir = %s\nlogging-config = %s\n"
            "[database]\nsubname = //127.0.0.1:%d/puppetdb\nusername = puppetdb\n"
            "password = puppetdb\n[jetty]\n%s"
            "[puppetdb]\ndisable-update-checking = true\n"
            % (self.base / "vardir", self.base / "logback.xml", self.pg_port, jetty))

    def _answers(self):
        try:
            with urllib.request.urlopen(self.url + "/status/v1/services", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def _log_tail(self):
        try:
            return self.log.read_text()[-3000:]
        except OSError:
            return ""

    # -- facts -----------------------------------------------------------------------------
    def replace_facts(self, certname, values):
        """Store ``values`` as ``certname``'s facts (the command is queued; see
        ``wait_for_facts``)."""
        body = {"certname": certname, "environment": "production", "producer": "test",
                "producer_timestamp": datetime.datetime.now(
                    datetime.timezone.utc).isoformat(), "values": values}
        request = urllib.request.Request(
            self.url + "/pdb/cmd/v1?command=replace_facts&version=5&certname=" + certname,
            data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 200

    def query(self, pql):
        request = urllib.request.Request(
            self.url + "/pdb/query/v4", data=json.dumps({"query": pql}).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)

    def wait_for_facts(self, expected, timeout=60):
        """Until every certname of ``expected`` (``{certname: producer value}``) has that
        ``runit_services`` value stored."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query('facts[certname, value] { name = "runit_services" }')
            stored = {row["certname"]: row["value"] for row in rows}
            if all(stored.get(name) == value for name, value in expected.items()):
                return stored
            if time.monotonic() > deadline:
                raise AssertionError("PuppetDB did not store the facts: %r" % sorted(stored))
            time.sleep(0.1)

    # -- stopping --------------------------------------------------------------------------
    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # fast, not immediate: only a clean shutdown removes the cluster's shared memory
        # (/dev/shm/PostgreSQL.*, a SysV segment), which an immediate one leaves on the host
        for mode in ("fast", "immediate"):
            if (self.pg_data / "postmaster.pid").exists():
                as_postgres([PG_BIN / "pg_ctl", "-D", self.pg_data, "-m", mode, "-w", "-t",
                             "30", "stop"])
        shutil.rmtree(str(self.pg_dir), ignore_errors=True)
