"""A record a user writes is only their own tree's word (docs/security.md).

Our runtime records each side's process in ``supervise/process`` (pid, start time, boot id),
and a tree that starts after one was killed adopts the live process a record names. A user's
``supervise/process`` is in their home: as ``apprun1`` one can write any pid there, with the
start time and boot id anyone reads in ``/proc``. A user's tree is the user's own runsvdir: it
reads its own records, and adopts only a live process that is the user's (by its real uid) and
that no side of it supervises (``adoption.claim``); root's tree reads no record of a user's
tree. So a planted record names, at worst, a process the user may signal anyway.

Each attack as ``apprun1`` does it, under our runtime and the C runit side by side (the C
runit keeps no such record: a user's runsv is the user's and signals only what they may).
"""

import os
import subprocess

import pytest

from ..runtime.processes import (
    close_pipes, is_runsv_up, kill_pids, running_pid, stat_fields, wait_until)
from .test_users import assert_apprun2_logging, assert_root_answers

pytestmark = pytest.mark.slow

TARGETS = ["a root process", "apprun2's service", "root's own service",
           "apprun1's process outside its tree"]


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


def start_time(pid):
    fields = stat_fields(pid)
    return None if fields is None else int(fields[19])  # field 22


def plant_record(sandbox, login, service, pid, starttime=None):
    """As ``login``: ``service``'s ``supervise/process`` names ``pid`` — its start time and
    this boot's id, as anyone reads them."""
    sandbox.as_user(login, "mkdir -p sv/%s/supervise && printf '%%s %%s %%s run\\n' %d %d %s "
                    "> sv/%s/supervise/process" % (
                        service, pid, start_time(pid) if starttime is None else starttime,
                        boot_id(), service))


def plant_service_naming(sandbox, pid):
    """apprun1's attack: a service ``evil`` whose record names ``pid``, linked into its tree;
    ``evil``'s directory once its tree supervises it."""
    sandbox.as_user("apprun1", "mkdir -p sv/evil && printf '#!/bin/sh\\nexec sleep 1000\\n' "
                    "> sv/evil/run && chmod +x sv/evil/run")
    plant_record(sandbox, "apprun1", "evil", pid)
    sandbox.as_user("apprun1", "ln -s ../sv/evil service/evil")
    evil = sandbox.home("apprun1") / "sv" / "evil"
    wait_until(lambda: is_runsv_up(evil) and running_pid(evil), timeout=30,
               what="apprun1's evil supervised")
    return evil


def alive_as_it_was(pid, starttime):
    """``pid`` is the process it was, and neither ended nor stopped."""
    fields = stat_fields(pid)
    return fields is not None and int(fields[19]) == starttime and fields[0] != "T"


def tree_log(sandbox, login="apprun1"):
    """The lines of ``login``'s tree's log (its own messages)."""
    current = sandbox.home(login) / "logs" / "runsvdir" / "current"
    return current.read_text(errors="replace").splitlines() if current.exists() else []


class Target:
    """A process apprun1 aims at, started by the test when it is not one of the sandbox's."""

    def __init__(self, sandbox, what):
        self.proc, self.own = None, 0
        if what == "a root process":
            self.proc = subprocess.Popen(["sleep", "1000"], start_new_session=True,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            self.pid = self.proc.pid
        elif what == "apprun2's service":
            self.pid = running_pid(sandbox.home("apprun2") / "sv" / "web2")
        elif what == "root's own service":
            self.pid = running_pid(sandbox.sv_dir / "rootsvc")
        else:
            done = sandbox.as_user("apprun1", "sleep 1000 </dev/null >/dev/null 2>&1 & echo $!")
            self.pid = self.own = int(done.stdout.split()[-1])
        self.starttime = start_time(self.pid)
        self.uid = uid_of(self.pid)

    def end(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            close_pipes(self.proc)
        if self.own:
            kill_pids([self.own])


@pytest.mark.parametrize("what", TARGETS)
def test_a1_a_record_apprun1_plants_hands_no_one_elses_process_to_their_tree(sandbox, what):
    sandbox.up()
    target = Target(sandbox, what)
    theirs = what == "apprun1's process outside its tree"
    try:
        evil = plant_service_naming(sandbox, target.pid)
        if not theirs or sandbox.impl == "c":
            assert running_pid(evil) != target.pid, "%s adopted for apprun1's evil" % what
        # (ours: apprun1's own process may be adopted by apprun1's own tree on apprun1's own
        # record — a process apprun1 may signal anyway)
        for command in ("pause", "kill"):
            done = sandbox.sv(command, sandbox.home("apprun1") / "service" / "evil",
                              user="apprun1")
            assert done.returncode == 0, (done.stdout, done.stderr)
        wait_until(lambda: running_pid(evil) not in (0,), timeout=30, what="evil again")
        if not theirs:
            assert alive_as_it_was(target.pid, target.starttime), "%s was signalled" % what
        if sandbox.impl == "ours" and not theirs:  # said in apprun1's tree's log
            said = wait_until(lambda: [line for line in tree_log(sandbox) if "evil" in line],
                              timeout=30, what="the refusal said")
            assert ("supervise/process: pid %d is uid %d's, not uid %d's: not adopted, "
                    "started afresh" % (target.pid, target.uid, sandbox.ns.users["apprun1"])
                    ) in said[0], said
        if what == "root's own service":  # still root's: its restart is done at once
            assert running_pid(sandbox.sv_dir / "rootsvc") == target.pid
            assert_root_answers(sandbox)
        assert_apprun2_logging(sandbox)
    finally:
        target.end()


def uid_of(pid):
    with open("/proc/%d/status" % pid) as handle:
        return int(next(line.split()[1] for line in handle if line.startswith("Uid:")))


def spawn_at_pid(pid, argv, attempts=300, taken_for=120):
    """A root process running ``argv`` whose pid is ``pid`` (free): the kernel's last pid is
    set just below it before each try — a pid reused, made on purpose. A process forking
    elsewhere in between takes the pid first (the other workers of a parallel run fork all the
    time): tried again, once that process has ended (``taken_for`` seconds at most)."""
    for _ in range(attempts):
        with open("/proc/sys/kernel/ns_last_pid", "w") as handle:
            handle.write(str(pid - 1))
        proc = subprocess.Popen(argv, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
        if stat_fields(pid) is not None:
            wait_until(lambda: stat_fields(pid) is None, timeout=taken_for,
                       what="pid %d, taken by another process first, free again" % pid)
    raise AssertionError("pid %d not had in %d tries" % (pid, attempts))


def test_a2_a_pid_reused_after_its_process_ended_is_not_adopted(sandbox):
    """web1 runs as pid P, and the host's trees are killed (root's, then apprun1's); P ends
    and a root process takes the pid; apprun1 rewrites web1's record to name it (its start
    time is anyone's to read). apprun1's next tree must start web1 afresh and leave the root
    process alone."""
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    pid = running_pid(web1)
    tree = running_pid(sandbox.sv_dir / "runsvdir-apprun1")
    sandbox.kill_tree()
    kill_pids([tree])
    kill_pids([pid])
    wait_until(lambda: not os.path.exists("/proc/%d" % pid), timeout=30,
               what="web1's process gone and reaped")
    reused = spawn_at_pid(pid, ["sleep", "1000"])
    try:
        starttime = start_time(pid)
        plant_record(sandbox, "apprun1", "web1", pid)
        sandbox.start_tree()
        wait_until(lambda: running_pid(web1) not in (0, pid), timeout=60,
                   what="web1 started afresh")
        done = sandbox.sv("kill", sandbox.home("apprun1") / "service" / "web1",
                          user="apprun1")
        assert done.returncode == 0, (done.stdout, done.stderr)
        wait_until(lambda: running_pid(web1) not in (0, pid), timeout=30, what="web1 again")
        assert alive_as_it_was(pid, starttime), "the process that took web1's pid was signalled"
        assert_root_answers(sandbox)
    finally:
        reused.kill()
        reused.wait()
        close_pipes(reused)


def test_a3_roots_tree_killed_leaves_users_trees_running_whatever_they_plant(sandbox):
    """Root's tree killed: apprun1's tree is apprun1's own process and runs on, and the next
    root tree takes it over (same pid), web1 with it; whatever apprun1 wrote meanwhile in
    web1's record (here: rootsvc's pid) is read by no one. (The C runit's runsvs outlive its
    runsvdir the same way.)"""
    sandbox.up()
    web1 = sandbox.home("apprun1") / "sv" / "web1"
    rootsvc = sandbox.sv_dir / "rootsvc"
    tree = sandbox.sv_dir / "runsvdir-apprun1"
    service, roots = running_pid(web1), running_pid(rootsvc)
    users_tree = running_pid(tree)
    sandbox.kill_tree()
    plant_record(sandbox, "apprun1", "web1", roots)
    sandbox.start_tree()
    wait_until(lambda: running_pid(web1) == service and running_pid(rootsvc) == roots,
               timeout=60, what="web1 and rootsvc as they were")
    if sandbox.impl == "ours":  # apprun1's tree taken over, not started again
        wait_until(lambda: is_runsv_up(tree), timeout=60, what="runsvdir-apprun1 supervised")
        assert running_pid(tree) == users_tree
    done = sandbox.sv("kill", sandbox.home("apprun1") / "service" / "web1", user="apprun1")
    assert done.returncode == 0, (done.stdout, done.stderr)
    wait_until(lambda: running_pid(web1) not in (0, service), timeout=30, what="web1 again")
    assert running_pid(rootsvc) == roots
    assert_root_answers(sandbox)
