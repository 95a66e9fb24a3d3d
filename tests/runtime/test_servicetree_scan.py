"""A scan that meets a bug of ours in one service's start still starts the others, and tries
that one again: the exception once left the scan half done, with no retry (the directory's
other services never started) — in-process, on a real loop, with real processes."""
import os
import time

from runit_provision.runtime.supervision.loop import EventLoop
from runit_provision.runtime.supervision.servicetree import ServiceTree
from runit_provision.runtime.supervision.spawn import Spawner

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
    errors = os.pipe()
    failed = []

    class OnceFailing(ServiceTree):  # (a tree has slots: its methods are replaced here)
        __slots__ = ()

        def _start_service(self, entry, path):
            if entry.name == "b" and not failed:
                failed.append(entry.name)
                raise RuntimeError("a bug of ours")
            return ServiceTree._start_service(self, entry, path)

    tree = OnceFailing(loop, base, Spawner(stderr_fd=2, environ={"PATH": "/usr/bin:/bin"}),
                       "test", on_empty=loop.stop, stderr_fd=errors[1])
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
    assert failed == ["b"]
    assert all(seen.values()), (seen, said)
    assert "internal error starting b, tried again in a second: RuntimeError: a bug of ours" \
        in said
