"""host: the running kernel's cgroup v2 hierarchy — where it is mounted and the controllers
its root offers — read from ``/proc/self/mountinfo`` and that mount's ``cgroup.controllers``.

The running kernel's files: asked by plan and apply on the host they converge, never under
``--root``, whose image runs on another host's kernel. The text is parsed by
``protocol.cgroupfs``.
"""

import os

from ..protocol.cgroupfs import cgroup2_mount

MOUNTINFO = "/proc/self/mountinfo"
CONTROLLERS = "cgroup.controllers"


def cgroup_hierarchy(mountinfo=MOUNTINFO):
    """``(mount, controllers)``: where cgroup v2 is mounted (None: nowhere) and the set of
    controllers its root offers (empty without a mount, or when they cannot be read)."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as stream:
            mount = cgroup2_mount(stream.read())
    except OSError:
        return None, frozenset()
    if mount is None:
        return None, frozenset()
    try:
        with open(os.path.join(mount, CONTROLLERS), encoding="ascii",
                  errors="replace") as stream:
            return mount, frozenset(stream.read().split())
    except OSError:
        return mount, frozenset()
