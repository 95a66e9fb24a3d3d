"""A scan that meets a bug of ours in one service's start still starts the others, and tries
that one again: the exception once left the scan half done, with no retry (the directory's
other services never started); and a link made while the tree looks at its directory is
supervised, however the look and the inotify watch fall — in-process, on a real loop, with real
processes and real inotify."""
import os
import time

from runit_provision.runtime.supervision.engine.loop import EventLoop
from runit_provision.runtime.supervision.engine.servicedir import list_services
from runit_provision.runtime.supervision.tree import servicetree
from runit_provision.runtime.supervision.tree.servicetree import ServiceTree
from runit_provision.runtime.supervision.engine.spawn import Spawner

DEADLINE = 20.0  # seconds: holds on a loaded machine; the usual wait is a few milliseconds


def _service(base, name):
    path = os.path.join(base, name)
    os.makedirs(path)
    with open(os.path.join(path, "run"), "w") as handle:
        handle.write("#!/bin/sh\nexec sleep 100\n")
    os.chmod(os.path.join(path, "run"), 0o755)


def _pid(base, name):
    try:
        with open(os.path.join(base, name, "supervise", "pid")) as handle:
            return int(handle.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def test_a_start_that_raises_is_said_the_rest_start_and_it_is_tried_again(tmp_path):
    base = str(tmp_path / "service")
    names = ["a", "b", "c"]
    for name in names:
        _service(base, name)
    loop = EventLoop()
    failed = []

    class OnceFailing(ServiceTree):  # (a tree has slots: its methods are replaced here)
        __slots__ = ()

        def _start_service(self, entry, path):
            if entry.name == "b" and not failed:
                failed.append(entry.name)
                raise RuntimeError("a bug of ours")
            return ServiceTree._start_service(self, entry, path)

    tree = OnceFailing(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                       "test", on_empty=loop.stop)
    seen, said = _run_until_supervised(tree, loop, base, names)
    assert failed == ["b"]
    assert all(seen.values()), (seen, said)
    assert "internal error starting b, tried again in a second: RuntimeError: a bug of ours" \
        in said


def test_a_start_that_raises_after_its_open_lets_its_lock_go_and_starts_at_the_retry(
        tmp_path):
    """A bug of ours after the service's directory was opened (its ``supervise/lock`` taken):
    its descriptors go with the failed start, so the retry takes the lock again — kept, every
    retry said ``unable to lock supervise/lock: temporary failure``, for ever."""
    from runit_provision.runtime.supervision.engine.supervisor import Supervisor
    base = str(tmp_path / "service")
    names = ["a", "b"]
    for name in names:
        _service(base, name)
    loop = EventLoop()
    failed = []
    begin = Supervisor.begin

    def failing_begin(service):
        if service.label == "runsv b" and not failed:
            failed.append(service.label)
            raise LookupError("a bug of ours")
        return begin(service)

    Supervisor.begin = failing_begin
    try:
        tree = ServiceTree(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                           "test", on_empty=loop.stop)
        seen, said = _run_until_supervised(tree, loop, base, names)
    finally:
        Supervisor.begin = begin
    assert failed == ["runsv b"]
    assert all(seen.values()), (seen, said)
    assert "unable to lock" not in said, said


class _LateAnswer:
    """The tree's look at its directory (servicedir.list_services), except that after the
    ``look``-th listing is read, ``made(n)`` runs before the tree gets it — what happens when
    a link is applied while runsvdir is between its look and its next instruction."""

    def __init__(self, made, look):
        self.made, self.look, self.looks = made, look, 0

    def __call__(self, directory):
        listing = list_services(directory)
        self.looks += 1
        if self.looks == self.look:
            self.made(self.looks)
        return listing


def _run_until_supervised(tree, loop, base, names):
    """Run ``tree`` until every one of ``names`` has a pid (or the deadline); the pids seen and
    what the tree said."""
    errors = os.pipe()
    tree.stderr_fd = errors[1]
    began = time.monotonic()
    seen = {}

    def check():
        seen.update((name, _pid(base, name)) for name in names)
        if all(seen.values()) or time.monotonic() - began > DEADLINE:
            tree.stop()
        else:
            loop.call_later(0.05, check)

    tree.start()
    loop.call_later(0.05, check)
    try:
        loop.run()
    finally:
        loop.close()
        os.close(errors[1])
        said = os.read(errors[0], 65536).decode()
        os.close(errors[0])
    return seen, said


def test_a_link_made_during_the_first_look_is_supervised(tmp_path, monkeypatch):
    """The CI failure of stop 41: ``apply`` linked ``worker`` (its last service) between our
    runsvdir's first look and its inotify watch; no poll runs while inotify does, so it was
    never supervised."""
    base = str(tmp_path / "service")
    os.makedirs(base)
    _service(str(tmp_path / "sv"), "early")
    _service(str(tmp_path / "sv"), "late")
    os.symlink(str(tmp_path / "sv" / "early"), os.path.join(base, "early"))

    def link_late(_look):
        os.symlink(str(tmp_path / "sv" / "late"), os.path.join(base, "late"))

    monkeypatch.setattr(servicetree, "list_services", _LateAnswer(link_late, look=1))
    loop = EventLoop()
    tree = ServiceTree(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                       "test", on_empty=loop.stop)
    seen, said = _run_until_supervised(tree, loop, base, ["early", "late"])
    assert all(seen.values()), (seen, said)


def test_a_link_made_while_a_swapped_directory_is_looked_at_is_supervised(tmp_path,
                                                                           monkeypatch):
    """runsvchdir swaps the ``current`` link the tree runs on: the tree watches the new
    directory after the look that found it — an entry made in between is looked for again (by
    the look that follows a new watch, and by the IN_IGNORED of the watch it replaced)."""
    for tree_dir in ("a", "b"):
        os.makedirs(str(tmp_path / tree_dir))
    _service(str(tmp_path / "sv"), "one")
    _service(str(tmp_path / "sv"), "two")
    os.symlink(str(tmp_path / "sv" / "one"), str(tmp_path / "a" / "one"))
    current = str(tmp_path / "current")
    os.symlink("a", current)
    base = current

    def swap_then_link(_look):
        os.symlink("b", current + ".new")
        os.rename(current + ".new", current)  # what runsvchdir does

    def link_two(_look):
        os.symlink(str(tmp_path / "sv" / "two"), str(tmp_path / "b" / "two"))

    class Looks(_LateAnswer):
        def __call__(self, directory):
            # the first look sees a/, the swap's look sees b/ and "two" is linked after it
            self.made = swap_then_link if self.looks == 0 else link_two
            self.look = self.looks + 1 if self.looks < 2 else 0
            return _LateAnswer.__call__(self, directory)

    monkeypatch.setattr(servicetree, "list_services", Looks(None, 0))
    loop = EventLoop()
    tree = ServiceTree(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                       "test", on_empty=loop.stop)
    seen, said = _run_until_supervised(tree, loop, str(tmp_path / "b"), ["two"])
    assert all(seen.values()), (seen, said)
