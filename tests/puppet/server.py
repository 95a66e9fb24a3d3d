"""A real Puppet server for the fleet tier: Debian's puppetserver, started by the test on
127.0.0.1 with everything of its own under one temp dir, and agents run against it.

The server: its own ``conf.d`` (jruby-puppet's conf/code/var/run/log dirs, the webserver on
127.0.0.1:PORT with TLS 1.2 only, metrics without JMX, a log file), bootstrap config, CA (keys of
2048 bits), ``autosign``, ``environment_timeout = 0`` (changed code and data apply without a
restart) and a ``files`` mount. It is launched as the packaged start script would launch it,
without the script (which hard-codes /etc/puppet): ``java … -jar puppetserver.jar --config …
--bootstrap-config …``, with a small heap and a quick JIT (measured here: ready in ~16–25 s,
~520 MB). One server per test session; ``stop()`` ends it by its process group.

An agent: ``puppet agent --test`` with its own --confdir/--vardir/--codedir/--logdir/--rundir/
--ssldir/--publicdir and HOME, run in a PID namespace (facter reads /proc/1/environ, which this sandbox denies otherwise).
Nothing outside the temp dir is written.
"""

import json
import os
import signal
import socket
import ssl
import subprocess
import textwrap
import time
import urllib.request
from pathlib import Path

from .harness import PUPPET, PUPPET_DIRS, plain, run_group

JAR = Path("/usr/share/puppetserver/puppetserver.jar")
JAVA = "/usr/bin/java"
PACKAGED = Path("/etc/puppet/puppetserver")  # read only: auth.conf and the bootstrap lists
JAVA_ARGS = ["-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger",
             "-Djruby.lib=/usr/share/jruby/lib"]
NEEDS = {str(JAR): "puppetserver", JAVA: "puppetserver (a Java runtime)",
         str(PACKAGED / "conf.d" / "auth.conf"): "puppetserver"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PuppetServer:
    """Debian's puppetserver under ``base`` (conf.d/, services.d/, conf/, code/, var/, run/,
    log/, files/); the production environment is ``code/environments/production``."""

    def __init__(self, base, port=None, puppetdb_port=None):
        self.base = Path(base)
        self.port = port or free_port()
        self.puppetdb_port = puppetdb_port  # facts and catalogs stored there (its terminus)
        self.proc = None
        self.environment = self.base / "code" / "environments" / "production"
        self.files = self.base / "files"
        self.log = self.base / "log" / "puppetserver.log"
        self._configure()

    def _configure(self):
        base = self.base
        for name in ("conf.d", "services.d", "conf", "code/modules", "var", "run", "log",
                     "gems", "files"):
            (base / name).mkdir(parents=True, exist_ok=True)
        for name in ("manifests", "modules"):
            (self.environment / name).mkdir(parents=True, exist_ok=True)
        for name in ("bootstrap.cfg", "ca.cfg"):
            (base / "services.d" / name).write_text((PACKAGED / "services.d" / name).read_text())
        for name in ("auth.conf", "web-routes.conf"):
            (base / "conf.d" / name).write_text((PACKAGED / "conf.d" / name).read_text())
        conf = {
            "global.conf": "global: { logging-config: %s }\n" % (base / "logback.xml"),
            "puppetserver.conf": textwrap.dedent("""\
                jruby-puppet: {{
                  ruby-load-path: [/usr/lib/puppetserver/ruby/vendor_ruby]
                  gem-home: {base}/gems
                  gem-path: [{base}/gems, /usr/lib/puppetserver/vendored-jruby-gems]
                  server-conf-dir: {base}/conf
                  server-code-dir: {base}/code
                  server-var-dir: {base}/var
                  server-run-dir: {base}/run
                  server-log-dir: {base}/log
                  max-active-instances: 1
                  # JRuby interprets Puppet's Ruby (jruby-utils' default is jit): a test
                  # session's few dozen requests never repay compiling hot Ruby methods to JVM
                  # bytecode. Measured (one core, a boot and two rounds of three agents): the
                  # server's CPU 54+35+17 s with jit, 47+26+6 s without.
                  compile-mode: off
                }}
                http-client: {{}}
                profiler: {{}}
                """).format(base=base),
            "webserver.conf": textwrap.dedent("""\
                webserver: {{
                  client-auth: want
                  ssl-host: 127.0.0.1
                  ssl-port: {port}
                  ssl-protocols: [TLSv1.2]
                }}
                """).format(port=self.port),
            "ca.conf": "certificate-authority: {}\n",
            "metrics.conf": "metrics: { server-id: localhost, registries: { puppetserver: "
                            "{ reporters: { jmx: { enabled: false } } } } }\n",
        }
        for name, text in conf.items():
            (base / "conf.d" / name).write_text(text)
        (base / "logback.xml").write_text(textwrap.dedent("""\
            <configuration>
              <appender name="F1" class="ch.qos.logback.core.FileAppender">
                <file>{log}</file>
                <encoder><pattern>%d %-5p [%c{{2}}] %m%n</pattern></encoder>
              </appender>
              <logger name="org.eclipse.jetty" level="WARN"/>
              <root level="info"><appender-ref ref="F1"/></root>
            </configuration>
            """).format(log=self.log))
        (base / "conf" / "puppet.conf").write_text(textwrap.dedent("""\
            [main]
            certname = puppet.test
            server = 127.0.0.1
            ssldir = {base}/ssl
            cadir = {base}/ca
            keylength = 2048
            environment_timeout = 0
            basemodulepath = {base}/code/modules
            [server]
            autosign = true
            dns_alt_names = localhost,IP:127.0.0.1
            """).format(base=base))
        (base / "conf" / "fileserver.conf").write_text("[files]\n  path %s\n" % self.files)
        if self.puppetdb_port is not None:
            # puppet-terminus-puppetdb: facts to PuppetDB (cached as JSON, where node_facts
            # reads them), catalogs through storeconfigs
            with open(str(base / "conf" / "puppet.conf"), "a") as handle:
                handle.write("storeconfigs = true\nstoreconfigs_backend = puppetdb\n"
                             "reports = puppetdb\n")  # the agents' reports too (issue 33)
            (base / "conf" / "routes.yaml").write_text(
                "server:\n  facts:\n    terminus: puppetdb\n    cache: json\n")
            (base / "conf" / "puppetdb.conf").write_text(
                "[main]\nserver_urls = https://127.0.0.1:%d\nsoft_write_failure = false\n"
                % self.puppetdb_port)

    def start(self):
        out = open(str(self.base / "log" / "stdout"), "ab")
        try:
            self.proc = subprocess.Popen(
                [JAVA] + JAVA_ARGS + ["-jar", str(JAR), "--config", str(self.base / "conf.d"),
                                      "--bootstrap-config", str(self.base / "services.d")],
                cwd=str(JAR.parent), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                env={"PATH": "/usr/bin:/bin", "HOME": str(self.base), "LANG": "C.UTF-8"})
        finally:
            out.close()
        return self

    def wait_ready(self, timeout=240):
        """Until /status/v1/simple answers ``running``; the log's tail if it dies or times out."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        url = "https://127.0.0.1:%d/status/v1/simple" % self.port
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("puppetserver exited (%d):\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                with urllib.request.urlopen(url, context=context, timeout=5) as answer:
                    if answer.read().strip() == b"running":
                        return time.monotonic()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("puppetserver not ready within %ds:\n%s"
                                     % (timeout, self.log_tail()))
            time.sleep(0.5)

    def wait_for_ssl_files(self, timeout=240):
        """Until the CA, early in the server's boot, has written each of ``ssl_files`` whole
        (its PEM's END line: the server writes them in place, not renamed); the log's tail if
        the server dies or times out."""
        deadline = time.monotonic() + timeout
        while not all(_whole_pem(path) for path in self.ssl_files):
            if self.proc.poll() is not None:
                raise AssertionError("puppetserver exited (%d):\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("puppetserver wrote no certificate within %ds:\n%s"
                                     % (timeout, self.log_tail()))
            time.sleep(0.2)

    def log_tail(self, lines=40):
        text = ""
        for path in (self.log, self.base / "log" / "stdout"):
            if path.exists():
                text += "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) + "\n"
        return text

    def stop(self):
        """TERM to the server's process group, KILL after 30 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    @property
    def ssl_files(self):
        """``(cert, key, ca)``: the server's own certificate (127.0.0.1 among its names), key,
        and the CA — what PuppetDB serves HTTPS with, and a client PuppetDB accepts."""
        ssl_dir = self.base / "ssl"
        return (ssl_dir / "certs" / "puppet.test.pem", ssl_dir / "private_keys" /
                "puppet.test.pem", ssl_dir / "certs" / "ca.pem")

    def node_facts(self, certname):
        """The facts an agent last sent, as the server keeps them without PuppetDB, read the
        way REFERENCE.md shows (``puppet facts find CERTNAME --terminus json --client_datadir
        SERVER_DATA``; scratch Puppet dirs otherwise)."""
        scratch = self.base / "facts-find"
        argv = [PUPPET, "facts", "find", certname, "--terminus", "json", "--render-as", "json",
                "--client_datadir", str(self.base / "var" / "server_data")]
        for name in PUPPET_DIRS:
            (scratch / name).mkdir(parents=True, exist_ok=True)
            argv += ["--%sdir" % name, str(scratch / name)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              env={"HOME": str(scratch), "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, plain(done.stdout + done.stderr)
        return json.loads(done.stdout)["values"]


def _whole_pem(path):
    try:
        lines = Path(path).read_text().split("\n")
    except (OSError, UnicodeDecodeError):
        return False
    return len(lines) > 1 and lines[-1] == "" and lines[-2].startswith("-----END ")


class Agent:
    """One node: ``puppet agent --test`` as CERTNAME against the server, in its own dirs."""

    def __init__(self, base, server, certname, env=None):
        self.base = Path(base)
        self.server = server
        self.certname = certname
        self.env = env or {}
        self.dirs = {name: self.base / name for name in PUPPET_DIRS}
        for path in self.dirs.values():
            path.mkdir(parents=True, exist_ok=True)

    def run(self, timeout=600, args=()):
        """``(exit code, plain output)`` with ``--detailed-exitcodes``: 0 no change, 2 changes,
        4/6 failures; ``args``: more options (``--noop``)."""
        argv = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", PUPPET, "agent",
                "--test",
                "--detailed-exitcodes", "--color", "false", "--server", "127.0.0.1",
                "--serverport", str(self.server.port), "--certname", self.certname,
                "--keylength", "2048"] + list(args)
        for name, path in self.dirs.items():
            argv += ["--%sdir" % name, str(path)]
        env = dict(os.environ, HOME=str(self.base))
        env.update(self.env)
        code, out, err = run_group(argv, timeout, env=env)
        return code, plain(out + err)
