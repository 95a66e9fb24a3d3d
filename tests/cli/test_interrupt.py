"""Issue 44, item 9: Ctrl-C (a KeyboardInterrupt) ends every command with one line and exit
130, never a traceback; an ``apply`` says first what it had done and the restarts it still
owes — the "Done before stopping" summary of any other stop.

Every verb through ``cli/main``'s one rule (in-process: the verb's ``run`` interrupted); then
the real ``runit-provision apply`` and SIGINT: while it waits for runsv on a service directory
no runsvdir serves (it would wait its 15 s), and while ``sv -w`` restarts a service whose
``check`` does not pass (the restart stays owed, sv's process is not left behind, and the next
apply does the restart). Every wait has a deadline; every process is ended by pid or group.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from runit_provision.cli import main as main_module

from ..conftest import OUR_BIN
from ..runtime.processes import (BASE_PATH, Group, cmdline, end_processes_under,
                                 running_pid, wait_until)

PROGRAM = str(OUR_BIN / "runit-provision")


# -- every verb: cli/main's rule ----------------------------------------------------------------
@pytest.mark.parametrize("verb", sorted(main_module.COMMANDS))
def test_ctrl_c_in_any_verb_is_one_line_and_130(verb, monkeypatch, capsys):
    module = main_module.command_module(verb)

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted)
    argv = {"fleet": ["fleet", "status", "--puppetdb", "http://localhost:1"],
            "demo": ["demo"], "import": ["import", "/nonexistent"],
            "install-runtime": ["install-runtime", "--data", "x"],
            "mixin": ["mixin", "--check", "x"]}.get(verb)
    if argv is None:
        argv = [verb] + (["web"] if verb in ("restart", "start", "stop", "once", "hup", "term")
                         else ["runit::init"] if verb == "lookup" else [])
        argv += ["--data", "x"] + (["--out", "/nonexistent"] if verb == "render" else [])
    assert main_module.main(argv) == 130
    out, err = capsys.readouterr()
    command = "fleet" if verb == "fleet" else verb
    assert (out, err) == ("", "runit-provision %s: interrupted\n" % command)


def end_tree(tree, tmp_path):
    """TERM to the runsvdir (its services end with it), KILL after 20 s; then whatever is
    left under ``tmp_path``."""
    tree.proc.send_signal(signal.SIGTERM)
    try:
        tree.proc.wait(20)
    except subprocess.TimeoutExpired:
        tree.kill()
    end_processes_under(tmp_path)


# -- the real apply -----------------------------------------------------------------------------
def relocated(tmp_path, services):
    """A data file whose every path is under ``tmp_path/live``."""
    live = tmp_path / "live"
    data = tmp_path / "data.yaml"
    data.write_text("runit::sv_dir: %s/sv\nrunit::service_dir: %s/service\n"
                    "runit::log_dir: %s/log\nrunit::init: none\nrunit::sv_timeout: 20\n"
                    "runit::services:\n%s" % (live, live, live, services))
    (live / "service").mkdir(parents=True)
    return live, data


def apply_process(data, *extra):
    return subprocess.Popen([PROGRAM, "apply", "--data", str(data), "--profile-d", "none"]
                            + list(extra), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, PATH="%s:%s" % (OUR_BIN, BASE_PATH)))


def interrupt(proc):
    """Ctrl-C — SIGINT to the command's process group, as a terminal sends it — then its
    exit code and output, within a deadline."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, out, err


@pytest.mark.slow
def test_ctrl_c_while_apply_waits_for_runsv(tmp_path):
    live, data = relocated(tmp_path, "  web: {command: [sleep, '1000']}\n")
    proc = apply_process(data)
    started = time.monotonic()
    try:
        wait_until(lambda: os.path.islink(str(live / "service" / "web")), timeout=60,
                   what="the link made, and the wait for runsv begun")
        time.sleep(0.3)  # in the wait: no runsvdir serves live/service
        code, out, err = interrupt(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert time.monotonic() - started < 14, "it waited out its 15 s"
    assert (code, err) == (130, "runit-provision apply: interrupted at wait for web (runsv "
                                "reads supervise/ok)\n"), out + err
    assert out.endswith("Plan: 9 to create, 0 to change, 0 to remove, 0 service actions; 1 up "
                        "to date.\nDone before stopping: 9 created.\n"), out
    assert (live / "sv" / "web" / "run").exists()


@pytest.mark.slow
def test_ctrl_c_during_a_restart_says_it_is_owed_and_the_next_apply_does_it(tmp_path):
    flag = tmp_path / "healthy"
    flag.write_text("")
    service = ("  web:\n    command: [sleep, '1000']\n    env: {GREETING: one}\n"
               "    check: {command: [test, -e, %s]}\n" % flag)
    live, data = relocated(tmp_path, service)
    tree = Group([OUR_BIN / "runsvdir", live / "service"], cwd=str(tmp_path),
                 env=dict(os.environ, PATH="%s:%s" % (OUR_BIN, BASE_PATH)))
    try:
        first = apply_process(data)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
        flag.unlink()  # the check fails from now on: sv -w restart waits (sv_timeout: 20)
        data.write_text(data.read_text().replace("GREETING: one", "GREETING: two"))
        proc = apply_process(data)
        restart = "%s/sv/web" % live

        def sv_restarting():
            return [pid for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
                    if "restart" in cmdline(pid) and restart in cmdline(pid)]

        try:
            wait_until(sv_restarting, timeout=60, what="apply's sv -w restart under way")
            time.sleep(0.3)
            code, out, err = interrupt(proc)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert (code, err) == (130, "runit-provision apply: interrupted at web: restart "
                                    "(env changed)\n"), out + err
        assert out.endswith("Done before stopping: 1 changed.\nweb: restart owed (env changed):"
                            " the next runit-provision apply does it\n"), out
        assert sv_restarting() == [], "sv outlived the apply it ran for"
        owed = live / "sv" / ".pending-restarts"
        assert owed.read_text() == "restart\t%s\tweb\tenv changed\n" % restart
        flag.write_text("")
        # sv had sent its restart before it was killed: runsv starts web again (after its
        # 1 s back-off); running, it is owed the restart the ledger kept
        wait_until(lambda: running_pid(live / "sv" / "web"), timeout=30, what="web up again")
        again = subprocess.run([PROGRAM, "apply", "--data", str(data), "--profile-d", "none",
                                "--json"], stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=120,
                               env=dict(os.environ, PATH="%s:%s" % (OUR_BIN, BASE_PATH)))
        report = json.loads(again.stdout)
        assert again.returncode == 0, again.stdout + again.stderr
        assert [(item["service"], item["reason"]) for item in report["restarts"]] == [
            ("web", "env changed (owed: an earlier apply stopped before it)")]
        assert (report["interrupted"], report["owed"]) == (False, [])
        assert not owed.exists()
    finally:
        end_tree(tree, tmp_path)


def test_a_ctrl_c_before_a_command_is_known_names_none(capsys, monkeypatch):
    def interrupted(name, only=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(main_module, "build_parser", interrupted)
    assert main_module.main(["--version"]) == 130
    assert capsys.readouterr() == ("", "runit-provision: interrupted\n")


def test_a_ctrl_c_whose_cut_short_cleanup_fails_is_still_ctrl_c(capsys, monkeypatch):
    """argparse's intermixed parsing restores each action in a ``finally`` that fails when a
    Ctrl-C cut it short (``AttributeError: ... save_nargs``): that error is the Ctrl-C's."""
    def cut_short(parser, argv, chosen):
        try:
            raise KeyboardInterrupt
        finally:
            object().save_nargs  # the cleanup's own error, raised while the Ctrl-C is handled

    monkeypatch.setattr(main_module, "parse_command_line", cut_short)
    assert main_module.main(["status"]) == 130
    assert capsys.readouterr() == ("", "runit-provision status: interrupted\n")

    def fault(parser, argv, chosen):
        object().save_nargs  # no Ctrl-C: a fault of ours, raised as it is

    monkeypatch.setattr(main_module, "parse_command_line", fault)
    with pytest.raises(AttributeError):
        main_module.main(["status"])



# -- a one-shot's run watched to its end (docs/jobs.md) -------------------------------------------
def test_ctrl_c_and_term_while_a_verb_watches_a_one_shot(tmp_path):
    """``once`` and ``restart`` of a one-shot watch its run to its end (here it runs 1000 s;
    ``start`` watches as ``once`` does): Ctrl-C ends the watch with one line and 130, TERM
    ends it quietly (no traceback), and neither ends the run it watched — that is runsv's,
    not the command's."""
    service = "  job: {oneshot: true, down: true, command: [sleep, '1000']}\n"
    live, data = relocated(tmp_path, service)
    env = dict(os.environ, PATH="%s:%s" % (OUR_BIN, BASE_PATH))
    tree = Group([OUR_BIN / "runsvdir", live / "service"], cwd=str(tmp_path), env=env)
    try:
        first = apply_process(data)
        out, err = first.communicate(timeout=120)
        assert first.returncode == 0, out + err
        for verb, stop in [(verb, stop) for verb in ("once", "restart")
                           for stop in (signal.SIGINT, signal.SIGTERM)]:
            proc = subprocess.Popen([PROGRAM, verb, "--data", str(data), "job"],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True,
                                    env=env)
            before = running_pid(live / "sv" / "job")

            def its_run():  # once watches the run under way; restart starts a new one
                now = running_pid(live / "sv" / "job")
                return now if now and (verb == "once" or now != before) else None
            try:
                pid = wait_until(its_run, timeout=30, what="the run %s watches" % verb)
                time.sleep(0.3)  # in the watch
                os.killpg(proc.pid, stop)
                out, err = proc.communicate(timeout=30)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            if stop == signal.SIGINT:
                assert (proc.returncode, err) == (130, "runit-provision %s: interrupted\n"
                                                  % verb), out + err
            else:
                assert proc.returncode == -signal.SIGTERM, (proc.returncode, out, err)
                assert "Traceback" not in err, err
            assert running_pid(live / "sv" / "job") == pid, "the watch ended the run"
    finally:
        end_tree(tree, tmp_path)
