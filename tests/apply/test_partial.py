"""A user's part fails alone, and no restart is ever lost (issue 16, "Nothing in a home undoes
anyone else's apply"): the one path on a real file system with a fake runner, waiter and probe,
as ``test_job.py``. What a user plants in their own tree refuses that user — one reason,
naming the path — while root's services and every other user's converge and restart; and the
restarts an apply owes are written down before its first write, so that one stopped half-way
(a refusal, a failure, a kill) leaves them for the next apply, which does them."""

import os

import pytest

from runit_provision.apply.job import Job
from runit_provision.host.owed import OWED_NAME, owed_from_text

from .helpers import IDENTITIES, desired_from_text, fake_waiter, live_probe, side
from .test_job import Host

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners are set: needs root")


def data(base, greeting="hello", extra=""):
    return """
runit::sv_dir: {base}/etc/sv
runit::service_dir: {base}/etc/service
runit::log_dir: {base}/var/log
runit::services:
  web: {{command: /usr/bin/web, env: {{GREETING: "{greeting}"}}}}
{extra}
runit::users:
  alice:
    home: {base}/home/alice
    services:
      notebook: {{command: /usr/bin/notebook, env: {{GREETING: "{greeting}"}}}}
  bob:
    home: {base}/home/bob
    services:
      worker: {{command: /usr/bin/worker, env: {{GREETING: "{greeting}"}}}}
""".format(base=base, greeting=greeting, extra=extra)


@pytest.fixture
def host(tmp_path):
    host = Host(tmp_path)
    (host.base / "home" / "bob").mkdir()
    os.chown(str(host.base / "home" / "bob"), 1001, 1001)
    yield host
    host.fs.close()


def running(host):
    """Every service of the data runs (the fake probe)."""
    for path in ("etc/sv/web", "home/alice/sv/notebook", "home/bob/sv/worker",
                 "etc/sv/runsvdir-alice", "etc/sv/runsvdir-bob"):
        host.live[str(host.path(path))] = side("run")
        host.live[str(host.path(path)) + "/log"] = side("run")


def restarted(host):
    return [argv[-1] for argv, _ in host.runner.calls if "restart" in argv]


def owed_file(host):
    path = host.path("etc/sv") / OWED_NAME
    return owed_from_text(path.read_text()) if path.exists() else []


def plant_as(uid, path):
    """What a user does in their own home: a directory with something in it."""
    path.mkdir(parents=True)
    (path / "x").write_text("mine\n")
    for item in (path, path / "x"):
        os.chown(str(item), uid, uid)


def test_a_directory_a_user_planted_refuses_that_user_alone(host):
    """``~/sv/notebook/finish/`` with a file in it, where apply purges: alice is refused,
    naming the path and why; web and bob's worker get their files and their restarts."""
    assert host.apply(data(host.base)).is_ok
    running(host)
    plant_as(1000, host.path("home/alice/sv/notebook/finish"))
    result = host.apply(data(host.base, greeting="changed"))
    assert result.error is None and not result.is_ok  # partial: exit 1
    assert list(result.refusals) == ["alice"]
    finish = str(host.path("home/alice/sv/notebook/finish"))
    assert result.refusals["alice"].startswith("cannot remove %s: " % finish)
    assert sorted(restarted(host)) == sorted([str(host.path("etc/sv/web")),
                                              str(host.path("home/bob/sv/worker"))])
    for path in ("etc/sv/web", "home/bob/sv/worker"):
        assert host.path(path + "/env/GREETING").read_text() == "changed\n"
    # alice's restart is owed: written down, done by the apply after she tidies up
    notebook = str(host.path("home/alice/sv/notebook"))
    assert [(entry.action, entry.target) for entry in owed_file(host)] == [
        ("restart", notebook)]
    host.runner.calls.clear()
    (host.path("home/alice/sv/notebook/finish/x")).unlink()
    result = host.apply(data(host.base, greeting="changed"))
    assert result.is_ok, result.refusals
    assert restarted(host) == [notebook]
    assert owed_file(host) == []
    assert not (host.path("etc/sv") / OWED_NAME).exists()


def test_a_restart_owed_by_an_apply_that_failed_before_it_is_done_by_the_next(host):
    """A new service no runsv takes up stops the apply at its wait — after web's env is
    written, before web's restart. The next apply restarts web, saying why."""
    assert host.apply(data(host.base)).is_ok
    running(host)
    stuck = host.job(data(host.base, greeting="changed",
                          extra="  late: {command: /usr/bin/late, log: false}"))
    stuck.waiter = fake_waiter([str(host.path("etc/sv/late"))], live=host.live)
    result = stuck.execute(stuck.plan())
    assert result.error is not None and "late" in str(result.error)
    assert restarted(host) == []
    web = str(host.path("etc/sv/web"))
    assert web in [entry.target for entry in owed_file(host)]
    job = host.job(data(host.base, greeting="changed",
                        extra="  late: {command: /usr/bin/late, log: false}"))
    plan = job.plan()
    owed = [step for step in plan.steps if step.action == "restart" and step.path == "web"]
    assert [step.reasons for step in owed] == [
        ["env changed (owed: an earlier apply stopped before it)"]]
    assert job.execute(plan).is_ok
    assert web in restarted(host) and owed_file(host) == []


def test_a_restart_owed_to_a_service_no_longer_running_is_dropped_with_a_reason(host):
    assert host.apply(data(host.base)).is_ok
    web = str(host.path("etc/sv/web"))
    (host.path("etc/sv") / OWED_NAME).write_text(
        "restart\t%s\tweb\tenv changed\nhup\t/nowhere/log\tgone/log\tlog config changed\n"
        % web)
    host.live[web] = side("down", want="down")
    job = host.job(data(host.base))
    plan = job.plan()
    assert [step for step in plan.steps if step.action == "restart"] == []
    reasons = {noop.path: noop.reason for noop in plan.noops}
    assert reasons["web"] == ("env changed (owed: an earlier apply stopped before it); no "
                              "restart: not running (down)")
    assert reasons["gone/log"] == ("hup owed (log config changed): struck off: its service is "
                                  "no longer in the data")
    assert job.execute(plan).is_ok
    assert owed_file(host) == []


def test_a_refused_users_owed_restart_is_kept_for_later(host):
    assert host.apply(data(host.base)).is_ok
    running(host)
    notebook = str(host.path("home/alice/sv/notebook"))
    (host.path("etc/sv") / OWED_NAME).write_text(
        "restart\t%s\talice/notebook\tenv changed\n" % notebook)
    (host.path("home/alice/sv")).rename(host.path("home/alice/sv-away"))
    os.symlink(str(host.path("home/alice/sv-away")), str(host.path("home/alice/sv")))
    os.lchown(str(host.path("home/alice/sv")), 1000, 1000)  # a link alice planted
    result = host.apply(data(host.base))
    assert list(result.refusals) == ["alice"] and restarted(host) == []
    assert [entry.target for entry in owed_file(host)] == [notebook]


def test_a_huge_file_planted_where_apply_writes_is_replaced_unread(host):
    """A sparse 4 GiB ``run`` in alice's tree: apply neither reads it (root reading without
    an end is a user's lever on root's memory) nor refuses — it is replaced whole."""
    assert host.apply(data(host.base)).is_ok
    run = host.path("home/alice/sv/notebook/run")
    expected = run.read_bytes()
    run.unlink()
    with open(str(run), "wb") as handle:
        handle.truncate(4 << 30)
    os.chown(str(run), 1000, 1000)
    job = host.job(data(host.base))
    plan = job.plan()
    [step] = [step for step in plan.steps if step.path == str(run)]
    assert (step.action, step.reasons) == ("change", ["larger than 1048576 bytes: replaced "
                                                      "whole"])
    assert job.execute(plan).is_ok
    assert run.read_bytes() == expected


def test_a_users_tree_that_never_comes_up_refuses_that_user_alone(host):
    """alice's new service is never taken up (her tree is stopped, say): her wait times out
    and refuses her; bob's wait and root's restart still happen."""
    from runit_provision.host.sides import NOT_SUPERVISED
    assert host.apply(data(host.base)).is_ok
    running(host)
    text = data(host.base, greeting="changed").replace(
        "      notebook:", "      extra: {command: /usr/bin/extra}\n      notebook:").replace(
        "      worker:", "      more: {command: /usr/bin/more}\n      worker:")
    alice_extra = str(host.path("home/alice/sv/extra"))
    job = host.job(text)
    job.waiter = fake_waiter([alice_extra, alice_extra + "/log"], live=host.live)
    plan = job.plan()
    waits = [[unit.label for unit in step.units] for step in plan.steps if step.action == "wait"]
    assert ["alice/extra"] in waits and ["bob/more"] in waits
    result = job.execute(plan)
    assert result.error is None and list(result.refusals) == ["alice"]
    assert "alice/extra" in result.refusals["alice"]
    assert str(host.path("etc/sv/web")) in restarted(host)
    assert NOT_SUPERVISED.was_seen


def test_a_logger_added_by_an_apply_killed_before_the_new_runsv_is_finished_by_the_next(host):
    """log/ written, the apply killed before it gave the service a new runsv: runsv serves
    the service and never took a log side up (no log/supervise/). The next plan gives it the
    new runsv (the cycle), instead of waiting for ever for a logger runsv will never start."""
    from runit_provision.host.sides import NEVER_SUPERVISED
    assert host.apply(data(host.base)).is_ok
    web = str(host.path("etc/sv/web"))
    host.live.update({web: side("run"), web + "/log": NEVER_SUPERVISED})
    plan = host.job(data(host.base)).plan()
    cycle = [(step.action, step.path) for step in plan.steps if step.unit is not None
             and step.unit.name == "web"]
    assert ("exit", "web") in cycle and ("create", str(host.path("etc/service/web"))) in cycle


def apply_only(host, text, only):
    """An apply of ``text`` with ``--only`` ``only`` (names as the verbs take them)."""
    job = Job(lambda fs: desired_from_text(text, only=only), host.fs, identities=IDENTITIES,
              runner=host.runner, sv=["sv"], waiter=host.waiter, probe=live_probe(host.live))
    return job.execute(job.plan())


def test_an_owed_restart_is_struck_off_only_once_done_whatever_the_selection(host):
    """alice's restart fails (sv exits 1): alice is refused, the restart owed. An apply that
    names her service in any spelling retries it (and keeps it, as written, while it fails);
    one whose selection leaves it out keeps it, saying so; the first apply once sv works does
    it, once."""
    assert host.apply(data(host.base)).is_ok
    running(host)
    notebook = str(host.path("home/alice/sv/notebook"))
    host.runner.answers["-w 7 restart " + notebook] = (1, "fail: notebook: unable to open "
                                                          "supervise/control: access denied")
    result = host.apply(data(host.base, greeting="two"))
    assert list(result.refusals) == ["alice"]
    owed = [("restart", notebook, "alice/notebook", "env changed")]
    assert owed_file(host) == owed
    for spelling in ("alice/notebook", "~alice/notebook", "notebook"):
        host.runner.calls.clear()
        result = apply_only(host, data(host.base, greeting="two"), [spelling])
        assert restarted(host) == [notebook] and list(result.refusals) == ["alice"], spelling
        assert owed_file(host) == owed, spelling  # written down as it was, not "owed (owed…)"
    for other in ("web", "runsvdir-alice", "bob/worker", "worker"):
        host.runner.calls.clear()
        plan = Job(lambda fs: desired_from_text(data(host.base, greeting="two"), only=[other]),
                   host.fs, identities=IDENTITIES, runner=host.runner, sv=["sv"],
                   waiter=host.waiter, probe=live_probe(host.live)).plan()
        assert ("alice/notebook", "restart owed (env changed): kept for an apply that selects "
                "it") in [(noop.path, noop.reason) for noop in plan.noops], other
        assert apply_only(host, data(host.base, greeting="two"), [other]).is_ok, other
        assert restarted(host) == [] and owed_file(host) == owed, other
    del host.runner.answers["-w 7 restart " + notebook]
    host.runner.calls.clear()
    assert host.apply(data(host.base, greeting="two")).is_ok
    assert restarted(host) == [notebook] and owed_file(host) == []
    assert host.apply(data(host.base, greeting="two")).is_ok
    assert restarted(host) == [notebook]  # once


def test_an_owed_restart_of_a_service_gone_is_struck_off_with_why(host):
    """A service no longer in the data, or removed now (ensure: absent), or stopped now
    (enabled: false): nothing of its old files runs to restart."""
    assert host.apply(data(host.base)).is_ok
    running(host)
    worker = str(host.path("home/bob/sv/worker"))
    web = str(host.path("etc/sv/web"))
    notebook = str(host.path("home/alice/sv/notebook"))
    (host.path("etc/sv") / OWED_NAME).write_text(
        "restart\t%s\tweb\tenv changed\nrestart\t%s\talice/notebook\tenv changed\n"
        "restart\t%s\tbob/worker\tenv changed\nhup\t%s/log\tbob/worker/log\tlog config changed\n"
        % (web, notebook, worker, worker))
    text = data(host.base).replace('notebook: {command: /usr/bin/notebook, env: '
                                   '{GREETING: "hello"}}', "notebook: {ensure: absent}")
    text = text.replace("      worker: {command: /usr/bin/worker,",
                        "      worker: {enabled: false, command: /usr/bin/worker,")
    text = text.replace('  web: {command: /usr/bin/web, env: {GREETING: "hello"}}\n', "")
    plan = host.job(text).plan()
    reasons = {noop.path: noop.reason for noop in plan.noops}
    assert reasons["web"] == ("restart owed (env changed): struck off: its service is no "
                              "longer in the data")
    assert reasons["alice/notebook"] == ("restart owed (env changed): struck off: its service "
                                         "is removed (ensure: absent)")
    assert reasons["bob/worker"] == ("restart owed (env changed): struck off: its service is "
                                     "stopped (enabled: false)")
    assert reasons["bob/worker/log"] == ("hup owed (log config changed): struck off: its "
                                         "service is stopped (enabled: false)")
    assert plan.owed == []
