"""cli: ``runit-provision demo`` — the main job on a bundled example, in a sandbox, no root
needed.

The example is a small hiera hierarchy shipped with the package (``runit_provision/demo/``:
``hiera.yaml``, node and common data, facts): a logged ticker, an HTTP server on loopback with
a ``check``, a one-shot, a service that ``needs`` another, and your own tree
(``runsvdir-<you>`` running ``~/service``). The demo copies it into a temporary directory, adds
the facts only it knows (the sandbox — every path is relocated into it through the data —,
your login, a free port, this interpreter), starts our ``runsvdir`` on the sandbox's service
directory (as init would on a host) and then runs the real commands: ``apply``, ``status``,
a few log lines, an edit of the node data, ``plan --diff`` (a change and a restart), ``apply``
(the restart), ``apply`` again (nothing to do). Then everything is stopped — ``runsvdir``'s
TERM brings the whole tree down, users' trees included — and the sandbox removed; ``--keep``
leaves it running and says how to stop it.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import yaml

from ..accounts import host

EDITED_FROM = "GREETING: hello from the ticker"
EDITED_TO = "GREETING: hello again, after an edit"


def add_parser(sub):
    parser = sub.add_parser("demo", help="the main job on a bundled example, in a sandbox")
    parser.add_argument("--keep", action="store_true",
                        help="leave the sandbox and its runsvdir running (says how to stop it)")
    return parser


def run(args):
    return run_demo(keep=args.keep)


def example_dir():
    """The bundled example (``runit_provision/demo``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "demo")


def tools_dir():
    """Where our runtime's tools are installed: next to this interpreter (a virtualenv)."""
    here = os.path.dirname(sys.executable)
    if os.access(os.path.join(here, "runsvdir"), os.X_OK):
        return here
    found = shutil.which("runsvdir")
    if found and open(found, "rb").read(2) == b"#!":
        return os.path.dirname(found)
    raise SystemExit("runit-provision demo: the runtime's tools (runsvdir, sv, chpst, svlogd) "
                     "are not installed next to %s" % sys.executable)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sandbox:
    """The demo's temporary host: the example copied in, facts, and our runsvdir on it."""

    def __init__(self):
        self.dir = os.path.realpath(tempfile.mkdtemp(prefix="runit-provision-demo."))
        self.hiera = os.path.join(self.dir, "hiera")
        shutil.copytree(example_dir(), self.hiera)
        self.bin = tools_dir()
        self.login = host.login_name(os.geteuid())
        with open(os.path.join(example_dir(), "facts", "demo.yaml")) as handle:
            facts = yaml.safe_load(handle)
        facts.update(sandbox=self.dir, login=self.login, port=free_port(),
                     python=sys.executable, bin=self.bin)
        self.facts = os.path.join(self.dir, "facts.yaml")
        with open(self.facts, "w") as handle:
            yaml.safe_dump(facts, handle)
        self.port = facts["port"]
        for sub in ("www", "home", "etc/service"):
            os.makedirs(os.path.join(self.dir, sub))
        self.service_dir = os.path.join(self.dir, "etc", "service")
        self.runsvdir = None

    def inputs(self):
        return ["--hiera", os.path.join(self.hiera, "hiera.yaml"), "--facts", self.facts]

    def job_options(self):
        options = self.inputs() + ["--profile-d", os.path.join(self.dir, "etc", "profile.d")]
        if os.geteuid() != 0:  # chpst -u needs root, even to become yourself
            options += ["--templates", os.path.join(self.hiera, "templates")]
        return options

    def start(self):
        """Our runsvdir on the sandbox's service directory, as init would run it."""
        env = dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get("PATH", "/bin"))
        self.runsvdir = subprocess.Popen(
            [os.path.join(self.bin, "runsvdir"), self.service_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, cwd=self.dir, start_new_session=True)

    def stop(self, seconds=15.0):
        """TERM to runsvdir brings the whole tree down (users' trees too); anything left in
        the sandbox afterwards is killed and reported."""
        left = []
        if self.runsvdir is not None and self.runsvdir.poll() is None:
            self.runsvdir.send_signal(signal.SIGTERM)
            try:
                self.runsvdir.wait(seconds)
            except subprocess.TimeoutExpired:
                _kill_group(self.runsvdir.pid)
                self.runsvdir.wait()
        for pid in processes_in(self.dir):
            left.append(pid)
            _kill(pid)
        return left

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run_demo(keep=False):
    from .main import main

    started = time.monotonic()
    box = Sandbox()
    node_file = os.path.join(box.hiera, "data", "nodes", "demo.example.com.yaml")
    code = 1
    try:
        box.start()
        say("The example: %s (copied into the sandbox %s)" % (example_dir(), box.dir))
        say("runsvdir (ours, pid %d) serves %s, as init would on a host"
            % (box.runsvdir.pid, box.service_dir))
        heading("1. runit-provision apply — the sandbox converges to the data")
        if main(["apply"] + box.job_options()) != 0:
            return 1
        wait_running(box, 10)
        heading("2. runit-provision status")
        main(["status"] + box.inputs())
        heading("3. runit-provision logs -n 10 — the services' logs as one view, by time")
        show_logs(box, 10, wait_for=("reporter", "web answered"))
        heading("4. the data changes: %s -> %s" % (EDITED_FROM, EDITED_TO))
        with open(node_file) as handle:
            text = handle.read()
        with open(node_file, "w") as handle:
            handle.write(text.replace(EDITED_FROM, EDITED_TO))
        say("$ runit-provision plan --diff   (exit 2: changes pending; env values masked)")
        plan_code = main(["plan", "--diff"] + box.job_options())
        say("(plan exited %d)" % plan_code)
        heading("5. runit-provision apply — the change, and the restart it calls for")
        if main(["apply"] + box.job_options()) != 0:
            return 1
        heading("6. runit-provision apply — again: nothing to do")
        if main(["apply"] + box.job_options()) != 0:
            return 1
        show_logs(box, 2, ["ticker"], wait_for=("ticker", EDITED_TO.split(": ", 1)[1]))
        code = 0 if plan_code == 2 else 1
    finally:
        if keep:
            say("\nLeft running: runsvdir pid %d in %s. To stop it and clean up:\n"
                "  kill -TERM %d; rm -rf %s" % (box.runsvdir.pid, box.dir, box.runsvdir.pid,
                                                box.dir))
        else:
            heading("7. everything stopped")
            left = box.stop()
            if left:
                say("killed %d leftover process(es): %s" % (len(left), left))
                code = 1
            else:
                say("runsvdir took the whole tree down; no process left")
            box.remove()
    say("demo finished in %.1f s" % (time.monotonic() - started))
    return code


def wait_running(box, seconds):
    """Until every wanted service runs (the web's check passed, the users' tree up) and every
    one-shot is done, or ``seconds`` pass."""
    from ..apply.fsroot import FsRoot
    from ..health.status import service_statuses
    from .inputs import config_from_args
    from .main import build_parser

    args = build_parser().parse_args(["status"] + box.inputs())
    config = config_from_args(args)
    deadline = time.monotonic() + seconds
    with FsRoot("/") as fs:
        while time.monotonic() < deadline:
            rows = service_statuses(config, fs, int(time.time()))
            # wanted ones running and logging, one-shots (setup: once) done, so the status
            # shown next is the steady one whatever the machine's speed
            if all(row.is_running for row in rows if row.is_wanted) and \
                    not any(row.is_running for row in rows if not row.is_wanted) and \
                    all(row.log is None or row.log.state == "run" for row in rows
                        if row.is_running):
                return True
            time.sleep(0.05)
    return False


def show_logs(box, count, services=(), wait_for=None, seconds=5.0):
    """``runit-provision logs -n COUNT [SERVICE…]`` on the sandbox's data — once the last
    line of ``wait_for``'s service (service, text) says that text, or ``seconds`` passed."""
    from ..protocol.layout import CURRENT
    from .main import main

    if wait_for is not None:
        name, text = wait_for
        current = os.path.join(box.dir, "var", "log", name, CURRENT)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with open(current) as handle:
                    found = handle.read()
            except OSError:
                found = ""
            lines = found.splitlines()
            if lines and text in lines[-1]:
                break
            time.sleep(0.05)
    argv = ["logs", "-n", str(count)] + list(services) + box.inputs()
    say("$ runit-provision %s" % " ".join(["logs", "-n", str(count)] + list(services)))
    sys.stdout.flush()
    main(argv)
    sys.stdout.flush()


def heading(text):
    say("\n── %s " % text + "─" * max(3, 76 - len(text)))


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def processes_in(directory):
    """Pids of live processes whose working directory is ``directory`` or below it."""
    prefix = directory.rstrip("/") + "/"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink("/proc/%s/cwd" % entry) + "/"
            with open("/proc/%s/stat" % entry) as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if cwd.startswith(prefix) and state not in "ZX":
            found.append(int(entry))
    return found


def _kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
