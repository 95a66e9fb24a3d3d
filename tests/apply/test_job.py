"""The one path on a real file system (a tmp dir, paths relocated through the data), with a
fake runner, waiter and probe: observe -> plan -> execute -> plan again (empty); restarts and
stops through the runner; a failed sv fails the apply with its output; a full disk leaves every
file wholly old or wholly new and the next apply finishes; a link planted while the apply runs
is refused for that user only."""

import errno
import os
import subprocess

import pytest

from runit_provision.apply import fsroot, observe as observe_module
from runit_provision.apply.fsroot import MAX_DEPTH, FsRoot
from runit_provision.apply.job import Job
from runit_provision.apply.planner.files import FilesPlanner
from runit_provision.apply.planner.services import ServicesPlanner
from runit_provision.apply.watch import NotUp, Outcome
from runit_provision.errors import ApplyError

from .helpers import (IDENTITIES, OK_NOT_A_FIFO, STATUS_UNREADABLE, FakeRunner,
                      desired_from_text, fake_waiter, live_probe, side, unknown_side)
from .test_fsroot import nest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners are set: needs root")


def data_text(base, run="/usr/bin/web", greeting="hello", users=True, extra=""):
    text = """
runit::sv_dir: {base}/etc/sv
runit::service_dir: {base}/etc/service
runit::log_dir: {base}/var/log
runit::services:
  web: {{command: "{run}", env: {{GREETING: "{greeting}"}}}}
  batch: {{command: /usr/bin/batch, down: true, log: false}}
{extra}""".format(base=base, run=run, greeting=greeting, extra=extra)
    if users:
        text += """
runit::users:
  alice:
    home: {base}/home/alice
    services:
      notebook: {{command: /usr/bin/notebook}}
""".format(base=base)
    return text


class RecordingWatcher:
    """watch.watch's seam: records the sides it is given (and the bound), and reports the
    sides named in ``dead`` as died."""

    def __init__(self, dead=()):
        self.dead, self.calls = dead, []

    def __call__(self, sides, look, seconds, began):
        self.calls.append(([item.label for item in sides], seconds))
        return [NotUp(item, Outcome.DIED, look(item.path), None, None, 0.5)
                for item in sides if item.label in self.dead]


class Host:
    """A tmp dir as the host: the data's paths live under it (relocated, not --root)."""

    def __init__(self, tmp_path):
        self.base = tmp_path / "host"
        (self.base / "home" / "alice").mkdir(parents=True)
        os.chown(str(self.base / "home" / "alice"), 1000, 1000)
        self.fs = FsRoot("/")
        self.runner = FakeRunner()
        self.live = {}
        self.waiter = fake_waiter(live=self.live)

    def job(self, text, **kwargs):
        # the fake live states do not change when a restart is sent: what the apply
        # started is watched by a watcher that finds it up, unless a test gives its own
        kwargs.setdefault("watcher", RecordingWatcher())
        return Job(lambda fs: desired_from_text(text), self.fs, identities=IDENTITIES,
                   runner=self.runner, sv=["sv"], waiter=self.waiter,
                   probe=live_probe(self.live), **kwargs)

    def apply(self, text):
        job = self.job(text)
        plan = job.plan()
        return job.execute(plan)

    def path(self, relative):
        return self.base / relative


@pytest.fixture
def host(tmp_path):
    host = Host(tmp_path)
    yield host
    host.fs.close()


def test_apply_then_nothing_to_do(host):
    result = host.apply(data_text(host.base))
    assert result.is_ok, result.error
    assert result.after.is_empty and result.after.refusals == {}
    run = host.path("etc/sv/web/run")
    assert run.read_text().endswith("exec chpst -e ./env /usr/bin/web\n")
    assert run.stat().st_mode & 0o7777 == 0o755
    env = host.path("etc/sv/web/env/GREETING").stat()
    assert env.st_mode & 0o7777 == 0o640
    assert os.readlink(str(host.path("etc/service/web"))) == str(host.path("etc/sv/web"))
    notebook = host.path("home/alice/sv/notebook/run").stat()
    assert (notebook.st_uid, notebook.st_gid) == (1000, 1000)
    assert host.path("home/alice/sv").stat().st_mode & 0o7777 == 0o750
    link = os.lstat(str(host.path("home/alice/service/notebook")))
    assert link.st_uid == 1000
    # the system tree's links (runsvdir-alice among them) are waited for before alice's
    sides = host.waiter.waited
    assert [sorted(os.path.basename(side) for side in batch) for batch in sides] == [
        ["batch", "log", "log", "runsvdir-alice", "web"], ["log", "notebook"]]
    assert not [name for name in os.listdir(str(host.path("etc/sv/web")))
                if name.startswith(".")]  # no temp file left
    # nothing to do again: the links were waited for, and runsv serves them
    again = host.apply(data_text(host.base))
    assert not again.changed and again.done == []


def test_a_change_restarts_through_sv_and_a_failure_fails_the_apply(host):
    assert host.apply(data_text(host.base)).is_ok
    web = str(host.path("etc/sv/web"))
    host.live.update({web: side("run"), web + "/log": side("run")})
    result = host.apply(data_text(host.base, greeting="changed"))
    assert result.is_ok
    assert host.runner.calls[-1] == (["sv", "-w", "7", "restart", web], None)
    host.runner.answers["-w 7 restart " + web] = (1, "timeout: run: %s: (pid 1) 0s\n" % web)
    result = host.apply(data_text(host.base, greeting="again"))
    assert not result.is_ok and result.failed.action == "restart"
    assert str(result.error) == ("sv -w 7 restart %s failed (exit 1): timeout: run: %s: "
                                 "(pid 1) 0s" % (web, web))


def test_users_services_are_driven_as_the_user(host):
    assert host.apply(data_text(host.base)).is_ok
    notebook = str(host.path("home/alice/sv/notebook"))
    host.live.update({notebook: side("run")})
    assert host.apply(data_text(host.base).replace("/usr/bin/notebook",
                                                   "/usr/bin/notebook2")).is_ok
    argv, run_as = host.runner.calls[-1]
    assert argv == ["sv", "-w", "7", "restart", notebook]
    home = str(host.path("home/alice"))
    assert (run_as.uid, run_as.gid) == (1000, 1000)
    assert run_as.environ == {  # the user's own, nothing of root's
        "HOME": home, "USER": "alice", "LOGNAME": "alice", "SHELL": "/bin/sh",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "SVDIR": home + "/service"}


def test_absent_is_stopped_and_removed_and_an_exit_whose_runsv_left_is_fine(host):
    assert host.apply(data_text(host.base)).is_ok
    web = str(host.path("etc/sv/web"))
    host.live.update({web: side("run"), web + "/log": side("run")})
    host.runner.answers["-v -w 7 exit %s %s/log" % (web, web)] = (1, "fail: runsv not running")

    def runsv_gone(argv, timeout=None, run_as=None):  # runsvdir saw the link go first
        del host.live[web], host.live[web + "/log"]
        return FakeRunner.run(host.runner, argv, timeout, run_as)

    host.runner.run = runsv_gone
    result = host.apply(data_text(host.base).replace(
        '{command: "/usr/bin/web", env: {GREETING: "hello"}}', "{ensure: absent}"))
    assert result.is_ok, result.error
    assert [call[0] for call in host.runner.calls] == [
        ["sv", "-v", "-w", "7", "exit", web, web + "/log"]]
    assert not host.path("etc/sv/web").exists()
    assert not os.path.lexists(str(host.path("etc/service/web")))
    assert host.path("var/log/web/config").exists()  # the logs stay


def test_a_full_disk_leaves_every_file_old_and_the_next_apply_finishes(host, monkeypatch):
    assert host.apply(data_text(host.base)).is_ok
    before = snapshot(host.base)
    real_write = os.write
    calls = []

    def full_disk(fd, data):
        calls.append(fd)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(fsroot.os, "write", full_disk)
    new_text = data_text(host.base, run="/usr/bin/web2", greeting="new",
                         extra="  cache: {command: /usr/bin/cache}\n")
    result = host.apply(new_text)
    assert not result.is_ok
    assert "No space left on device" in str(result.error)
    assert "no file was replaced" in str(result.error)
    after = snapshot(host.base)
    for path, content in after.items():  # nothing half-written, no temp file left
        assert ".runit-provision.tmp" not in path
        assert content == before.get(path, content), path
    assert {path for path in before} <= set(after)
    monkeypatch.setattr(fsroot.os, "write", real_write)
    result = host.apply(new_text)
    assert result.is_ok and result.after.is_empty
    assert host.path("etc/sv/web/run").read_text().endswith("/usr/bin/web2\n")


def test_a_link_planted_during_the_apply_is_refused_for_that_user_only(host, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    job = host.job(data_text(host.base))
    plan = job.plan()
    planted = host.path("home/alice/sv")
    planted.symlink_to(outside)  # alice, between the plan and its execution
    os.lchown(str(planted), 1000, 1000)
    result = job.execute(plan)
    assert list(result.refusals) == ["alice"]
    assert "home/alice/sv is a symbolic link owned by uid 1000" in result.refusals["alice"]
    assert os.listdir(str(outside)) == []
    assert host.path("etc/sv/web/run").exists()  # the system tree went on
    assert result.error is None and not result.is_ok


def test_a_file_where_a_directory_should_be_stops_before_any_write(host):
    (host.base / "etc").mkdir(parents=True)
    (host.base / "etc" / "sv").write_text("not a directory")
    with pytest.raises(ApplyError) as caught:
        host.job(data_text(host.base, users=False)).plan()
    assert str(caught.value) == ("%s/etc/sv is a file where a directory should be; move it "
                                 "away" % host.base)  # its children's errors are not repeated
    assert not (host.base / "etc" / "service").exists()


def snapshot(base):
    """{relative path: bytes or link target or 'dir'} of everything under ``base``."""
    found = {}
    for directory, names, files in os.walk(str(base)):
        for name in names + files:
            path = os.path.join(directory, name)
            key = os.path.relpath(path, str(base))
            if os.path.islink(path):
                found[key] = "-> " + os.readlink(path)
            elif os.path.isdir(path):
                found[key] = "dir"
            else:
                with open(path, "rb") as handle:
                    found[key] = handle.read()
    return found


def test_a_prepare_command_runs_first_and_the_host_is_looked_at_again(host):
    import types

    from runit_provision.model.tree import File

    installed = []
    text = data_text(host.base, users=False)
    extra = str(host.base / "etc" / "runit-installed")

    def desire(fs):
        if not installed:  # initsys: runit is missing; install the package first
            command = types.SimpleNamespace(argv=["rpm", "-i", "runit.rpm"], reason="missing",
                                            prepare=True, before=(), after=())
            return desired_from_text(text, commands=[command])
        return desired_from_text(text, extra_entries=[File(extra, "yes\n", 0o644)])

    def run(argv, timeout=None, run_as=None):
        installed.append(argv)
        return FakeRunner.run(host.runner, argv, timeout, run_as)

    host.runner.run = run
    job = Job(desire, host.fs, identities=IDENTITIES, runner=host.runner, sv=["sv"],
              waiter=host.waiter, probe=live_probe(host.live))
    plan = job.plan()
    assert [step.path for step in plan.prepared] == ["rpm -i runit.rpm"]
    result = job.execute(plan)
    assert result.is_ok, result.error
    assert installed == [["rpm", "-i", "runit.rpm"]]
    assert result.done[0][0].path == "rpm -i runit.rpm"
    with open(extra) as handle:
        assert handle.read() == "yes\n"  # planned only once the host was looked at again
    assert result.after.is_empty


def test_the_desired_state_is_asked_once_per_converge(host):
    """The look after executing plans against the Desired that was shown: initsys is not
    asked again (it would read the host it just changed); only a prepare command, which
    changes what initsys sees, makes it ask again (the test above)."""
    text = data_text(host.base)
    asked = []

    def desire(fs):
        asked.append(fs)
        return desired_from_text(text)

    job = Job(desire, host.fs, identities=IDENTITIES, runner=host.runner, sv=["sv"],
              waiter=host.waiter, probe=live_probe(host.live))
    result = job.execute(job.plan())
    assert result.is_ok, result.error
    assert not result.plan.is_empty and result.after.is_empty
    assert len(asked) == 1


def test_what_the_steps_started_is_watched_and_a_side_not_up_fails_the_result(host):
    """The sides the waits and restarts started — not a ``down: true`` service's — are
    watched within ``--wait``; one that died makes the result not ok, though every step was
    done. Nothing started, nothing watched."""
    watcher = RecordingWatcher(dead=("web",))
    job = host.job(data_text(host.base), watcher=watcher, wait_seconds=3)
    result = job.execute(job.plan())
    assert watcher.calls == [(["web", "web/log", "runsvdir-alice", "runsvdir-alice/log",
                               "alice/notebook", "alice/notebook/log"], 3)]
    assert [item.label for item in result.watched] == watcher.calls[0][0]
    assert [item.label for item in result.not_up] == ["web"]
    assert result.is_done and not result.is_ok and result.error is None
    web = str(host.path("etc/sv/web"))
    host.live.update({web: side("run"), web + "/log": side("run")})
    job = host.job(data_text(host.base, greeting="changed"), watcher=watcher)
    result = job.execute(job.plan())
    assert watcher.calls[-1] == (["web"], 15.0) and result.not_up[0].label == "web"
    job = host.job(data_text(host.base, greeting="changed"), watcher=watcher)
    result = job.execute(job.plan())
    assert result.is_ok and result.watched == [] and len(watcher.calls) == 2


def test_a_refused_users_sides_are_not_watched(host, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    watcher = RecordingWatcher()
    job = host.job(data_text(host.base), watcher=watcher)
    plan = job.plan()
    planted = host.path("home/alice/sv")
    planted.symlink_to(outside)  # alice, between the plan and its execution
    os.lchown(str(planted), 1000, 1000)
    result = job.execute(plan)
    assert list(result.refusals) == ["alice"]
    assert watcher.calls == [(["web", "web/log"], 15.0)]  # runsvdir-alice is hers too


def test_a_staged_apply_watches_nothing(host):
    watcher = RecordingWatcher()
    job = host.job(data_text(host.base), watcher=watcher, is_staging=True)
    result = job.execute(job.plan())
    assert result.is_ok and watcher.calls == [] and result.not_up == []


@pytest.mark.parametrize("reason", [STATUS_UNREADABLE, OK_NOT_A_FIFO])
def test_a_restart_whose_state_cannot_be_told_is_owed_until_it_can(host, reason):
    """alice made notebook's status a FIFO (or its ok a file): apply cannot tell whether it
    runs. Its restart is not sent blind, nor dropped: alice is refused, the restart stays
    written down, each plan owes it, and the first apply that can tell does it."""
    assert host.apply(data_text(host.base)).is_ok
    notebook = str(host.path("home/alice/sv/notebook"))
    web = str(host.path("etc/sv/web"))
    host.live.update({notebook: unknown_side(reason), web: side("run")})
    changed = data_text(host.base, greeting="two").replace("/usr/bin/notebook",
                                                           "/usr/bin/notebook2")
    result = host.apply(changed)
    assert result.refusals == {"alice": (
        "alice/notebook: restart not done, owed to the next apply: whether %s runs cannot be "
        "told (%s)" % (notebook, reason))}
    assert [argv[-1] for argv, _ in host.runner.calls] == [web]  # root's restart went on
    owed = host.path("etc/sv/.pending-restarts")
    assert owed.read_text() == "restart\t%s\talice/notebook\trun changed\n" % notebook
    plan = host.job(changed).plan()  # still unknown: still owed, a change pending
    assert [(step.path, step.reasons) for step in plan.changes] == [
        ("alice/notebook", ["run changed (owed: an earlier apply stopped before it)",
                            "state unknown: " + reason])]
    assert not host.apply(changed).is_ok and owed.exists()
    host.live[notebook] = side("run")  # alice put her status back
    result = host.apply(changed)
    assert result.is_ok, result.refusals
    assert host.runner.calls[-1][0] == ["sv", "-w", "7", "restart", notebook]
    assert not owed.exists() and host.job(changed).plan().is_empty
# -- nothing in a home crashes an apply (issue 30: N2, N4, N8) ------------------------------------
def test_a_temp_file_an_interrupted_apply_left_is_taken_over_by_the_next(host):
    assert host.apply(data_text(host.base)).is_ok
    web = str(host.path("etc/sv/web"))
    host.live.update({web: side("run"), web + "/log": side("run")})
    # an apply stopped between writing run's temp file and renaming it
    host.path("etc/sv/web/.run.runit-provision.tmp").write_text("half a file")
    result = host.apply(data_text(host.base, run="/usr/bin/web2"))
    assert result.is_ok, result.error
    assert host.runner.calls[-1] == (["sv", "-w", "7", "restart", web], None)
    assert host.path("etc/sv/web/run").read_text().endswith("/usr/bin/web2\n")
    assert [name for name in os.listdir(web) if name.startswith(".")] == []
    assert result.after.is_empty


def test_a_removal_of_what_is_gone_already_is_done(host):
    assert host.apply(data_text(host.base)).is_ok
    finish = host.path("etc/sv/web/finish")
    finish.write_text("exit 0\n")
    job = host.job(data_text(host.base))
    plan = job.plan()
    assert [(step.action, step.path) for step in plan.steps] == [("remove", str(finish))]
    finish.unlink()  # gone between the plan and its execution
    result = job.execute(plan)
    assert result.is_ok, result.error


def test_a_users_directory_of_too_many_entries_refuses_that_user_alone(host, monkeypatch):
    monkeypatch.setattr(observe_module, "MAX_ENTRIES", 50)
    assert host.apply(data_text(host.base)).is_ok
    control = host.path("home/alice/sv/notebook/control")
    control.mkdir()
    for index in range(51):
        (control / ("c%d" % index)).write_text("")
    result = host.apply(data_text(host.base, greeting="changed"))
    assert result.refusals == {"alice": "%s holds more than 50 entries: not read further (the "
                                        "most the applier reads of a directory of a user's)"
                                        % control}
    assert result.error is None and not result.is_ok
    assert [step.path for step, _ in result.done] == [  # web's change, and its restart
        str(host.path("etc/sv/web/env/GREETING")), "web"]
    assert len(os.listdir(str(control))) == 51  # nothing of alice's touched


def test_a_users_home_and_log_directory_are_looked_up_not_listed(host, monkeypatch):
    monkeypatch.setattr(observe_module, "MAX_ENTRIES", 50)
    assert host.apply(data_text(host.base)).is_ok
    for directory in ("home/alice", "home/alice/logs/notebook"):
        for index in range(60):
            host.path(directory + "/junk%d" % index).write_text("")
    result = host.apply(data_text(host.base, greeting="changed"))
    assert result.is_ok, (result.error, result.refusals)
    assert result.after.is_empty


def test_a_users_tree_too_deep_to_remove_refuses_that_user_alone(host):
    assert host.apply(data_text(host.base)).is_ok
    notebook = host.path("home/alice/sv/notebook")
    nest(notebook / "deep", 1500)
    text = data_text(host.base, greeting="changed").replace(
        "notebook: {command: /usr/bin/notebook}", "notebook: {ensure: absent}")
    try:
        for _ in range(2):  # and the next apply: the same refusal, no crash
            result = host.apply(text)
            assert result.refusals == {"alice": (
                "cannot remove %s: more than %d directories deep (the deepest tree the "
                "applier removes); the rest is left" % (notebook, MAX_DEPTH))}
            assert result.error is None
            assert host.path("etc/sv/web/env/GREETING").read_text() == "changed\n"
    finally:
        subprocess.run(["rm", "-rf", str(notebook)], check=True)
    assert host.apply(text).is_ok


def test_any_exception_in_a_users_part_refuses_that_user_alone(host, monkeypatch):
    """An error no one raised on purpose — where the applier reads a user's directory, plans
    their files or their service, or writes their files — refuses that user; the system's goes
    on. In the system's part it is raised: a bug, shown as one."""
    assert host.apply(data_text(host.base)).is_ok
    notebook = str(host.path("home/alice/sv/notebook"))
    real_scan, real_write = host.fs.scan, host.fs.write_temp

    def scan(path, *args, **kwargs):
        if path == notebook:
            raise RuntimeError("read went wrong")
        return real_scan(path, *args, **kwargs)

    def write_temp(path, *args, **kwargs):
        if path.startswith(notebook + "/") or path.endswith("/web/run"):
            raise RecursionError("maximum recursion depth exceeded")
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(host.fs, "scan", scan)
    result = host.apply(data_text(host.base, greeting="read"))
    assert result.refusals == {"alice": "cannot read %s: RuntimeError: read went wrong"
                                        % notebook}
    assert host.path("etc/sv/web/env/GREETING").read_text() == "read\n"
    monkeypatch.setattr(host.fs, "scan", real_scan)

    real_plan_entry = FilesPlanner.plan_entry

    def plan_entry_badly(self, entry):
        if entry.path == notebook + "/run":
            raise ValueError("no plan for it")
        return real_plan_entry(self, entry)

    monkeypatch.setattr(FilesPlanner, "plan_entry", plan_entry_badly)
    result = host.apply(data_text(host.base, greeting="compared").replace(
        "/usr/bin/notebook", "/usr/bin/notebook1"))
    assert result.refusals == {"alice": "cannot plan %s/run: ValueError: no plan for it"
                                        % notebook}
    assert host.path("etc/sv/web/env/GREETING").read_text() == "compared\n"
    monkeypatch.setattr(FilesPlanner, "plan_entry", real_plan_entry)

    real_restarts = ServicesPlanner.restarts

    def plan_badly(self, unit):
        if unit.login == "alice":
            raise KeyError(unit.name)
        return real_restarts(self, unit)

    monkeypatch.setattr(ServicesPlanner, "restarts", plan_badly)
    result = host.apply(data_text(host.base, greeting="planned").replace(
        "/usr/bin/notebook", "/usr/bin/notebook2"))
    assert result.refusals == {"alice": "cannot plan %s: KeyError: 'notebook'" % notebook}
    assert host.path("etc/sv/web/env/GREETING").read_text() == "planned\n"
    monkeypatch.undo()

    monkeypatch.setattr(host.fs, "write_temp", write_temp)
    result = host.apply(data_text(host.base, greeting="written").replace(
        "/usr/bin/notebook", "/usr/bin/notebook3"))
    assert result.refusals == {"alice": "cannot change %s/run: RecursionError: maximum "
                                        "recursion depth exceeded" % notebook}
    assert host.path("etc/sv/web/env/GREETING").read_text() == "written\n"
    with pytest.raises(RecursionError):  # the system's part
        host.apply(data_text(host.base, run="/usr/bin/web2"))
