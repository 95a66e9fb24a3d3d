"""importing: systemd's resource-control settings -> the data's ``resources`` and ``stop``
(docs/resources.md, docs/import.md).

``MemoryMax=``, ``MemoryHigh=``, ``TasksMax=``, ``CPUQuota=``, ``CPUWeight=``, ``IOWeight=``
become the ``resources`` keys of the same meaning, each value read by the schema's own rule
(``protocol.cgroupfs.resource_value``); a value systemd takes that the data cannot say (a
share of the host's memory or tasks, ``CPUWeight=idle``, a fraction of a percent) is
unsupported, with the reason. ``KillMode=`` becomes ``stop``.
"""

import re

from ..protocol.cgroupfs import resource_value
from ..render.servicedir import CGROUP_END, CGROUP_ENTER, END_FINISH

RESOURCE_SETTINGS = {"MemoryMax": "memory_max", "MemoryHigh": "memory_high",
                     "TasksMax": "tasks_max", "CPUQuota": "cpu_quota", "CPUWeight": "cpu_weight",
                     "IOWeight": "io_weight"}
# KillMode= -> (stop, note): stop None is the default (group), written as nothing
KILL_MODES = {
    "control-group": (None, None),
    "process": ("main", None),
    "mixed": (None, "KillMode=mixed: systemd sends TERM to the main process, then KILL to "
                    "the rest of the group; stop: group sends TERM to every process at once"),
    "none": ("main", "KillMode=none: systemd leaves every process running at stop; stop: main "
                     "signals the main process only, and what it started outlives it"),
}
_WHY = {"%": "a share of the host's total: the data gives an amount, the same on every host",
        "idle": "the idle scheduling class: cpu_weight is a weight from 1 to 10000"}


def carry_resources(unit, data, notes, refuse, unsupported):
    """``resources`` and ``stop`` of ``unit`` into ``data``; each value that cannot be
    carried is ``unsupported``, an unknown ``KillMode=`` refused."""
    resources = {}
    for setting, key in RESOURCE_SETTINGS.items():
        value = unit.value("Service", setting)
        if not value:  # unset, or an empty assignment: systemd's default, no limit
            continue
        text = value.strip()
        given = int(text) if text.isdigit() and key != "cpu_quota" else text
        try:
            resource_value(key, given)
        except ValueError as exc:
            why = _WHY["%"] if text.endswith("%") and key != "cpu_quota" else _WHY.get(text, exc)
            unsupported("%s: %s=%s: %s" % (unit.where("Service", setting), setting, value, why))
            continue
        resources[key] = given
    if resources:
        data["resources"] = resources
    mode = unit.value("Service", "KillMode")
    if mode is None:
        return
    if mode not in KILL_MODES:
        refuse("%s: KillMode=%s: unknown" % (unit.where("Service", "KillMode"), mode))
        return
    stop, note = KILL_MODES[mode]
    if stop is not None:
        data["stop"] = stop
    if note is not None:
        notes.append(note)


# -- a service directory's cgroup: its ``cgroup`` file, and the C runsv's rendered lines -----
# The lines render writes (render/servicedir.py), read back from their one spelling there.
ENTER_LINE = re.compile(re.escape(CGROUP_ENTER % "@LOGIN@").replace(
    "@LOGIN@", "( [A-Za-z0-9_.][A-Za-z0-9_.-]*)?").encode() + b"\n")
END_LINE = (CGROUP_END + "\n").encode()
END_ONLY = END_FINISH.encode()
_DATA_OF = {"memory.max": "memory_max", "memory.high": "memory_high", "pids.max": "tasks_max",
            "cpu.weight": "cpu_weight"}


def cgroup_file_keys(content, _why=None):
    """``(keys, None)``: ``resources`` and ``stop`` of a ``cgroup`` file as rendered
    (protocol/cgroupfs.Spec), or ``(None, why)``.

    >>> cgroup_file_keys(b"cgroup 1 stop=main memory.max=268435456 cpu.max=50000_100000\\n")
    ({'stop': 'main', 'resources': {'memory_max': 268435456, 'cpu_quota': '50%'}}, None)
    """
    from ..protocol.cgroupfs import CPU_PERIOD_USEC, UNLIMITED, spec_from_bytes
    try:
        spec = spec_from_bytes(content)
    except ValueError as exc:
        return None, str(exc)
    resources = {}
    for name, value in spec.settings:
        quota, _, period = value.partition(" ")
        if name == "cpu.max" and period == str(CPU_PERIOD_USEC):
            resources["cpu_quota"] = "infinity" if quota == UNLIMITED else \
                "%d%%" % (int(quota) * 100 // CPU_PERIOD_USEC)
        elif name == "io.weight" and quota == "default" and period.isdigit():
            resources["io_weight"] = int(period)
        elif name in _DATA_OF and (value.isdigit() or value == UNLIMITED):
            resources[_DATA_OF[name]] = "infinity" if value == UNLIMITED else int(value)
        else:
            return None, "%s=%s: not a value the data writes" % (name, value)
    keys = {"stop": spec.stop} if spec.stop != "group" else {}
    if resources:
        keys["resources"] = resources
    return keys, None


def without_c_runsv_lines(content, is_run):
    """A ``run`` (``is_run``) or ``finish`` without the line ``runtime: system`` renders in
    it for the C runsv (render/servicedir.in_cgroup_under_c_runsv), or None when it has none
    as rendered; a finish of that line alone is b"" (the data has no finish).

    >>> without_c_runsv_lines(b"#!/bin/sh\\nexec 2>&1\\nrunsv-cgroup enter $$ || exit 1\\nexec x\\n", True)
    b'#!/bin/sh\\nexec 2>&1\\nexec x\\n'
    >>> without_c_runsv_lines(b"#!/bin/sh\\nrunsv-cgroup enter $$ al || exit 1\\nexec x\\n", True)
    b'#!/bin/sh\\nexec x\\n'
    >>> without_c_runsv_lines(END_ONLY, False), without_c_runsv_lines(b"#!/bin/sh\\n", False)
    (b'', None)
    """
    if not is_run and content == END_ONLY:
        return b""
    head, _, rest = content.partition(b"\n")
    if not head.startswith(b"#!"):
        return None
    if is_run and rest.startswith(b"exec 2>&1\n"):
        head, rest = head + b"\nexec 2>&1", rest[len(b"exec 2>&1\n"):]
    if not is_run:
        return head + b"\n" + rest[len(END_LINE):] if rest.startswith(END_LINE) else None
    found = ENTER_LINE.match(rest)
    return head + b"\n" + rest[found.end():] if found else None
