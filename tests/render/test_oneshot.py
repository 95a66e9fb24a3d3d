"""A one-shot's rendered files (``oneshot: true``, docs/jobs.md): the ``oneshot`` mark and the
``./finish`` both runtimes run — that finish run by /bin/sh against a ``supervise/`` made
here, with a reader on its control FIFO standing in for runsv: it sends ``d`` and writes the
``last-run`` record protocol/lastrun.py reads, for an exit and for a signal."""

import os
import struct
import subprocess
import threading
import time

import pytest

from runit_provision.protocol.lastrun import (ONESHOT_FINISH_HEAD, RUNSV_ENV,
                                              TIMER_FINISH_HEAD, last_run_from_bytes,
                                              run_end_line)
from runit_provision.render.environment import make_environment, render_template
from runit_provision.protocol.status import TAI_OFFSET

from .helpers import text_of, tree_from_text

DATA = ("runit:\n  services:\n    setup: {command: [/usr/local/bin/setup], oneshot: true}\n"
        "    web: {command: [/usr/bin/web]}\n")


def test_a_one_shot_has_its_mark_and_its_finish_and_a_daemon_neither():
    tree = tree_from_text(DATA)
    assert tree["/etc/sv/setup/oneshot"].content == b""
    finish = text_of(tree, "/etc/sv/setup/finish")
    assert finish.startswith("#!/bin/sh\n") and "supervise/last-run" in finish
    assert tree["/etc/sv/setup/finish"].mode == 0o755
    assert "/etc/sv/web/oneshot" not in tree and "/etc/sv/web/finish" not in tree


class FakeRunsv:
    """The reader of ``supervise/control``: every byte it reads is kept; a ``d`` makes the
    status and stat say want down, as runsv's update_status does."""

    def __init__(self, supervise):
        self.supervise, self.read = supervise, b""
        os.mkfifo(supervise / "control")
        self.fd = os.open(supervise / "control", os.O_RDONLY | os.O_NONBLOCK)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.stop = False
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                data = os.read(self.fd, 16)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            self.read += data
            if b"d" in data:
                status = bytearray((self.supervise / "status").read_bytes())
                status[17:18] = b"d"
                # renamed into place, as runsv does: the finish reads the status's stamp
                # meanwhile, and a file rewritten in place may be read empty
                (self.supervise / "status.new").write_bytes(bytes(status))
                os.replace(str(self.supervise / "status.new"), str(self.supervise / "status"))
                (self.supervise / "stat.new").write_text("finish, want down\n")
                os.replace(str(self.supervise / "stat.new"), str(self.supervise / "stat"))

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        os.close(self.fd)


def with_date_at(tmp_path, seconds):
    """The environment of a finish whose ``date`` says ``seconds`` (and its ``.5``): the end
    it records is that moment, whatever the clock — the fast tier reads no clock."""
    bin_dir = tmp_path / "bin-date"
    bin_dir.mkdir()
    (bin_dir / "date").write_text(
        '#!/bin/sh\ncase "$1" in +%%s.%%N) echo %d.500000000 ;; +%%s) echo %d ;; '
        '*) exec /bin/date "$@" ;; esac\n' % (seconds, seconds))
    (bin_dir / "date").chmod(0o755)
    return dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))


@pytest.mark.parametrize("args, exit_code, signal", [(["0", "0"], 0, 0), (["4", "0"], 4, 0),
                                                     (["-1", "137"], -1, 137)])
def test_the_finish_keeps_it_down_and_records_the_run(tmp_path, args, exit_code, signal):
    finish = tmp_path / "finish"
    finish.write_text(text_of(tree_from_text(DATA), "/etc/sv/setup/finish"))
    supervise = tmp_path / "supervise"
    supervise.mkdir()
    (supervise / "stat").write_text("finish\n")
    started = int(time.time()) - 3
    (supervise / "status").write_bytes(struct.pack(">QL", started + TAI_OFFSET, 250_000_000)
                                       + struct.pack("<L", 0) + b"\0u\0\2")
    runsv = FakeRunsv(supervise)
    try:
        done = subprocess.run(["/bin/sh", str(finish)] + args, cwd=tmp_path, timeout=30,
                              capture_output=True, env=with_date_at(tmp_path, started + 3))
    finally:
        runsv.close()
    assert done.returncode == 0, done.stderr
    assert runsv.read == b"d"
    found = last_run_from_bytes((supervise / "last-run").read_bytes())
    assert (found.exit_code, found.signal) == (exit_code, signal)
    assert found.started_ns == started * 1_000_000_000 + 250_000_000
    assert found.ended_ns == (started + 3) * 1_000_000_000 + 500_000_000
    assert found.took == pytest.approx(3.25)
    assert not (supervise / "last-run.new").exists()
    boot = open("/proc/sys/kernel/random/boot_id").read().strip()
    assert (supervise / "last-run").read_text().endswith(" boot=%s\n" % boot)


@pytest.mark.parametrize("status, started_ns", [
    (struct.pack(">QL", 1764155000 + TAI_OFFSET, 5) + struct.pack("<L", 0) + b"\0u\0\2",
     1764155000 * 1_000_000_000 + 5),  # nanoseconds padded to nine digits by the shell
    (b"", 0),  # no stamp to read: the run's start unknown, the record written all the same
    (b"\x40" * 7, 0)])  # cut short
def test_the_finish_reads_the_runs_start_from_the_status_stamp(tmp_path, status, started_ns):
    finish = tmp_path / "finish"
    finish.write_text(text_of(tree_from_text(DATA), "/etc/sv/setup/finish"))
    supervise = tmp_path / "supervise"
    supervise.mkdir()
    (supervise / "stat").write_text("finish\n")
    (supervise / "status").write_bytes(status)
    runsv = FakeRunsv(supervise)
    try:
        done = subprocess.run(["/bin/sh", str(finish), "0", "0"], cwd=tmp_path, timeout=30,
                              capture_output=True)
    finally:
        runsv.close()
    assert done.returncode == 0, done.stderr
    found = last_run_from_bytes((supervise / "last-run").read_bytes())
    assert (found.exit_code, found.started_ns) == (0, started_ns)


@pytest.mark.parametrize("args, line", [(["0", "0"], "run done (exit 0)"),
                                        (["4", "0"], "run failed (exit 4)"),
                                        (["-1", "9"], "run failed (signal 9)")])
def test_under_our_runsv_the_finish_only_says_the_end(tmp_path, args, line):
    """Our runsv records the run and keeps the one-shot down itself, and says so in the
    finish's environment (protocol/lastrun.RUNSV_ENV): the finish then writes nothing, sends
    no ``d`` and runs no command — it only says the run's end in the log, the line our runsv
    says itself when the finish begins as rendered (protocol/lastrun.ONESHOT_FINISH_HEAD: a
    template changed without it is caught here). (No supervise/ here and no command on PATH:
    a finish that touched one or ran one would fail.)"""
    finish = tmp_path / "finish"
    finish.write_text(text_of(tree_from_text(DATA), "/etc/sv/setup/finish"))
    env = {RUNSV_ENV: "runsv", "PATH": str(tmp_path / "nothing")}
    done = subprocess.run(["/bin/sh", "-e", str(finish)] + args, cwd=tmp_path, timeout=30,
                          capture_output=True, text=True, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "runit-provision: %s\n" % line, "")
    assert os.listdir(tmp_path) == ["finish"]
    # what our runsv says itself for a finish that begins so (Supervisor.said_run_end)
    assert finish.read_bytes().startswith(ONESHOT_FINISH_HEAD)
    assert run_end_line(int(args[0]), int(args[1])) == done.stdout.encode()


@pytest.mark.parametrize("args", [["0", "0"], ["4", "0"], ["-1", "9"]])
def test_under_our_runsv_a_timers_finish_only_says_the_end_too(tmp_path, args):
    """A timer's rendered finish, under our runsv (which recorded the job's run): only the
    run's end, no command, no file — and it begins as TIMER_FINISH_HEAD says, so our runsv
    says that line itself."""
    finish = tmp_path / "finish"
    finish.write_text(render_template(make_environment(), "finish/timer.j2", {}))
    assert finish.read_bytes().startswith(TIMER_FINISH_HEAD)
    env = {RUNSV_ENV: "runsv", "PATH": str(tmp_path / "nothing")}
    done = subprocess.run(["/bin/sh", "-e", str(finish)] + args, cwd=tmp_path, timeout=30,
                          capture_output=True, text=True, env=env)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.encode() == run_end_line(int(args[0]), int(args[1]))
    assert os.listdir(tmp_path) == ["finish"]
