"""verify over a host whose supervision is faked in-process (``FakeRunsv``): the checks, the
reading of the host by both probes (python3's and sh's, which asks sv), and the CLI's reports.

The data is put on disk by ``runit-provision apply --root /`` (in place; nothing started, as
no runsvdir runs here); every enabled side gets a ``supervise/`` whose ``ok`` this process
holds open, as a runsv would. The real supervisors
(ours and the C runit) are test_live.py's.
"""

import grp
import json
import os
import signal
import threading
from xml.etree import ElementTree

import pytest
import testinfra

from runit_provision.checks.expected import expectations
from runit_provision.checks.verify import verify_host
from runit_provision.cli.main import main
from runit_provision.protocol.status import State
from runit_provision.shown import shown_name

from ..conftest import OUR_BIN
from ..runtime.processes import BASE_PATH
from .helpers import (DRIFT_FAILURES, FakeRunsv, apply_data, assert_drift_reported,
                      assert_strays_reported, drift_files, failures, host_data, NEITHERS,
                      plant_strays, rendered, SLEEP)

PROBES = ["python", "sh"]


@pytest.fixture
def host(monkeypatch):
    # our tools first on the PATH the probe sees (runtime: python); sv for the sh probe
    monkeypatch.setenv("PATH", "%s:%s" % (OUR_BIN, BASE_PATH))
    return testinfra.get_host("local://")


@pytest.fixture
def faked(sandbox):
    """The host of ``host_data``, on disk, every enabled side served (down ones down)."""
    config, tree, data_file = rendered(sandbox, host_data(sandbox, BASE_PATH))
    apply_data(data_file, sandbox, staged=True)
    runsv = FakeRunsv()
    for name, service in config.services.items():
        if service.enabled and service.ensure == "present":
            side = sandbox / "service" / name
            runsv.serve(side, State.DOWN if service.down else State.RUN,
                        "d" if service.down else "u")
            if service.log is not False:
                runsv.serve(side / "log")
    for side in (sandbox / "service" / "runsvdir-root", sandbox / "home" / "service" / "app"):
        runsv.serve(side)
        runsv.serve(side / "log")
    yield config, tree, data_file, runsv
    runsv.close()


@pytest.mark.parametrize("probe", PROBES)
def test_a_correct_host_passes(faked, host, probe):
    config, tree, _, _ = faked
    outcomes = verify_host(host, expectations(config, tree), python=probe == "python")
    assert failures(outcomes) == {}
    ids = [outcome.check.nodeid for outcome in outcomes]
    assert "web::running" in ids and "worker::supervised" in ids
    assert "worker::running" not in ids  # down: normally down is not "never up"
    assert "spare::not linked" in ids and "old::absent" in ids
    assert "runsvdir-root::runs as root" in ids and "root/app::logger running" in ids


@pytest.mark.parametrize("probe", PROBES)
def test_each_drift_fails_naming_the_service_and_what(faked, host, sandbox, probe):
    config, tree, _, runsv = faked
    drift_files(sandbox)
    runsv.write(sandbox / "service" / "web", State.DOWN, "d")  # sv down web
    # sv down runsvdir-root: the user's runsvdir stops its tree
    runsv.write(sandbox / "service" / "runsvdir-root", State.DOWN, "d")
    for side in ("app", "app/log"):
        runsv.stop_serving(sandbox / "home" / "service" / side)
    outcomes = verify_host(host, expectations(config, tree), python=probe == "python")
    assert_drift_reported(outcomes, sandbox)
    changed = next(o for o in outcomes if o.check.nodeid == "api::files").problems[0]
    assert changed.splitlines()[1:] == ["--- data", "+++ host", "@@ -3 +3,2 @@",
                                        changed.splitlines()[4], "+# edited by hand"]


@pytest.mark.parametrize("probe", PROBES)
def test_what_verify_flags_apply_puts_back(faked, host, sandbox, probe):
    """verify and apply agree: every undeclared file runsv would act on that verify flags,
    apply purges (inside the service directories it owns; env/ because env is declared), and
    a group the data leaves open is the owner's primary group for both."""
    config, tree, data_file, _ = faked
    plant_strays(sandbox)
    assert_strays_reported(verify_host(host, expectations(config, tree),
                                       python=probe == "python"), sandbox)
    apply_data(data_file, sandbox, staged=True)
    assert failures(verify_host(host, expectations(config, tree),
                                python=probe == "python")) == {}
    assert all((sandbox / path).exists() for path in NEITHERS)


@pytest.mark.parametrize("probe", PROBES)
def test_a_services_run_as_accounts_are_asked_of_the_host_verified(sandbox, host, probe):
    """A remote host's accounts are its own (verify reads them there, not the data's
    ``--passwd``): ``chpst -u`` of a user or group the host lacks fails, naming it."""
    data = host_data(sandbox, BASE_PATH)
    data["runit"]["services"] = {
        "known": {"command": SLEEP, "user": "nobody", "group": grp.getgrgid(0).gr_name},
        "typo": {"command": SLEEP, "user": "nobdy-not-here"},
        "badgroup": {"command": SLEEP, "user": "nobody", "group": "nogrup-not-here"}}
    config, tree, _ = rendered(sandbox, data)
    outcomes = verify_host(host, expectations(config, tree), python=probe == "python")
    found = {outcome.check.nodeid: outcome for outcome in outcomes
             if outcome.check.name == "run-as accounts"}
    assert found["known::run-as accounts"].status == "passed"
    assert found["typo::run-as accounts"].problems == [
        "typo: chpst -u nobdy-not-here: user nobdy-not-here does not exist on the host"]
    assert found["badgroup::run-as accounts"].problems == [
        "badgroup: chpst -u nobody:nogrup-not-here: group nogrup-not-here does not exist on "
        "the host"]


@pytest.mark.parametrize("probe", PROBES)
def test_services_not_in_the_data_are_found_and_judged_by_runsvs_rule(faked, host, sandbox,
                                                                      probe):
    """Every other entry of the service directories runsvdir would run is one check, found on
    the host: it runs, or a down file marks it normally down; a link to nothing fails (runsvdir
    warns about it at every scan); no check for a dot-name, a file or a link to a file."""
    config, tree, _, runsv = faked
    by_hand = sandbox / "by-hand"
    for name in ("handy", "dead", "resting", "mine"):
        (by_hand / name).mkdir(parents=True)
    (by_hand / "resting" / "down").write_text("")
    service = sandbox / "service"
    for name in ("handy", "dead", "resting"):
        (service / name).symlink_to(by_hand / name)
    runsv.serve(service / "handy")
    (service / "gone").symlink_to(by_hand / "nowhere")
    (service / ".hidden").symlink_to(by_hand / "dead")
    (service / "notes").write_text("a file\n")
    (service / "tonotes").symlink_to("notes")
    (sandbox / "home" / "service" / "mine").symlink_to(by_hand / "mine")  # a user's tree
    outcomes = verify_host(host, expectations(config, tree), python=probe == "python")
    found = {outcome.check.nodeid: outcome for outcome in outcomes
             if outcome.check.name == "running (not in the data)"}
    assert sorted(found) == ["dead::running (not in the data)",
                             "gone::running (not in the data)",
                             "handy::running (not in the data)",
                             "resting::running (not in the data)",
                             "~root/mine::running (not in the data)"]
    assert [found[name].status for name in sorted(found)] == [
        "failed", "failed", "passed", "passed", "failed"]
    assert found["gone::running (not in the data)"].problems == [
        "gone: not in the data, and links to %s, which does not exist" % (by_hand / "nowhere")]
    assert found["dead::running (not in the data)"].problems[0].startswith("dead: not running")
    assert failures(outcomes).keys() == {name for name in found
                                         if found[name].status == "failed"}
    # --only: what is asked for, nothing found beyond it
    only = verify_host(host, expectations(config, tree, only=["web"]), python=probe == "python")
    assert not [outcome for outcome in only if "not in the data" in outcome.check.name]


def test_a_service_directory_that_cannot_be_listed_is_a_failed_check(sandbox, host):
    from runit_provision.checks import hostprobe

    config, tree, _ = rendered(sandbox, host_data(sandbox, BASE_PATH))
    (sandbox / "service").mkdir()
    # entries, whatever their kind, are what the probe counts: links to one file, each made
    # and removed without an inode of its own
    (sandbox / "entry").write_text("")
    for index in range(hostprobe.TREE_LIMIT + 1):
        os.link(str(sandbox / "entry"), str(sandbox / "service" / ("s%05d" % index)))
    outcomes = verify_host(host, expectations(config, tree))
    (unlisted,) = [outcome for outcome in outcomes
                   if outcome.check.nodeid == "system::services not in the data"]
    assert unlisted.problems == [
        "%s: not listed (unreadable, or more than %d entries): what runs there cannot be "
        "told" % (sandbox / "service", hostprobe.TREE_LIMIT)]


def test_every_drift_kind_is_one_check(sandbox):
    """The drift table names each kind the issue lists once at least."""
    kinds = {nodeid.split("::")[1] for nodeid in DRIFT_FAILURES}
    assert {"running", "files", "logger running", "log dir writable", "absent",
            "supervised"} <= kinds


# -- the CLI ------------------------------------------------------------------------------------
def test_verify_cli_passes_with_exit_0(faked, host, capsys, tmp_path):
    _, _, data_file, _ = faked
    junit = tmp_path / "reports" / "verify.xml"
    code = main(["verify", "--data", str(data_file), "--junitxml", str(junit)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("=") and "runit-provision verify" in out.splitlines()[0]
    assert out.splitlines()[-1].strip("= ").endswith("s")
    assert " passed in " in out.splitlines()[-1] and "failed" not in out
    suite = ElementTree.parse(str(junit)).getroot().find("testsuite")
    assert suite.get("failures") == "0" and int(suite.get("tests")) > 30
    names = {(case.get("classname"), case.get("name")) for case in suite.iter("testcase")}
    assert ("local.web", "running") in names and ("local.root/app", "supervised") in names


def test_verify_cli_fails_with_exit_1_and_names_the_drift(faked, host, capsys, sandbox,
                                                          tmp_path):
    _, _, data_file, runsv = faked
    drift_files(sandbox)
    junit = tmp_path / "verify.xml"
    code = main(["verify", "--data", str(data_file), "--junitxml", str(junit)])
    out = capsys.readouterr().out
    assert code == 1
    assert "= FAILURES =" in out and "= short test summary info =" in out
    assert ("FAILED db::files - %s/sv/db/run: mode 0700, want 0755" % sandbox) in out
    assert out.splitlines()[-1].strip("= ").startswith("8 failed, ")
    suite = ElementTree.parse(str(junit)).getroot().find("testsuite")
    assert suite.get("failures") == "8"
    failure = [case for case in suite.iter("testcase")
               if (case.get("classname"), case.get("name")) == ("local.api", "files")][0]
    assert "content differs" in failure.find("failure").get("message")
    assert "+# edited by hand" in failure.find("failure").text


def test_verify_cli_json(faked, host, capsys, sandbox):
    _, _, data_file, _ = faked
    (sandbox / "sv" / "db" / "run").chmod(0o700)
    code = main(["verify", "--data", str(data_file), "--json", "--probe", "sh",
                 "--only", "db", "web"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["passed"] is False
    assert report["summary"]["failed"] == 1
    failed = [check for check in report["checks"] if check["status"] == "failed"]
    assert failed == [{"host": "local", "id": "db::files", "group": "db", "check": "files",
                       "status": "failed", "reason": None,
                       "problems": ["%s/sv/db/run: mode 0700, want 0755" % sandbox]}]


def test_verify_cli_verbose_and_only(faked, host, capsys):
    _, _, data_file, _ = faked
    assert main(["verify", "--data", str(data_file), "--only", "web", "-v"]) == 0
    out = capsys.readouterr().out
    assert "web::running PASSED" in out and "api::files" not in out


def test_verify_cli_bad_data_and_unreadable_host(sandbox, host, capsys):
    bad = sandbox / "bad.yaml"
    bad.write_text("runit:\n  services:\n    web: {comand: x}\n")
    assert main(["verify", "--data", str(bad)]) == 1
    assert "unknown key" in capsys.readouterr().err
    good = sandbox / "good.yaml"
    good.write_text("runit:\n  init: none\n  sv_dir: %s/sv\n" % sandbox)
    code = main(["verify", "--data", str(good), "--hosts", "ssh://nonexistent.invalid?timeout=1"])
    out = capsys.readouterr().out
    assert code == 1 and "ERROR system::directories[" not in out  # one host: no [host] suffix
    assert "ERROR system::directories - cannot read ssh://nonexistent.invalid" in out



def test_host_run_count_is_one_per_host(faked, host):
    config, tree, _, _ = faked

    class Counting:
        runs = 0

        def run(self, command, *args):
            Counting.runs += 1
            return host.run(command, *args)

    outcomes = verify_host(Counting(), expectations(config, tree))
    assert failures(outcomes) == {} and Counting.runs == 1
    assert os.getpid()  # the fake supervision's pid is this process


def test_a_host_that_does_not_answer_in_time_is_an_error_and_the_next_host_is_read(faked, host):
    config, tree, _, _ = faked
    expected = expectations(config, tree)
    let_go = threading.Event()

    class Held:  # a host whose probe hangs (a home on an NFS server that is gone)
        def run(self, command, *args):
            let_go.wait(60)
            return host.run(command, *args)

    try:  # the probe answers only once verify_host has returned: it was not waited for
        outcomes = verify_host(Held(), expected, "held", seconds=0.1)
    finally:
        let_go.set()
    # how soon it gives up (not before its time): tests/test_timing.py (slow)
    assert outcomes and {outcome.status for outcome in outcomes} == {"error"}
    assert {outcome.error for outcome in outcomes} == {
        "cannot read held: no answer within 0.1 s (the probe is left running on the host)"}
    assert failures(verify_host(host, expected, seconds=60)) == {}  # the next host, in time


def test_verify_cli_a_probe_that_hangs_on_the_host_is_an_error_after_host_timeout(
        sandbox, host, capsys, tmp_path, monkeypatch):
    """A real probe that hangs: the host's python3 never answers (as one held by a file system
    or an account lookup would not); verify reports the host within --host-timeout."""
    hung, pids = tmp_path / "hung", tmp_path / "pids"
    hung.mkdir()
    (hung / "python3").write_text("#!/bin/sh\necho $$ >>%s\nexec sleep 600\n" % pids)
    (hung / "python3").chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (hung, os.environ["PATH"]))
    good = sandbox / "good.yaml"
    good.write_text("runit:\n  init: none\n  sv_dir: %s/sv\n" % sandbox)

    def end_the_probe():
        for pid in (pids.read_text().split() if pids.exists() else ()):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    watchdog = threading.Timer(40, end_the_probe)  # without a deadline: a failure, not a hang
    watchdog.start()
    try:
        code = main(["verify", "--data", str(good), "--host-timeout", "1"])
        # the probe still runs: verify gave up on it, it did not wait for it to end
        probes = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
        still_running = [pid for pid in probes if os.path.exists("/proc/%d" % pid)]
    finally:
        watchdog.cancel()
        end_the_probe()
    out = capsys.readouterr().out
    assert probes and still_running == probes and code == 1
    assert ("ERROR system::directories - cannot read local: no answer within 1 s "
            "(the probe is left running on the host)") in out


# -- names from outside, safe to print (docs/security.md, N7) ------------------------------------
PLANTED = [b"esc\x1b]0;PWNED\x07\x1b[2Jx", b"nl\nfake: line", b"bad\xffname", b"csi\xc2\x9bm"]


@pytest.mark.parametrize("probe", ["auto", "sh"])
def test_names_and_lines_from_the_host_are_shown_escaped(faked, host, capsys, sandbox, tmp_path,
                                                          probe):
    """Each planted name on one line, escaped, in the text, JSON and JUnit XML; the host's
    lines of a content diff with their control characters escaped."""
    _, _, data_file, _ = faked
    env = os.fsencode(sandbox / "sv" / "web" / "env")
    for name in PLANTED:
        open(os.path.join(env, name), "wb").close()
    run = sandbox / "sv" / "db" / "run"
    run.write_bytes(run.read_bytes() + b"# \x1b]0;PWNED\x07\n")
    junit = tmp_path / "verify.xml"
    assert main(["verify", "--data", str(data_file), "--probe", probe, "--only", "web", "db",
                 "--junitxml", str(junit)]) == 1
    out = capsys.readouterr().out
    lines = out.split("\n")
    for name in PLANTED:
        path = "%s/sv/web/env/%s" % (sandbox, shown_name(os.fsdecode(name)))
        assert "%s: not in the data (chpst -e sets it)" % path in lines, (path, out)
    assert "+# \\x1b]0;PWNED\\x07" in lines
    assert all(line.isprintable() for line in lines), out
    problems = [problem for case in ElementTree.parse(str(junit)).getroot().iter("failure")
                for problem in case.text.split("\n")]
    assert "+# \\x1b]0;PWNED\\x07" in problems
    assert main(["verify", "--data", str(data_file), "--probe", probe, "--only", "web", "db",
                 "--json"]) == 1
    text = capsys.readouterr().out
    text.encode("utf-8")
    report = json.loads(text)
    shown = [problem for check in report["checks"] for problem in check["problems"]]
    assert len([problem for problem in shown if "not in the data" in problem]) == len(PLANTED)


@pytest.mark.parametrize("value", ["-3", "soon", "1.5"])
def test_verify_cli_a_bad_host_timeout_is_bad_usage(value, capsys):
    with pytest.raises(SystemExit) as ended:
        main(["verify", "--data", "x", "--host-timeout", value])
    assert ended.value.code == 2
    assert ("argument --host-timeout: expected a number of seconds (0 or more), got %r"
            % value) in capsys.readouterr().err


def test_a_running_service_that_declares_readiness_gets_the_ready_check(sandbox):
    """``ready`` is checked of every service the data starts that declares readiness, and of
    no other (docs/readiness.md): it was once only built for down one-shots, which refuse it."""
    data = host_data(sandbox, BASE_PATH)
    services = data["runit"]["services"]
    services["web"]["ready"] = "notify"
    services["worker"]["ready"] = "notify"  # down: nothing running to be ready
    config, tree, _ = rendered(sandbox, data)
    named = {(check.group, check.name) for check in expectations(config, tree).checks}
    assert ("web", "ready") in named
    assert not {label for label, name in named if name == "ready"} - {"web"}


def test_a_pointer_that_gives_way_passes_where_an_earlier_layout_left_a_directory():
    """~/logs/runsvdir leads to root's log of the user's tree; a directory of the layout before
    it is left by apply, said as a no-op, so verify does not fail it — any other link there
    still must lead where the data says, and a service's link never gives way."""
    from runit_provision.checks.expected import entry_problems
    from runit_provision.checks.snapshot import Node
    from runit_provision.model.tree import Symlink

    class Seen:
        def __init__(self, node):
            self.seen = node

        def node(self, path):
            return self.seen

    path, target = "/home/alice/logs/runsvdir", "/var/log/runsvdir-alice"
    pointer = Symlink(path, target, "alice", "alice", yields=True)
    service_link = Symlink(path, target)
    directory = Node(path, kind="d", mode=0o750)
    elsewhere = Node(path, kind="l", mode=0o777, target="/tmp/x")
    missing = Node(path, error="ENOENT")
    assert entry_problems(pointer, Seen(directory)) == []
    assert entry_problems(service_link, Seen(directory)) == [
        "%s: is a directory, not a link to %s" % (path, target)]
    assert entry_problems(pointer, Seen(elsewhere)) == [
        "%s: links to /tmp/x, want %s" % (path, target)]
    assert entry_problems(pointer, Seen(missing)) == ["%s: not linked (ENOENT)" % path]
