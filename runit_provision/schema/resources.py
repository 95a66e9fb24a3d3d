"""schema: ``resources`` — a service's or a user's cgroup limits (docs/resources.md) — and
``stop``, how much of a service a stop ends.

Each value is read by ``protocol.cgroupfs.resource_value``, the rule ``import --systemd``
shares: bytes, tasks, percent of one CPU or a weight as an int, None for ``infinity``.
``check_controllers`` is the applier's question of the host, asked with origins as
``accounts.check_accounts_exist`` asks its: can the host's cgroup v2 honour every limit?
"""

from ..protocol.cgroupfs import (CONTROLLER_OF, FILE_OF, RESOURCE_KEYS, STOP_MODES,
                                 resource_value)
from .places import places


def read_resources(read, path, value):
    """``{key: int or None}`` of a ``resources`` hash; a problem at each bad key or value."""
    value = read.keyed_hash(path, value, RESOURCE_KEYS)
    if value is None:
        return None
    found = {}
    for key, item in value.items():
        if key not in RESOURCE_KEYS:
            continue
        try:
            found[key] = resource_value(key, item)
        except ValueError as exc:
            read.problems.add(path + (key,), "%s, got %r" % (exc, item))
    return found


def check_memory_bounds(problems, path, values, own):
    """``memory_high`` above ``memory_max`` in a service's merged ``resources`` (``path``
    the service's, ``own`` the keys it wrote): the kernel would reclaim at a point the
    service can never reach. Said at the bound the service wrote, else at ``defaults``',
    so that a bad pair of defaults is said once, not once per service."""
    resources = values.get("resources") or {}
    high, top = resources.get("memory_high"), resources.get("memory_max")
    if high is None or top is None or high <= top:
        return
    written = own.get("resources") or {}
    if "memory_max" in written and "memory_high" not in written:
        problems.add(path + ("resources", "memory_max"), "%d bytes is below memory_high "
                     "(%d bytes)" % (top, high))
        return
    at = path if "memory_high" in written else ("defaults",)
    problems.add(at + ("resources", "memory_high"), "%d bytes is above memory_max (%d bytes)"
                 % (high, top))


def read_stop(read, path, value):
    """``stop: group`` (every process of the service's cgroup, the default) or ``main``
    (runit's own: the main process only)."""
    return read.choice(path, value, STOP_MODES)


def check_controllers(problems, data, mount, controllers):
    """A problem at each ``resources`` key of ``data`` (as written: a service's, a user's,
    ``defaults``') whose controller the host's cgroup v2 lacks — ``mount`` where it is
    mounted (None: nowhere), ``controllers`` what its root offers (``host/cgroup.py``) —
    saying how a host offers it. A key whose value is refused already is not asked about."""
    for path, key in resources_written(data):
        controller = CONTROLLER_OF[FILE_OF[key]]
        if problems.has(path):
            continue
        if mount is None:
            problems.add(path, "needs the %s controller, and this host mounts no cgroup v2 "
                               "hierarchy (none in /proc/self/mountinfo): %s" % (
                                   controller, how_hosts_offer(controller)))
        elif controller not in controllers:
            problems.add(path, "needs the %s controller, which this host's cgroup v2 (%s) does "
                               "not offer (it has %s): %s" % (
                                   controller, mount, "only " + ", ".join(sorted(controllers))
                                   if controllers else "none", how_hosts_offer(controller)))


def how_hosts_offer(controller):
    """How a host gives cgroup v2 a controller: the kernel has it, and no cgroup v1 hierarchy
    holds it (systemd's hybrid set-up mounts them all on v1).

    >>> "cgroup_enable=memory" in how_hosts_offer("memory"), how_hosts_offer("pids")[:44]
    (True, 'boot with systemd.unified_cgroup_hierarchy=1')
    """
    return ("boot with systemd.unified_cgroup_hierarchy=1 (cgroup v2 alone, no controller "
            "held by v1)%s, or take the key out (docs/resources.md)" % (
                ", and cgroup_enable=memory where the kernel turns memory off"
                if controller == "memory" else ""))


def resources_written(data):
    """``[(key path, key)]`` of every known ``resources`` key the data writes."""
    return [(path + ("resources", key), key) for path, raw, _ in places(data)
            if isinstance(raw.get("resources"), dict)
            for key in RESOURCE_KEYS if key in raw["resources"]]
