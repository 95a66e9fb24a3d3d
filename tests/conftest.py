"""Shared fixtures: where our tools and the C runit live, and real-process hygiene."""

import ast
import fcntl
import functools
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .skips import allowed_in_ci, missing, skip_reason


def _default_signal_dispositions():
    """Signals the suite sends to the processes it starts take their default action there,
    however the suite itself was started: an ignored signal stays ignored across fork and exec
    (``nohup`` ignores HUP, a shell's ``&`` without job control ignores INT and QUIT), and the
    tests of ``sv hup``, ``sv interrupt`` and an interrupted ``chpst -l`` would then fail for
    the C runit and ours alike."""
    for signum in (signal.SIGHUP, signal.SIGQUIT):
        if signal.getsignal(signum) == signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_default_signal_dispositions()

ROOT = Path(__file__).resolve().parent.parent
# Console scripts are installed next to the interpreter running the tests (the Makefile's venv).
OUR_BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI") == "true"
CHILDREN_STDERR = pytest.StashKey[list]()  # a test's children's stderr (tests/childstderr.py)

# Every runit tool name, and where Debian's package puts the C version of it.
C_RUNIT = {
    "runsv": "/usr/bin/runsv",
    "runsvdir": "/usr/bin/runsvdir",
    "sv": "/usr/bin/sv",
    "svlogd": "/usr/bin/svlogd",
    "chpst": "/usr/bin/chpst",
    # /usr/sbin up to runit 2.2.0, /usr/bin from 2.3 (Debian 14)
    "runsvchdir": next((path for path in ("/usr/bin/runsvchdir", "/usr/sbin/runsvchdir")
                        if os.path.exists(path)), "/usr/sbin/runsvchdir"),
    "utmpset": "/usr/sbin/utmpset",
    "runit": "/sbin/runit",
}
# chpst's personalities: the C chpst takes them from argv[0], Debian installs no links.
PERSONALITIES = ("envdir", "envuidgid", "setuidgid", "softlimit", "setlock", "pgrphack")


def pythons(versions):
    """{version: path} of each CPython of ``versions`` ("3.9"…) the machine has and can run:
    on PATH, or beside the interpreter running the tests (pyenv's versions/X.Y.Z/bin)."""
    found = {}
    for version in versions:
        candidates = [shutil.which("python" + version)] + [
            str(path) for path in sorted(Path(sys.base_prefix).parent.glob(
                version + ".*/bin/python" + version))]
        for path in candidates:
            if path and subprocess.run([path, "-S", "-c", "pass"], capture_output=True,
                                       timeout=60).returncode == 0:
                found[version] = path
                break
    return found


# The CPythons pyproject.toml's requires-python promises, each tested.
SUPPORTED_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
# Supported versions CI runs in a Debian tier's root rather than on the machine (pyenv here has
# no 3.14; Debian 14's python3 is 3.14): their absence here is no failure, even under CI.
RUN_IN_A_DEBIAN_ROOT = {"3.14": "make test-debian14 (tests/debian.py --release 14)"}


def missing_in_ci(found, wanted=SUPPORTED_PYTHONS):
    """The versions of ``wanted`` not in ``found`` that CI must have here: every one but
    those a Debian tier runs (``RUN_IN_A_DEBIAN_ROOT``)."""
    return [version for version in wanted
            if version not in found and version not in RUN_IN_A_DEBIAN_ROOT]


def supported_pythons():
    """{version: path} of every supported CPython here: a missing one is a failure under CI,
    where each must be tested (but those a Debian tier runs); elsewhere a test runs on those
    the machine has."""
    found = pythons(SUPPORTED_PYTHONS)
    missing = missing_in_ci(found)
    if missing and IN_CI:
        pytest.fail("CI=true but no CPython %s here (pyenv's or on PATH)" % ", ".join(missing))
    if not found:
        pytest.skip("no supported CPython here")
    return found


def parsed(path):
    """The syntax tree of the Python file ``path``, parsed once per content of the file: the
    checks that read the package's source each walk every module, and only read the trees."""
    status = path.stat()
    return _parsed(path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=None)
def _parsed(path, mtime_ns, size):
    return ast.parse(path.read_text(), str(path))


def has_c_runit():
    return os.access(C_RUNIT["runsv"], os.X_OK)


# The C runit's version by the ``$Id: …$`` string its ``sv`` prints with ``-V`` (each release's
# sv.c has its own): where dpkg does not say (a runit built by hand).
C_SV_IDS = {"900314260c6d52c986c5357673bea2f3bd3f4698": "2.1.2",
            "bccdf71babe2596029c67cd0f6cec89bd05844a2": "2.2.0",
            "fe81761ea74cfdd6211cafc8b9e94f4870f42c43": "2.3.1"}


@functools.lru_cache(maxsize=None)
def c_runit_version():
    """The installed C runit's upstream version ("2.1.2": Debian 12's, "2.2.0": Debian 13's,
    "2.3.1": Debian 14's), for the tests whose expectation it changes
    (docs/compatibility.md#runit-220-debian-13, #runit-231-debian-14): dpkg's record of the
    ``runit`` package, else the ``$Id`` in its ``sv``; None without a C runit or when neither
    tells."""
    if not has_c_runit():
        return None
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "runit"],
                              capture_output=True, text=True, timeout=60)
    except OSError:
        done = None
    match = re.match(r"(?:\d+:)?(\d+\.\d+\.\d+)", done.stdout) if done and \
        done.returncode == 0 else None
    if match:
        return match.group(1)
    binary = Path(C_RUNIT["sv"]).read_bytes()
    return next((version for sv_id, version in C_SV_IDS.items() if sv_id.encode() in binary),
                None)


def c_runit_at_least(version):
    """Whether the installed C runit is ``version`` ("2.2.0") or later."""
    found = c_runit_version()
    return found is not None and tuple(map(int, found.split("."))) >= \
        tuple(map(int, version.split(".")))


def require_c_runit():
    """Skip without the C runit — except in CI, where its absence is a failure."""
    if not has_c_runit():
        missing("Debian's runit (%s)" % C_RUNIT["runsv"], "apt-get install runit")


def wants_c_runit():
    """Whether a test compares with the C runit: where it is installed — under CI always, its
    absence a failure. For a test whose own part runs without it."""
    if IN_CI:
        require_c_runit()
    return has_c_runit()


def our_tool(name):
    path = OUR_BIN / name
    if not path.exists():
        pytest.fail("%s is not installed next to %s; run the tests through `make test`"
                    % (name, sys.executable))
    return str(path)


def make_bin_dir(target, impl):
    """A directory of links named like runit's tools, pointing at one implementation.

    ``impl`` is ``"ours"`` or ``"c"``; tools an implementation lacks are left out, so a
    transcript that needs one fails loudly with "not found".
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in list(C_RUNIT) + list(PERSONALITIES):
        if impl == "ours":
            source = OUR_BIN / name
        elif name in PERSONALITIES:
            source = Path(C_RUNIT["chpst"])
        else:
            source = Path(C_RUNIT[name])
        if source.exists():
            (target / name).symlink_to(source)
    return target


def made_once(tmp_path_factory, name, make, timeout=900):
    """``make(directory)``'s result (a path under ``directory``), made once for the whole run:
    in a parallel run the first worker to ask makes it under the run's temp directory (each
    worker's is a directory of it), holding a lock the others wait for, then take its result.
    A make that failed is made again by the next to ask."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    directory = base / name
    deadline = time.monotonic() + timeout
    with open(str(base / (name + ".lock")), "w") as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail("%s: another worker still making it after %d s" % (name, timeout))
                time.sleep(0.2)
        made = directory / ".made"
        if made.exists():
            return directory / made.read_text()
        shutil.rmtree(str(directory), ignore_errors=True)
        directory.mkdir()
        result = make(directory)
        made.write_text(str(result.relative_to(directory)))
        return result


def build_wheelhouse(target):
    """This checkout's wheel and its dependencies' wheels (pip's own cache and configured index:
    the only package-index use of the tiers that install the wheel, once per run)."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet",
                           "--disable-pip-version-check", "--wheel-dir", str(target), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    wheels = sorted(target.glob("runit_provision-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="session")
def checkout_wheelhouse(tmp_path_factory):
    """``(directory, wheel)``: this checkout's wheel and its dependencies' wheels, built once for
    the whole run (``made_once``): tests/test_wheel.py and the Puppet tiers install that wheel."""
    wheel = made_once(tmp_path_factory, "wheelhouse", build_wheelhouse)
    return wheel.parent, wheel


def pytest_addoption(parser):
    parser.addoption("--ours-only", action="store_true",
                     help="leave out every test's run against the C runit (the runtime tier "
                     "under another CPython: tests/other_pythons.py)")
    parser.addoption("--every-python", action="store_true",
                     help="run the tests marked every_python, which are left out otherwise "
                     "(the wheel on every supported CPython: tests/other_pythons.py)")


# The parameters by which a test runs once against each implementation: ``ours``, ``c`` (or
# ``c-TOOL``, the C runit's TOOL around ours).
IMPL_PARAMETERS = ("impl", "which", "sv_impl", "outer")


def runs_the_c_runit(item):
    """Whether the collected ``item`` is a test's run against the C runit (by its parameters).
    """
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(str(params.get(name, "")).split("-")[0] == "c" for name in IMPL_PARAMETERS)


def is_not_applicable(item):
    """Whether a ``not_applicable(reason=…, PARAM=VALUE…)`` marker of ``item`` names its
    parameters: a case that cannot apply (a behaviour only one runtime has) is never run, so
    it is no skip (tests/skips.py)."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    for marker in item.iter_markers("not_applicable"):
        wanted = {name: value for name, value in marker.kwargs.items() if name != "reason"}
        if wanted and all(name in params and params[name] == value
                          for name, value in wanted.items()):
            return True
    return False


def pytest_collection_modifyitems(config, items):
    """``--ours-only``: the C runit's runs are deselected — under another CPython only ours
    changes (the C runit's are the same programs as under ``make test``). The tests marked
    ``every_python`` run only with ``--every-python``: the tier of every CPython runs them,
    not ``make test``. A case marked ``not_applicable`` is never run."""
    def is_dropped(item):
        if item.get_closest_marker("every_python") is not None:
            return not config.getoption("--every-python")
        if is_not_applicable(item):
            return True
        return config.getoption("--ours-only") and runs_the_c_runit(item)
    dropped = [item for item in items if is_dropped(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not is_dropped(item)]


@pytest.fixture(params=["ours", "c"])
def impl(request):
    """Both implementations; the C one only where installed (always in CI)."""
    if request.param == "c":
        require_c_runit()
    return request.param


@pytest.fixture
def impl_bin(impl, tmp_path):
    return make_bin_dir(tmp_path / ("bin-" + impl), impl)


@pytest.fixture
def which_tool():
    """Resolve a tool for an implementation: ``which_tool("c", "sv")``."""
    def resolve(impl_name, tool):
        if impl_name == "c":
            require_c_runit()
            return C_RUNIT[tool]
        return our_tool(tool)
    return resolve


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """The stderr of what the test runs through ``subprocess.run``, kept for its report
    (tests/childstderr.py)."""
    from .childstderr import recording

    with recording(item.stash.setdefault(CHILDREN_STDERR, [])):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report shows what its commands said on stderr. Under ``CI=true`` a
    skip whose reason tests/skips.py does not allow is a failure: CI installs everything."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = skip_reason(report)
        if allowed_in_ci(reason) is None:
            report.outcome = "failed"
            report.longrepr = ("CI=true: a skip is a failure unless tests/skips.py allows "
                               "its reason: %s" % reason)
    found = item.stash.get(CHILDREN_STDERR, None)
    if report.failed and found:
        from .childstderr import report_text

        report.sections.append(("stderr of the commands it ran", report_text(found)))


def pytest_report_header(config):
    return "our tools: %s; C runit: %s; CI=%s" % (
        OUR_BIN, "installed" if has_c_runit() else "absent", IN_CI)


@pytest.fixture(autouse=True)
def no_default_data(monkeypatch):
    """No test reads this machine's default data (cli/default_data.py): not a
    $RUNIT_PROVISION_HIERA of the shell running the tests (nor in the commands they start), not
    /etc/runit-provision/hiera.yaml in-process (--root DIR's DIR/etc/… stays).
    tests/cli/test_default_data.py sets both."""
    from runit_provision.cli import default_data
    monkeypatch.delenv(default_data.HIERA_VARIABLE, raising=False)
    monkeypatch.setattr(default_data, "DEFAULT_HIERA",
                        "/nonexistent/runit-provision-tests/hiera.yaml")


@pytest.fixture(autouse=True)
def host_devices_intact():
    """No test may break the machine's /dev/null (a bind of /dev left mounted under a root
    that a clean-up then empties, an atomic write told to replace it…): every later test that
    runs a shell would fail as a user with 'cannot create /dev/null', far from the cause. The
    test that broke it fails here, by name, and the device is made again for the rest."""
    yield
    info = os.lstat(os.devnull)
    if stat.S_ISCHR(info.st_mode) and info.st_rdev == os.makedev(1, 3):
        return
    try:
        os.unlink(os.devnull)
        os.mknod(os.devnull, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(os.devnull, 0o666)
    except OSError as exc:
        pytest.fail("this test broke %s, which could not be made again: %s" % (os.devnull, exc))
    pytest.fail("this test broke %s (it was mode %o); made again" % (os.devnull, info.st_mode))


# How a parallel run (`make test`: pytest-xdist, five workers) shares out the tests: a test file
# is one unit, run whole by one worker (its module's fixtures made once); and what the machine
# has only one of is one unit — the session's Puppet server and PuppetDB, the security tier's
# users apprun1 and apprun2, whose processes its tests look for by uid. The Puppet tests are
# two units in two workers, where they were one of ten minutes: the stack's, its own tests
# after Puppet tests that need no stack and run while it boots (rspec, the module's checks),
# and the other Puppet tests (``puppet apply`` of the module and its noop, its tasks, the
# lookups), each about half of the Puppet tests' time (measured together, with the wheel's
# test, under four workers: ~330 s and ~300 s).
# The longest units go first (LONGEST_FIRST), then the others, the largest first: a long unit
# left for the end keeps one worker busy while the other has nothing left.
STACK_GROUP = "puppet-stack"
SERIAL_GROUPS = tuple(("tests/puppet/%s.py" % name, STACK_GROUP) for name in (
    "test_fleet", "test_puppetdb", "test_rspec", "test_module")) + (
    ("tests/puppet/", "puppet"), ("tests/hiera/test_against_puppet.py", "puppet"),
    ("tests/security/", "users"), ("tests/cli/test_owed_restarts.py", "users"))

# The units that take longest, longest first (measured in full runs with --durations: the
# groups several minutes each; then the files that spend half a minute or more waiting on real
# processes). A fast unit of many tests sorts by its count; one of a few long tests would
# otherwise come last, when the other workers are done.
LONGEST_FIRST = (STACK_GROUP, "puppet", "users", "tests/runtime/test_transcripts.py",
                 "tests/test_docs_run.py", "tests/cli/test_control_watch.py",
                 "tests/runtime/test_chaos.py", "tests/apply/test_kill_apply.py",
                 "tests/test_wheel.py", "tests/runtime/test_sv.py",
                 "tests/protocol/test_calendar_parity.py", "tests/runtime/test_runsv_interop.py")


def unit_of(nodeid):
    """The unit of work a test belongs to: its group's name, or its file.

    >>> unit_of("tests/security/test_users.py::test_f1[ours]")
    'users'
    >>> unit_of("tests/cli/test_apply.py::test_plan")
    'tests/cli/test_apply.py'
    """
    path = nodeid.split("::")[0]
    return next((name for prefix, name in SERIAL_GROUPS if path.startswith(prefix)), path)


def in_running_order(units):
    """``[(unit, its tests)]`` in the order the workers take them: LONGEST_FIRST's, in its
    order, then the rest by their number of tests, the largest first.

    >>> in_running_order([("a.py", [1]), ("b.py", [1, 2]), ("tests/test_wheel.py", [1]),
    ...                   ("puppet", [1])])
    [('puppet', [1]), ('tests/test_wheel.py', [1]), ('b.py', [1, 2]), ('a.py', [1])]
    """
    def rank(item):
        unit, tests = item
        if unit in LONGEST_FIRST:
            return (0, LONGEST_FIRST.index(unit))
        return (1, -len(tests))
    return sorted(units, key=rank)


def pytest_xdist_make_scheduler(config, log):
    # xdist's own loadgroup reads a mark it then writes into each nodeid, which pytest 9's
    # nodes no longer take (Node.nodeid is _id): the groups were silently ignored
    from collections import OrderedDict

    from xdist.scheduler import LoadScopeScheduling

    class ByFileAndGroup(LoadScopeScheduling):
        ordered = False

        def _split_scope(self, nodeid):
            return unit_of(nodeid)

        def _assign_work_unit(self, node):
            # the work queue is whole by the first assignment (schedule() made it, by count)
            if not self.ordered:
                self.workqueue = OrderedDict(in_running_order(self.workqueue.items()))
                self.ordered = True
            super()._assign_work_unit(node)
    return ByFileAndGroup(config, log)


TEMPORARY_PLACES = ("/tmp", "/dev/shm", "/var/tmp")


def trees_cgroups():
    """``(Cgroups, {directory: cgroup})``: the cgroups trees started in the hierarchy's root
    made (``/runit-provision/<its directory, escaped>``), by the directory each was made for;
    ``(None, {})`` without a cgroup v2 hierarchy."""
    from runit_provision.protocol.cgroupfs import cgroup2_mount
    from runit_provision.runtime.unix.cgroup import OWN_ROOT, Cgroups
    try:
        with open("/proc/self/mountinfo") as handle:
            mount = cgroup2_mount(handle.read())
        names = os.listdir(mount + OWN_ROOT) if mount else []
    except OSError:
        return None, {}
    found = {tree_directory(name): OWN_ROOT + "/" + name for name in names
             if os.path.isdir(mount + OWN_ROOT + "/" + name)}
    return Cgroups(mount, OWN_ROOT, "/"), found


def tree_directory(leaf_name):
    r"""The directory a tree's cgroup is named after (unix/cgroup.tree_leaf_name, undone).

    >>> tree_directory("tmp-pytest\\x2dof\\x2droot-pytest\\x2d4-a\\x5cb")
    '/tmp/pytest-of-root/pytest-4/a\\b'
    """
    return "/" + "/".join(part.replace("\\x2d", "-").replace("\\x5c", "\\")
                          for part in leaf_name.split("-"))


@pytest.fixture(scope="session", autouse=True)
def cgroups_of_the_session(tmp_path_factory):
    """A tree the tests kill leaves the cgroup it made (the next tree on its directory would
    take it up; none will): once this process's tests are done, what is left in those of its
    temporary directories is ended and they are removed, the deepest first."""
    yield
    ours = str(tmp_path_factory.getbasetemp()) + "/"
    cgroups, found = trees_cgroups()
    for directory, cgroup in found.items():
        if directory.startswith(ours):
            cgroups.kill_all(cgroup)
            deadline = time.monotonic() + 10
            while is_populated(cgroups.fs(cgroup)) and time.monotonic() < deadline:
                time.sleep(0.05)
            cgroups.remove(cgroup)


def is_populated(cgroup_dir):
    """Whether a process is in the cgroup at ``cgroup_dir`` or below (its cgroup.events)."""
    try:
        with open(cgroup_dir + "/cgroup.events") as handle:
            return "populated 1" in handle.read().splitlines()
    except OSError:
        return False


def pytest_sessionfinish(session):
    """The cgroups of trees on temporary directories that are gone (a test's ``mkdtemp``, a
    session killed before its own clean-up): removed where empty, once every worker is done
    — a live tree's directory is there, and a host's own trees are never on these."""
    if hasattr(session.config, "workerinput"):
        return
    cgroups, found = trees_cgroups()
    for directory, cgroup in found.items():
        if directory.startswith(tuple(place + "/" for place in TEMPORARY_PLACES)) \
                and not os.path.exists(directory):
            cgroups.remove(cgroup)
