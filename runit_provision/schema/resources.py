"""schema: ``resources`` — a service's or a user's cgroup limits (docs/resources.md) — and
``stop``, how much of a service a stop ends.

Each value is read by ``protocol.cgroupfs.resource_value``, the rule ``import --systemd``
shares: bytes, tasks, percent of one CPU or a weight as an int, None for ``infinity``.
"""

from ..protocol.cgroupfs import RESOURCE_KEYS, STOP_MODES, resource_value


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


def check_memory_bounds(problems, path, resources):
    """``memory_high`` above ``memory_max`` (both merged, ``path`` the ``resources`` key's):
    the kernel would reclaim at a point the service can never reach."""
    high, top = (resources or {}).get("memory_high"), (resources or {}).get("memory_max")
    if high is not None and top is not None and high > top:
        problems.add(path + ("memory_high",), "%d bytes is above memory_max (%d bytes)"
                     % (high, top))


def read_stop(read, path, value):
    """``stop: group`` (every process of the service's cgroup, the default) or ``main``
    (runit's own: the main process only)."""
    return read.choice(path, value, STOP_MODES)
