"""The installed launchers, run for real: every tool starts under ``-S -I`` from the prefix
alone, ``sv status`` through them drives a runsv, nothing is written at run time, and the
``current`` switch of an upgrade never breaks a running tree or a tool starting meanwhile.

The runtime is installed on this host (root ``/``) but only under the test's temporary
directory: ``--prefix``, ``--bin-dir``, ``--sbin-dir`` there, ``init: none``, no ``/usr/bin/sv``
link — and every entry is checked to be under it before anything is written.
"""

import os
import subprocess
import sys
import threading

import pytest

from runit_provision.apply.fsroot import FsRoot
from runit_provision.apply.session import converge_runtime as converge
from runit_provision.initsys import desired_runtime, launchers, options

from ..runtime.processes import RUN_SLEEP, Processes, make_service, running_pid, wait_until
from .conftest import make_config
from .test_install_runtime import source_of_version

pytestmark = pytest.mark.slow


class Installed:
    """The runtime installed under ``base`` (a temporary directory) on this host."""

    def __init__(self, base):
        self.base = base
        self.prefix = str(base / "prefix")
        self.bin = base / "bin"
        self.sbin = base / "sbin"

    def install(self, source=None):
        opts = options(prefix=self.prefix, bin_dir=str(self.bin), sbin_dir=str(self.sbin),
                       sv_links=(), source=source, init="none")
        config = make_config(init="none", sv_dir=str(self.base / "sv"))  # the lock: base's
        with FsRoot("/") as fs:
            runtime = desired_runtime(config, fs, options=opts)
        outside = [e.path for e in runtime.entries if not e.path.startswith(str(self.base))]
        assert outside == [] and runtime.commands == []
        runtime, _, result = converge(config, opts, None, False, 5.0)  # install-runtime's
        assert result.error is None, result.error
        return runtime

    def tool(self, name):
        folder = self.bin if launchers.TOOLS[name][1] == "bin" else self.sbin
        return str(folder / name)

    def files(self):
        """{path: (size, mtime)} of everything under the prefix."""
        found = {}
        for folder, _, names in os.walk(self.prefix):
            for name in names:
                st = os.lstat(os.path.join(folder, name))
                found[os.path.join(folder, name)] = (st.st_size, st.st_mtime_ns)
        return found


@pytest.fixture
def installed(tmp_path):
    one = Installed(tmp_path / "t")
    one.install()
    return one


@pytest.fixture
def procs():
    group = Processes()
    yield group
    group.kill_all()


def poisoned_env(tmp_path):
    """An environment that would break a launcher that read it: a PYTHONPATH whose
    runit_provision raises, PYTHONHOME elsewhere, a startup file that raises."""
    poison = tmp_path / "poison" / "runit_provision"
    poison.mkdir(parents=True, exist_ok=True)
    (poison / "__init__.py").write_text("raise SystemExit('poisoned: PYTHONPATH was read')\n")
    (tmp_path / "poison" / "start.py").write_text("raise SystemExit('poisoned: startup')\n")
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(poison.parent),
            "PYTHONSTARTUP": str(tmp_path / "poison" / "start.py"), "PYTHONHOME": "/nonexistent"}


# tool -> (argv after the tool, the exit code and the start of stderr runit's tool gives)
HARMLESS = {
    "chpst": ([], 100, "usage: chpst"),
    "envdir": ([], 100, "usage: envdir"),
    "envuidgid": ([], 100, "usage: envuidgid"),
    "pgrphack": ([], 100, "usage: pgrphack"),
    "setlock": ([], 100, "usage: setlock"),
    "setuidgid": ([], 100, "usage: setuidgid"),
    "softlimit": ([], 100, "usage: softlimit"),
    "runsv": ([], 1, "usage: runsv"),
    "runsvdir": ([], 1, "usage: runsvdir"),
    "sv": ([], 100, "usage: sv"),
    "svlogd": ([], 111, "usage: svlogd"),
    "runsvchdir": ([], 1, "usage: runsvchdir"),
    "utmpset": ([], 1, "usage: utmpset"),
    "notify-relay": ([], 100, "usage: notify-relay"),
    "timer-run": (["now"], 100, "usage: timer-run"),  # no argument: it would wait
    "runsv-cgroup": ([], 100, "usage: runsv-cgroup"),
    "sandbox-run": ([], 100, "usage: sandbox-run"),
    "runit-init": ([], 0, "usage: runit-init"),  # no argument: never signals process 1
}


def test_every_tool_has_a_harmless_check():
    # runit itself is only run as process 1 of a namespace (test_boot.py)
    assert set(HARMLESS) | {"runit"} == set(launchers.TOOLS)


@pytest.mark.parametrize("tool", sorted(HARMLESS))
def test_every_launcher_starts_from_the_prefix_alone(installed, tool, tmp_path):
    args, code, usage = HARMLESS[tool]
    done = subprocess.run([installed.tool(tool)] + args, env=poisoned_env(tmp_path),
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    err = done.stderr.decode()
    assert "poisoned" not in err and "Traceback" not in err, err
    assert done.returncode == code and (usage + " ") in err + done.stdout.decode(), err


def test_sv_status_through_the_launchers(installed, procs, tmp_path):
    svdir = tmp_path / "service"
    service = make_service(svdir, "web", run=RUN_SLEEP)
    procs.start([installed.tool("runsv"), str(service)], env=poisoned_env(tmp_path))
    pid = wait_until(lambda: running_pid(service), what="web running under our runsv")
    env = dict(poisoned_env(tmp_path), SVDIR=str(svdir))
    before = installed.files()
    done = subprocess.run([installed.tool("sv"), "status", "web"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("run: web: (pid %d) " % pid), done
    done = subprocess.run([installed.tool("sv"), "-w", "5", "restart", "web"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("ok: run: web: (pid "), done
    assert running_pid(service) not in (0, pid)
    # the interpreter wrote nothing into the installed tree: the .pyc were there and valid
    assert installed.files() == before


def test_the_switch_never_breaks_a_running_tree_or_a_starting_tool(installed, procs, tmp_path):
    """An upgrade while a tree runs from the old version and sv is started again and again."""
    version_a, version_b = (source_of_version(tmp_path, v) for v in ("7.0.1", "7.0.2"))
    installed.install(version_a)
    svdir = tmp_path / "service"
    make_service(svdir, "one", run=RUN_SLEEP)
    tree = procs.start([installed.tool("runsvdir"), str(svdir)], output=tmp_path / "tree.log")
    first = wait_until(lambda: running_pid(svdir / "one"), what="one running")
    env = {"PATH": "/usr/bin:/bin", "SVDIR": str(svdir)}
    failures, done = [], threading.Event()

    def status_loop():
        while not done.is_set():
            result = subprocess.run([installed.tool("sv"), "status", "one"], env=env,
                                    capture_output=True, text=True, timeout=30)
            if result.returncode != 0 or not result.stdout.startswith("run: one:"):
                failures.append((result.returncode, result.stdout, result.stderr))
    loop = threading.Thread(target=status_loop)
    loop.start()
    try:
        for version, source in [("7.0.2", version_b), ("7.0.1", version_a)] * 3:
            installed.install(source)
            assert os.readlink(installed.prefix + "/current") == version
    finally:
        done.set()
        loop.join(60)
    assert failures == []
    # the tree started from the first version still serves: a restart, a new service
    assert running_pid(svdir / "one") == first
    out = subprocess.run([installed.tool("sv"), "-w", "5", "restart", "one"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out
    make_service(svdir, "two", run=RUN_SLEEP)
    wait_until(lambda: running_pid(svdir / "two"), what="a new service started by the old tree")
    assert tree.poll() is None, tree.output()
    tree.proc.terminate()
    assert tree.wait(20) == 0  # TERM: the tree came down whole
    assert not running_pid(svdir / "one") and not running_pid(svdir / "two")


def test_launcher_uses_the_version_current_named_at_its_start(installed, tmp_path):
    source = source_of_version(tmp_path, "8.0.0")
    installed.install(source)
    code = subprocess.run(
        [sys.executable, "-c", "import runpy, sys; sys.argv = ['x']; "
         "import builtins; exec(open(%r).read().replace('from runit_provision.runtime.sv "
         "import main', 'import runit_provision as rp; print(rp.__version__, rp.__file__); "
         "raise SystemExit(0)'))" % installed.tool("sv")],
        capture_output=True, text=True, timeout=30)
    version, where = code.stdout.split()
    assert version == "8.0.0" and where == installed.prefix + "/8.0.0/runit_provision/__init__.py"
