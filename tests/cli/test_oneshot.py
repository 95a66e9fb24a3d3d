"""One-shots (``oneshot: true``, docs/jobs.md; issue 46 §1) told truthfully by every view —
real processes, under our runsvdir and under the C runit (``runtime: system``: the C runsv
runs the same rendered ``./finish``, which keeps the record the C runsv does not).

The table: a one-shot done, failed (exit 4), still running, and killed (signal 9) → the
verdict's word and ``status NAME``'s exit code, ``verify``'s check, the Puppet fact (its
``verdict`` and ``not_running``), the metrics (``runit_service_as_wanted``,
``runit_service_oneshot_failed``) and ``fleet status``'s judgement of that fact (fleet/view,
pure). None says as wanted for a failed run. Then: ``start``/``restart``/``once`` wait for
the run's end and exit 0 when it is done, 3 with its exit and its log's last lines when it
failed; a one-shot's clean exits are no deaths (our runtime's tally; no crash loop after
six runs).

Every wait is bounded (``wait_until``'s deadlines, sv's ``-w``).
"""

import json
import os
import re
import subprocess
import time

import pytest

from runit_provision.checks.expected import expectations
from runit_provision.checks.verify import verify_host
from runit_provision.cli.main import main
from runit_provision.fleet.view import problems_of
from runit_provision.protocol.lastrun import last_run_from_bytes
from runit_provision.protocol.status import status_from_bytes
from runit_provision.render import render

from ..apply.test_live import live  # noqa: F401  (the fixture: a LiveTree, ours and the C)
from ..checks.helpers import failures as check_failures
from ..checks.live import local_host
from ..conftest import OUR_BIN
from ..pipeline import config_from_file
from ..runtime.processes import read_bytes, wait_until, waits_on_inotify

pytestmark = pytest.mark.slow

SERVICES = {
    "done": {"oneshot": True, "command": ["sh", "-c", "echo set up"]},
    "failed": {"oneshot": True, "command": ["sh", "-c", "echo 'fatal: no disk'; exit 4"]},
    "running": {"oneshot": True, "command": ["sh", "-c", "echo working; exec sleep 1000"]},
    "killed": {"oneshot": True, "command": ["sh", "-c", "echo dying; kill -9 $$"]},
}
STAMP = r"at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
WORDS = {  # the verdict's word of each, as status, the fact and fleet say it
    "done": r"done \(exit 0, %s, took \d+\.\ds\)\Z" % STAMP,
    "failed": r"failed \(exit 4, %s\)\Z" % STAMP,
    "running": r"running\Z",
    "killed": r"failed \(signal 9, %s\)\Z" % STAMP,
}
ENDINGS = {  # a one-shot's own line in its log, then its finish's
    "done": ("set up", "runit-provision: run done (exit 0)"),
    "failed": ("fatal: no disk", "runit-provision: run failed (exit 4)"),
    "killed": ("dying", "runit-provision: run failed (signal 9)"),
}
AS_WANTED = {"done": True, "failed": False, "running": True, "killed": False}


def applied(live, capsys, services):
    main([arg for arg in live.apply(services) if arg != "--json"])
    capsys.readouterr()
    return ["--data", str(live.data)]


def status(capsys, data, *names):
    capsys.readouterr()
    code = main(["status"] + data + ["--fact"] + list(names))
    return code, json.loads(capsys.readouterr().out)


def settled(capsys, data):
    """The fact once every one-shot that ends has ended (its finish wrote its record)."""
    def look():
        fact = status(capsys, data)[1]
        jobs = {row["service"]: row["main"].get("job") for row in fact["services"]}
        return fact if all(jobs[name] not in ("never run", "running")
                           for name in ("done", "failed", "killed")) \
            and jobs["running"] == "running" else None
    return wait_until(look, timeout=30, what="the one-shots ended")


def test_every_view_tells_a_one_shot_done_failed_running_or_killed(live, capsys):
    data = applied(live, capsys, SERVICES)
    config = config_from_file(live.data)
    fact = settled(capsys, data)
    rows = {row["service"]: row for row in fact["services"]}
    for name, pattern in WORDS.items():
        assert re.match(pattern, rows[name]["verdict"]), (name, rows[name])
        code, _ = status(capsys, data, name)
        assert code == (0 if AS_WANTED[name] else 3), name
    assert sorted(fact["not_running"]) == ["failed", "killed"], fact["not_running"]
    if live.impl == "ours":  # a clean exit is no death; a failed run is one
        assert rows["done"]["main"]["deaths"] == "0" and rows["failed"]["main"]["deaths"] == "1"

    # logs NAME shows the run and how it ended, in the verdict's words (the finish's line)
    for name, (printed, ended) in ENDINGS.items():
        def logged():
            capsys.readouterr()
            main(["logs", name, "-o", "cat"] + data)
            lines = capsys.readouterr().out.splitlines()
            return lines if ended in lines else None
        lines = wait_until(logged, timeout=30, what="%s's end in its log" % name)
        assert lines.index(printed) < lines.index(ended), (name, lines)

    # fleet status judges the node's fact as the node did
    problems, _ = problems_of({"node1": fact})
    assert sorted((problem.service, problem.why) for problem in problems) == [
        ("failed", rows["failed"]["verdict"]), ("killed", rows["killed"]["verdict"])]

    # the metrics: one verdict a service, and the one-shot's own families
    capsys.readouterr()
    main(["metrics"] + data)
    text = capsys.readouterr().out
    for name, wanted in AS_WANTED.items():
        labels = '{service="%s",tree="system",declared="true"}' % name
        assert "runit_service_as_wanted%s %d\n" % (labels, wanted) in text, (name, text)
        assert "runit_service_oneshot_failed%s %d\n" % (labels, not wanted) in text, name
    assert 'runit_service_oneshot_last_run_exit_code{service="failed",tree="system",' \
           'declared="true"} 4\n' in text
    assert 'runit_service_oneshot_last_run_signal{service="killed",tree="system",' \
           'declared="true"} 9\n' in text

    # verify: a one-shot passes running, or done
    main(["verify", "-v"] + data + ["--only", "done", "running"])
    out = capsys.readouterr().out
    for name in ("done", "running"):
        assert re.search(r"^%s::running or done .*PASSED$" % name, out, re.M), out
    code = main(["verify"] + data + ["--only", "failed", "killed"])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"FAILED failed::running or done - failed: failed \(exit 4, ", out), out
    assert re.search(r"FAILED killed::running or done - killed: failed \(signal 9, ", out), out
    # the same through both of verify's probes: python's, and sh's for a host without it
    for python in (True, False):
        found = check_failures(verify_host(local_host(), expectations(
            config, render(config)), python=python))
        assert {nodeid for nodeid in found if "running or done" in nodeid} == {
            "failed::running or done", "killed::running or done"}, (python, found)
        assert found["failed::running or done"].startswith("failed: failed (exit 4, at "), found


def test_start_restart_and_once_wait_for_the_end_and_say_a_failure(live, capsys):
    data = applied(live, capsys, {name: SERVICES[name] for name in ("done", "failed",
                                                                    "running")})
    assert wait_until(lambda: all(
        row["main"].get("job") in ("done", "failed") for row in status(capsys, data)[1][
            "services"] if row["service"] != "running") or None, timeout=30,
        what="done and failed ended")
    for verb, said in (("start", "started"), ("restart", "restarted"), ("once", "run once")):
        for _ in range(2):  # six clean runs of done in all: no crash loop
            assert main([verb] + data + ["--timeout", "10", "done"]) == 0, verb
            out = capsys.readouterr().out
            assert re.search(r"^ok: done: done \(exit 0, %s, took \d+\.\ds\)$" % STAMP,
                             out, re.M), out
        code = main([verb] + data + ["--timeout", "10", "failed"])
        out, err = capsys.readouterr()
        assert code == 3, (verb, out, err)
        lines = err.splitlines()
        assert lines[0].startswith("runit-provision %s: failed: failed: its run ended with "
                                   "exit 4 after " % verb), err
        assert lines[1].startswith("    ") and lines[1].endswith(" fatal: no disk"), err
        assert lines[-1] == "runit-provision %s: 1 service %s did not end done: failed" % (
            verb, said), err
    # --if-running (a Puppet refresh): a run under way is not ended as failed
    assert main(["once"] + data + ["--timeout", "2", "running"]) == 3  # still runs: not done
    assert "running: not done: still running " in capsys.readouterr().err
    assert main(["restart", "--if-running"] + data + ["running"]) == 0
    assert "ok: running: a one-shot: not restarted" in capsys.readouterr().out
    assert status(capsys, data, "running")[1]["services"][0]["verdict"] == "running"
    code, fact = status(capsys, data, "done")
    row = fact["services"][0]
    assert code == 0 and row["verdict"].startswith("done (exit 0"), row
    if live.impl == "ours":
        assert row["main"]["deaths"] == "0" and row["main"]["crash_looping"] is False, row


def test_needs_waits_for_a_one_shot_to_be_done_and_apply_reruns_it_only_when_told(
        live, capsys):
    """``needs: [setup]`` starts web once setup is done, not when it starts (setup takes a
    second; web exits 7 when setup's mark is not there yet, which would show as a death).
    A change of setup's ``env`` runs it again only with ``rerun_on_change: true``; apply says
    which."""
    mark = live.tmp / "set-up"
    setup = {"oneshot": True, "env": {"ROUND": "1"},
             "command": ["sh", "-c", "sleep 1; echo round $ROUND >>%s" % mark]}
    web = {"command": ["sh", "-c", "[ -e %s ] || exit 7; exec sleep 1000" % mark],
           "needs": ["setup"]}
    data = applied(live, capsys, {"setup": setup, "web": web})
    def done_and_up():
        rows = {row["service"]: row for row in status(capsys, data)[1]["services"]}
        return rows if rows["setup"]["verdict"].startswith("done (exit 0") \
            and rows["web"]["verdict"] == "as wanted" else None
    # (web's ./run waits in its guard while setup runs: its state is run all along)
    rows = wait_until(done_and_up, timeout=30, what="setup done, web up")
    if live.impl == "ours":
        assert rows["web"]["main"]["deaths"] == "0", rows  # never started before setup was done
    assert mark.read_text() == "round 1\n"

    def applied_out(services):
        code = main([arg for arg in live.apply(services) if arg != "--json"])
        out, err = capsys.readouterr()
        assert code == 0, out + err
        return out

    out = applied_out({"setup": dict(setup, env={"ROUND": "2"}), "web": web})
    assert "setup: env changed; no run again: a one-shot is not run again " \
           "(rerun_on_change: false)" in out, out
    assert mark.read_text() == "round 1\n"
    out = applied_out({"setup": dict(setup, env={"ROUND": "3"}, rerun_on_change=True),
                       "web": web})
    assert "rerun_on_change: true: run again" in out, out
    assert mark.read_text() == "round 1\nround 3\n"  # the apply watched it to its end


def test_our_tree_starts_a_dependent_once_its_one_shot_is_done_and_runsv_records_it(
        live, capsys):
    """Ours (issue 46 §4, one-shots at boot): web's ./run is held in the tree while setup
    runs — it starts after setup's run ended, so its guard never sleeps — and our runsv
    writes setup's record and keeps it down itself (its ./finish taken away, a start of it is
    recorded too, and it is not restarted). The C runit: web's ./run starts at once and its
    guard polls; both end with setup done once and web up."""
    marks = live.tmp / "marks"
    marks.mkdir()
    services = {
        "setup": {"oneshot": True, "command": ["sh", "-c", "sleep 1; echo run >>%s/setup" % marks]},
        "web": {"command": ["sh", "-c", "echo > %s/web; exec sleep 1000" % marks],
                "needs": ["setup"]},
    }
    data = applied(live, capsys, services)

    def up():
        rows = {row["service"]: row for row in status(capsys, data)[1]["services"]}
        return rows if rows["setup"]["verdict"].startswith("done (exit 0") \
            and rows["web"]["verdict"] == "as wanted" and (marks / "web").exists() else None
    wait_until(up, timeout=30, what="setup done, web past its guard")
    assert (marks / "setup").read_text() == "run\n"
    line = (live.sv_dir / "setup/supervise/last-run").read_bytes()
    record = last_run_from_bytes(line)
    with open("/proc/sys/kernel/random/boot_id", "rb") as handle:
        assert line.endswith(b" boot=" + handle.read().strip() + b"\n"), line  # needs-done.j2
    web_started = status_from_bytes((live.sv_dir / "web/supervise/status").read_bytes())
    web_started_ns = web_started.seconds * 10**9 + web_started.nanoseconds
    if live.impl == "ours":
        assert web_started_ns >= record.ended_ns, "web's ./run started before setup ended"
    else:
        assert web_started_ns < record.ended_ns, "the C runsv starts it at once (guard)"
    if live.impl != "ours":
        return
    bare = live.sv_dir / "setup"  # a one-shot without a ./finish
    (bare / "finish").unlink()
    (bare / "supervise/last-run").unlink()
    assert main(["start"] + data + ["setup"]) == 0, capsys.readouterr()  # waits for its end
    capsys.readouterr()
    assert last_run_from_bytes((bare / "supervise/last-run").read_bytes()).is_done
    time.sleep(1.5)  # past runit's one-second floor: a one-shot wanted up would run again
    assert (marks / "setup").read_text() == "run\nrun\n"


def set_gate(gate, code):
    """``gated_setup_and_web``'s gate, with the exit code in it — whole at once (renamed into
    place): setup looks for the file and reads it at once, and a file made empty and written
    after (``write_text``) let it read nothing and exit 0 (CI, under load: setup done where
    the test failed it)."""
    made = gate.with_name(gate.name + ".new")
    made.write_text("%d\n" % code)
    os.replace(str(made), str(gate))


def gated_setup_and_web(gate):
    """``setup``, a one-shot that runs until ``gate`` exists and exits with the number in
    it, and ``web``, which needs it."""
    return {
        "setup": {"oneshot": True, "command": [
            "sh", "-c", "while [ ! -e %s ]; do sleep 0.1; done; exit $(cat %s)" % (gate, gate)]},
        "web": {"command": ["sleep", "1000"], "needs": ["setup"]},
    }


def probes_say(config, word):
    """verify's answer for web (None: it passes), the same through python's probe and sh's."""
    for python in (True, False):
        found = check_failures(verify_host(local_host(), expectations(
            config, render(config, only=["web"]), only=["web"]), python=python))
        said = found.get("web::running")
        assert (said is None if word is None else said.startswith("web: %s: " % word)), \
            (python, found)


def test_a_dependent_is_told_waiting_for_its_one_shot_then_as_wanted(live, capsys):
    """While the one-shot it needs has not ended well, a dependent is "waiting for setup" —
    not "not running" (our tree holds its ./run) nor "as wanted" (the C runit's guard runs) —
    in status (exit 3), the fact, fleet status and verify (through both its probes: from the
    data's ``needs``, never the host's ``needs-done``); "waiting for setup (failed)" once setup
    failed; as wanted once setup is run again and done (the guard passed)."""
    gate = live.tmp / "gate"
    data = applied(live, capsys, gated_setup_and_web(gate))
    config = config_from_file(live.data)

    def verify_says(word):
        """verify's answer for web, the same through python's probe, sh's and the CLI."""
        probes_say(config, word)
        main(["verify", "-v"] + data + ["--only", "web"])
        out = capsys.readouterr().out
        if word is None:
            assert re.search(r"^web::running .*PASSED$", out, re.M), out
        else:
            assert "FAILED web::running - web: %s: " % word in out, out

    def web_says(word):
        seen = []  # (web's verdict, setup's), each change: what a timeout says

        def look():
            code, fact = status(capsys, data)
            rows = {row["service"]: row for row in fact["services"]}
            said = (rows["web"]["verdict"], rows["setup"]["verdict"])
            if not seen or seen[-1] != said:
                seen.append(said)
            return (code, fact, rows["web"]) if rows["web"]["verdict"] == word else None
        try:
            return wait_until(look, timeout=30, what="web: %s" % word)
        except AssertionError as exc:
            raise AssertionError("%s; web and setup said, in turn: %r; setup's stat %r" % (
                exc, seen[-20:], read_bytes(live.sv_dir / "setup" / "supervise" / "stat")))

    code, fact, web = web_says("waiting for setup")
    assert code == 3 and web["main"]["waiting_for"] == "setup"
    assert [(problem.service, problem.why) for problem in problems_of({"node1": fact})[0]] \
        == [("web", "waiting for setup")]
    verify_says("waiting for setup")
    set_gate(gate, 1)
    code, _, _ = web_says("waiting for setup (failed)")
    assert code == 3
    verify_says("waiting for setup (failed)")
    set_gate(gate, 0)
    assert main(["start"] + data + ["setup"]) == 0, capsys.readouterr()
    code, _, web = web_says("as wanted")
    assert "waiting_for" not in web["main"]
    verify_says(None)


def test_a_dependent_started_before_its_one_shots_run_is_told_by_its_guards_word(
        live, capsys):
    """The cases timing alone told as wanted (issue 46): web started again while setup's
    record is the boot before's (a ``supervise/`` that outlived a reboot; the guard does not
    take it), then setup run and failed — web started before that run, so its guard might
    have passed on the record before. Its guard's word (``needs-passed``: the pid of the run
    that passed, this boot) tells: "waiting for setup", then "waiting for setup (failed)" in
    status and verify; as wanted once setup is done and the guard wrote this run's pid."""
    gate = live.tmp / "gate"
    set_gate(gate, 0)
    data = applied(live, capsys, gated_setup_and_web(gate))
    config = config_from_file(live.data)
    web_dir, setup_dir = live.sv_dir / "web", live.sv_dir / "setup"

    def web_says(word):
        def look():
            code, fact = status(capsys, data, "web")
            row = fact["services"][0]
            return (code, row) if row["verdict"] == word else None
        return wait_until(look, timeout=30, what="web: %s" % word)

    def passed_now():
        now = int((web_dir / "supervise/pid").read_text())
        word = (web_dir / "needs-passed").read_text()
        return now if word.startswith("needs-passed 1 pid=%d " % now) else None

    web_says("as wanted")
    first = wait_until(passed_now, timeout=30, what="web's guard's word for its run")
    assert main(["stop"] + data + ["web"]) == 0, capsys.readouterr()
    record = (setup_dir / "supervise/last-run").read_text()
    other_boot = re.sub(r" boot=\S+", " boot=00000000-0000-4000-8000-000000000000", record)
    assert other_boot != record
    (setup_dir / "supervise/last-run").write_text(other_boot)
    assert main(["start"] + data + ["web"]) == 0, capsys.readouterr()
    code, row = web_says("waiting for setup")
    assert code == 3 and row["main"]["state"] == "run"  # in its guard, as runsv sees it
    probes_say(config, "waiting for setup")
    set_gate(gate, 1)
    assert main(["once"] + data + ["setup"]) != 0  # runs, and fails
    code, _ = web_says("waiting for setup (failed)")
    assert code == 3
    probes_say(config, "waiting for setup (failed)")
    set_gate(gate, 0)
    assert main(["start"] + data + ["setup"]) == 0, capsys.readouterr()
    web_says("as wanted")  # setup done: its guard passes at its next look (0.1 s)
    now = wait_until(passed_now, timeout=30, what="web's guard's word for this run")
    assert now != first
    probes_say(config, None)


def test_dependents_run_a_one_shot_once_at_boot_and_start_one_marked_down(live, capsys):
    """Five services need ``setup``, which runsv starts itself: it runs once, not once more
    for each dependent that looked at its record before it ended and sent ``sv up`` after
    (seen at the first try with three dependents). ``later``, marked ``down: true``, is started
    by the one service that needs it, and runs once too. Each dependent marks its start past
    its guard (a dependent in its guard is ``run`` too)."""
    runs, later_runs = live.tmp / "setup-runs", live.tmp / "later-runs"
    marks = live.tmp / "marks"
    marks.mkdir()

    def dependent(name, needs):
        return {"command": ["sh", "-c", "echo > %s/$0; exec sleep 1000" % marks, name],
                "needs": [needs]}
    services = {
        "setup": {"oneshot": True, "command": ["sh", "-c", "echo run >>%s" % runs]},
        "later": {"oneshot": True, "down": True,
                  "command": ["sh", "-c", "echo run >>%s" % later_runs]},
        "waiter": dependent("waiter", "later"),
    }
    for index in range(5):
        services["dep%d" % index] = dependent("dep%d" % index, "setup")
    data = applied(live, capsys, services)

    def settled():
        rows = {row["service"]: row for row in status(capsys, data)[1]["services"]}
        done = all(rows[name]["verdict"].startswith("done (exit 0") for name in ("setup", "later"))
        return rows if done and len(list(marks.iterdir())) == 6 else None
    wait_until(settled, timeout=30, what="every dependent past its guard, both one-shots done")
    assert runs.read_text() == "run\n"
    assert later_runs.read_text() == "run\n"


def test_a_one_shot_in_a_users_tree_is_told_the_same(live, capsys):
    """A user's one-shot: its finish runs in the user's tree (ours: root's tree through the
    user's agent, which reads the ``oneshot`` mark for the tally), and status tells it as a
    system one. (USER root, as tests/apply/test_live.py's user tree: the venv and tmp_path
    are not reachable for nobody.)"""
    argv, _ = live.apply_with_a_root_tree({}, {"job": SERVICES["done"],
                                               "bad": SERVICES["failed"]})
    main([arg for arg in argv if arg != "--json"])
    capsys.readouterr()
    data = ["--data", str(live.data)]

    def ended():
        rows = {row["service"]: row for row in status(capsys, data)[1]["services"]}
        return rows if all(rows[name]["main"].get("job") in ("done", "failed")
                           for name in ("root/job", "root/bad")) else None
    rows = wait_until(ended, timeout=30, what="the user's one-shots ended")
    assert re.match(WORDS["done"], rows["root/job"]["verdict"]), rows["root/job"]
    assert re.match(WORDS["failed"], rows["root/bad"]["verdict"]), rows["root/bad"]
    assert status(capsys, data, "root/job")[0] == 0 and status(capsys, data, "root/bad")[0] == 3
    if live.impl == "ours":
        assert rows["root/job"]["main"]["deaths"] == "0", rows["root/job"]
        assert rows["root/bad"]["main"]["deaths"] == "1", rows["root/bad"]


def test_an_apply_that_waits_for_a_tree_started_again_takes_a_done_one_shot_as_done(
        live, capsys):
    """The tree is down (killed, or not up yet at boot) when apply comes: apply waits for
    runsvs to serve every side, then watches them all. Our tree started again keeps a
    one-shot that ran down (its finish's ``d``), so nothing is recorded since the watch
    began: apply said "1 service started did not stay up: setup" (the chaos soak's last
    apply, under load). Its last run is its answer: done, apply exits 0. (The C runit's new
    runsv runs it again: done since.)"""
    services = {"setup": {"oneshot": True, "command": ["sh", "-c", "echo set up"]},
                "web": {"command": ["sleep", "1000"]}}
    data = applied(live, capsys, services)
    wait_until(lambda: status(capsys, data, "setup")[1]["services"][0]["main"].get("job")
               == "done", timeout=30, what="setup done")
    live.stop()
    argv = live.apply(services)
    with subprocess.Popen([str(OUR_BIN / "runit-provision")] + argv,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True) as proc:
        try:
            wait_until(lambda: proc.poll() is not None or waits_on_inotify(proc.pid),
                       timeout=60, what="apply waiting for a runsv to serve its sides")
            live.start()
            out, err = proc.communicate(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
    report = json.loads(out)
    assert any(action["action"] == "wait" for action in report["actions"]), report["actions"]
    assert proc.returncode == 0, (report["msg"], report.get("not_up"), err)
    assert report["not_up"] == []
