"""A real Puppet server for the fleet tier: Debian's puppetserver, started by the test on
127.0.0.1 with everything of its own under one temp dir, and agents run against it.

The server: its own ``conf.d`` (jruby-puppet's conf/code/var/run/log dirs, the webserver on
127.0.0.1:PORT with TLS 1.2 only, metrics without JMX, a log file), bootstrap config, CA (keys of
2048 bits), ``autosign``, ``environment_timeout = 0`` (changed code and data apply without a
restart) and a ``files`` mount. It is launched as the packaged start script would launch it,
without the script (which hard-codes /etc/puppet): ``java … -cp puppetserver.jar
puppetlabs.trapperkeeper.main --config … --bootstrap-config …``, with a small heap, a quick JIT,
JRuby interpreting, and its Clojure compiled once per machine (``clojure_classes``; measured
here: ready in ~16–25 s, ~520 MB). One server per test session; ``stop()`` ends it by its
process group.

An agent: ``puppet agent --test`` with its own --confdir/--vardir/--codedir/--logdir/--rundir/
--ssldir/--publicdir and HOME, run in a PID namespace (facter reads /proc/1/environ, which this sandbox denies otherwise).
Nothing outside the temp dir is written but the compiled Clojure's cache (AOT_CACHE).
"""

import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import textwrap
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from ..livetree import free_port
from .harness import PUPPET, PUPPET_DIRS, RUBY_GC, plain, run_group

JAR = Path("/usr/share/puppetserver/puppetserver.jar")
JAVA = "/usr/bin/java"
PACKAGED = Path("/etc/puppet/puppetserver")  # read only: auth.conf and the bootstrap lists
JAVA_ARGS = ["-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
             "-Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger",
             "-Djruby.lib=/usr/share/jruby/lib"]
MAIN = "puppetlabs.trapperkeeper.main"  # the jar's Main-Class
NEEDS = {str(JAR): "puppetserver", JAVA: "puppetserver (a Java runtime)",
         str(PACKAGED / "conf.d" / "auth.conf"): "puppetserver"}


# Where the Clojure of the Puppet server and PuppetDB is kept compiled (``clojure_classes``):
# the CI machine's cache, beside tests/debian.py's roots.
AOT_CACHE = Path(os.environ.get("RUNIT_PROVISION_AOT_CACHE",
                                "/var/cache/runit-provision-ci/clojure-aot"))


def clojure_classes(jar, namespaces, java_args=(), cache=None):
    """A directory of the Clojure namespaces ``namespaces`` (a program's main and the services
    of its bootstrap config) and all they load, compiled ahead of time from ``jar`` and the
    jars of its manifest's Class-Path — made once per machine and kept in ``cache`` (AOT_CACHE),
    under a hash of the java program, every one of those jars (path, size, mtime) and the
    namespaces: a package upgrade makes a new one. None when it cannot be made (the JVM then
    compiles the source at its start, as without it).

    Debian ships puppetserver, PuppetDB and their Clojure libraries as source, and each JVM
    compiled ~260 namespaces at every start; on the classpath before ``jar``, these classes
    are loaded instead (Clojure takes a namespace's class when it is newer than its source).
    The same programs run, only not compiled again: measured on one core, the server's boot
    took 47 s of CPU from source and 27 s from the classes; compiling them takes ~40 s, once."""
    cache = Path(cache or AOT_CACHE)
    java = os.path.realpath(JAVA)
    paths = [java, os.path.realpath(str(jar))]
    with zipfile.ZipFile(str(jar)) as archive:
        manifest = archive.read("META-INF/MANIFEST.MF").decode()
    for line in manifest.replace("\r\n ", "").replace("\n ", "").splitlines():
        if line.startswith("Class-Path:"):
            paths += [os.path.realpath(path) for path in line.split(":", 1)[1].split()]
    key = hashlib.sha256()
    for path in paths:
        try:
            stat = os.stat(path)
        except FileNotFoundError:  # (Debian's manifests name a few jars no package has)
            key.update(("%s absent\n" % path).encode())
            continue
        key.update(("%s %d %d\n" % (path, stat.st_size, stat.st_mtime_ns)).encode())
    key.update(" ".join(list(namespaces) + list(java_args)).encode())
    target = cache / ("%s-%s" % (Path(paths[1]).stem, key.hexdigest()[:16]))
    if (target / ".made").exists():
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".making-", dir=str(cache)))
    except OSError:
        return None
    try:
        classes = scratch / "classes"
        classes.mkdir()
        done = subprocess.run(
            [JAVA] + list(java_args) + ["-Dclojure.compile.path=%s" % classes, "-cp",
                                        "%s:%s" % (classes, jar), "clojure.lang.Compile"]
            + list(namespaces), cwd=str(scratch), stdin=subprocess.DEVNULL,
            capture_output=True, timeout=900,
            env={"PATH": "/usr/bin:/bin", "HOME": str(scratch), "LANG": "C.UTF-8"})
        if done.returncode != 0:
            return None
        (classes / ".made").write_text("")
        try:
            classes.rename(target)  # whole or not at all; another session's may be there first
        except OSError:
            pass
        return target if (target / ".made").exists() else None
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(str(scratch), ignore_errors=True)


def bootstrap_namespaces(path):
    """The namespaces of a Trapperkeeper bootstrap config's services."""
    return sorted({line.split("/", 1)[0].strip() for line in Path(path).read_text().splitlines()
                   if "/" in line and not line.lstrip().startswith("#")})


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
        """The server's JVM, on the Clojure compiled once (``clojure_classes``) when it can."""
        services = [self.base / "services.d" / name for name in ("bootstrap.cfg", "ca.cfg")]
        classes = clojure_classes(JAR, [MAIN] + sorted(
            {name for path in services for name in bootstrap_namespaces(path)}), JAVA_ARGS)
        classpath = "%s:%s" % (classes, JAR) if classes else str(JAR)
        out = open(str(self.base / "log" / "stdout"), "ab")
        try:
            self.proc = subprocess.Popen(
                [JAVA] + JAVA_ARGS + ["-cp", classpath, MAIN, "--config",
                                      str(self.base / "conf.d"),
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
        env = dict(os.environ, HOME=str(self.base), **RUBY_GC)
        env.update(self.env)
        code, out, err = run_group(argv, timeout, env=env)
        return code, plain(out + err)
