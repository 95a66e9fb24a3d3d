"""The guard of ``needs`` on a one-shot (templates/needs-done.j2), run by /bin/sh against a
``supervise/`` made here: it passes at once on a record of this boot saying exit 0 with the
one-shot down, and waits — then exits 1, "not done" — on a failed run, on one still running,
and on a record of another boot, which a ``supervise/`` that outlives a reboot keeps: before
the one-shot ran in this boot, its "down" and "exit=0" are the boot before's. A one-shot
marked down is run once, so any boot's record counts for it, and so does a record written
before records said their boot. The ``needs-done`` file lists what the guard waits for.
Passed, the guard says so in ``needs-passed`` (its pid, this boot), in the directory it runs
in (runsv's: the service directory); waiting or given up, it says nothing."""

import subprocess

import pytest

from .helpers import text_of, tree_from_text

BOOT = open("/proc/sys/kernel/random/boot_id").read().strip()
OTHER_BOOT = "00000000-0000-4000-8000-000000000000"


def guard_of(tmp_path, marked_down=False):
    """The rendered run of ``web`` (needs the one-shot ``setup``, under tmp_path/sv), with
    sv_timeout 1: the guard gives up after ten looks, a second."""
    sv_dir = tmp_path / "sv"
    data = ("runit::sv_dir: %s\nrunit::sv_timeout: 1\nrunit::services:\n"
            "  setup: {command: [/bin/true], oneshot: true%s}\n"
            "  web: {command: [/bin/echo, past the guard], needs: [setup]}\n"
            % (sv_dir, ", down: true" if marked_down else ""))
    tree = tree_from_text(data)
    assert text_of(tree, "%s/web/needs-done" % sv_dir) == "%s/setup\n" % sv_dir
    run = tmp_path / "run"
    run.write_text(text_of(tree, "%s/web/run" % sv_dir))
    supervise = sv_dir / "setup/supervise"
    supervise.mkdir(parents=True)
    if marked_down:
        (sv_dir / "setup/down").write_bytes(b"")
    return run, supervise


def record(exit_code=0, boot=BOOT):
    line = "last-run 1 exit=%d signal=0 started=1.000000000 ended=2.000000000" % exit_code
    return line + (" boot=%s" % boot if boot is not None else "") + "\n"


@pytest.mark.parametrize("stat, last_run, marked_down, passes", [
    ("down", record(), False, True),
    ("down", record(boot=None), False, True),  # written before records said their boot
    ("down", record(boot=OTHER_BOOT), False, False),  # the boot before's: not run yet
    ("down", record(boot=OTHER_BOOT), True, True),  # marked down: run once, in any boot
    ("down", record(3), False, False),
    ("finish, want down", record(), False, False),  # its finish still runs
], ids=["this-boot", "no-boot-said", "other-boot", "other-boot-marked-down", "failed",
        "finishing"])
def test_the_guard_passes_only_on_a_run_of_this_boot_that_is_done(
        tmp_path, stat, last_run, marked_down, passes):
    run, supervise = guard_of(tmp_path, marked_down)
    (supervise / "stat").write_text(stat + "\n")
    (supervise / "last-run").write_text(last_run)
    # no command but a sleep that only counts: a guard that passes never looks twice, one
    # that gives up looked ten times, a tenth of a second apart (sv_timeout 1)
    bin_dir, slept = tmp_path / "bin", tmp_path / "slept"
    bin_dir.mkdir()
    (bin_dir / "sleep").write_text('#!/bin/sh\necho "$*" >>%s\n' % slept)
    (bin_dir / "sleep").chmod(0o755)
    with subprocess.Popen(["/bin/sh", str(run)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env={"PATH": str(bin_dir)}, cwd=str(tmp_path)) as shell:
        try:
            stdout, stderr = shell.communicate(timeout=60)
        finally:
            shell.kill()
    marker = tmp_path / "needs-passed"
    if passes:
        assert (shell.returncode, stdout, stderr) == (0, "past the guard\n", ""), stderr
        assert marker.read_text() == "needs-passed 1 pid=%d boot=%s\n" % (shell.pid, BOOT)
        assert not slept.exists()
    else:
        assert shell.returncode == 1, stderr
        assert stdout == "needs %s/sv/setup: not done\n" % tmp_path
        assert slept.read_text() == "0.1\n" * 10
        assert not marker.exists()


def test_a_guard_that_cannot_write_its_word_passes_all_the_same(tmp_path):
    """A service directory that cannot be written (a read-only /etc): the guard passes, says
    nothing on stderr, and the views tell it by its timing (protocol/needsdone.py)."""
    run, supervise = guard_of(tmp_path)
    (supervise / "stat").write_text("down\n")
    (supervise / "last-run").write_text(record())
    (tmp_path / "needs-passed").mkdir()  # not a file: the redirection fails, as on a ro fs
    done = subprocess.run(["/bin/sh", str(run)], capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path), env={"PATH": str(tmp_path / "nothing")})
    assert (done.returncode, done.stdout, done.stderr) == (0, "past the guard\n", ""), done
