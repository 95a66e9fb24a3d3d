"""The tree's start holds (tree/startholds.py): a service's ./run waits in the tree while a
one-shot it needs has not ended — released by that one-shot's status, by the end of a scan
that did not find it, or after HOLD_SECONDS; never held for what the tree does not supervise.
Fakes for the loop and the supervisors; real directories for the ``needs-done`` paths (the
holds look them up by device and inode, links followed). The real tree: tests/runtime/
test_runsvdir.py's one-shot tests."""

import os

from runit_provision.runtime.supervision.tree.startholds import (HOLD_SECONDS, UNKNOWN,
                                                                  StartHolds)

from ...fakes import FakeTimer


class Loop:
    def __init__(self):
        self.now, self.timers = 0.0, []

    def call_later(self, delay, callback):
        timer = FakeTimer(self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def run_due(self, advance=0.0):
        self.now += advance
        for timer in [t for t in self.timers if t.when <= self.now and not t.cancelled]:
            self.timers.remove(timer)
            timer.callback()


class Facts:
    def __init__(self, needs_done=None):
        self.needs_done = needs_done


class Service:
    """A supervisor as the holds see it: its facts, whether it is a one-shot not ended yet,
    and ``host_ready`` — which, as the real side's, asks ``holds_start`` again and starts."""

    def __init__(self, holds=None, needs=(), pending=False):
        self.facts = Facts(b"".join(str(path).encode() + b"\n" for path in needs) or None)
        self.pending, self.holds, self.started = pending, holds, 0

    def oneshot_pending(self):
        return self.pending

    def host_ready(self):
        if not self.holds.holds_start(self):
            self.started += 1


class Tree:
    def __init__(self, tmp_path):
        self.loop, self.scanning, self.by_key = Loop(), False, {}
        self.holds = StartHolds(self.loop, lambda key: self.by_key.get(key, UNKNOWN),
                                lambda: self.scanning)
        self.tmp = tmp_path

    def directory(self, name, found=None):
        path = self.tmp / name
        path.mkdir()
        info = os.stat(path)
        if found is not None:
            self.by_key[(info.st_dev, info.st_ino)] = found
        return path

    def dependent(self, *needs):
        return Service(self.holds, needs)


def test_held_while_the_one_shot_runs_and_started_once_its_status_says_it_ended(tmp_path):
    tree = Tree(tmp_path)
    setup = Service(pending=True)
    web = tree.dependent(tree.directory("setup", setup))
    assert tree.holds.holds_start(web) and tree.holds.held == [web]
    tree.holds.status_changed(Service())  # another service's status: nothing looked at
    assert tree.loop.timers[-1].when == HOLD_SECONDS
    tree.holds.status_changed(setup)  # still running: looked at, still held
    tree.loop.run_due()
    assert tree.holds.held == [web] and web.started == 0
    setup.pending = False
    tree.holds.status_changed(setup)
    tree.holds.status_changed(setup)  # one look for both
    assert len([t for t in tree.loop.timers if t.when == 0]) == 1
    tree.loop.run_due()
    assert web.started == 1 and tree.holds.held == []
    assert all(timer.cancelled for timer in tree.loop.timers)  # its HOLD_SECONDS timer too


def test_after_hold_seconds_run_starts_and_its_guard_decides(tmp_path):
    """A one-shot that runs on: the start is made after HOLD_SECONDS (the guard waits and
    says so, as under the C runsv) — not held again by the same start; the next start is."""
    tree = Tree(tmp_path)
    setup = Service(pending=True)
    web = tree.dependent(tree.directory("setup", setup))
    assert tree.holds.holds_start(web)
    tree.loop.run_due(HOLD_SECONDS - 0.5)
    assert web.started == 0
    tree.loop.run_due(0.5)
    assert web.started == 1 and tree.holds.held == []
    assert tree.holds.holds_start(web)  # its next start (a restart) waits again


def test_a_directory_met_later_in_the_scan_holds_until_the_scan_is_done(tmp_path):
    tree = Tree(tmp_path)
    tree.scanning = True
    later = tree.directory("zz-setup")  # not opened yet: further down the listing
    web = tree.dependent(later)
    assert tree.holds.holds_start(web)
    setup = Service(pending=True)
    info = os.stat(later)
    tree.by_key[(info.st_dev, info.st_ino)] = setup
    tree.scanning = False
    tree.holds.recheck()
    assert web.started == 0  # it was there: a one-shot about to run
    setup.pending = False
    tree.holds.status_changed(setup)
    tree.loop.run_due()
    assert web.started == 1


def test_what_the_tree_does_not_supervise_or_has_ended_holds_nothing(tmp_path):
    tree = Tree(tmp_path)
    elsewhere = tree.directory("elsewhere")  # not a service of this tree
    done = tree.directory("done", Service(pending=False))
    for needs in [(elsewhere,), (done,), (tmp_path / "missing",), ("relative/path",)]:
        assert not tree.holds.holds_start(tree.dependent(*needs)), needs
    assert not tree.holds.holds_start(Service(tree.holds))  # no needs-done file
    tree.scanning = True  # unknown during a scan: held, and let go when the scan ends
    web = tree.dependent(elsewhere)
    assert tree.holds.holds_start(web)
    tree.scanning = False
    tree.holds.recheck()
    assert web.started == 1


def test_a_link_names_the_same_service(tmp_path):
    tree = Tree(tmp_path)
    setup = Service(pending=True)
    (tmp_path / "setup-link").symlink_to(tree.directory("setup", setup))
    web = tree.dependent(tmp_path / "setup-link")
    assert tree.holds.holds_start(web)
    setup.pending = False
    tree.holds.recheck()
    assert web.started == 1


def test_a_service_gone_from_the_tree_is_forgotten_with_its_timer(tmp_path):
    tree = Tree(tmp_path)
    web = tree.dependent(tree.directory("setup", Service(pending=True)))
    assert tree.holds.holds_start(web)
    tree.holds.forget(web)
    assert tree.holds.held == [] and all(timer.cancelled for timer in tree.loop.timers)
    tree.loop.run_due(HOLD_SECONDS)
    assert web.started == 0
