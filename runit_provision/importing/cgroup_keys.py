"""importing: systemd's resource-control settings -> the data's ``resources`` and ``stop``
(docs/resources.md, docs/import.md).

``MemoryMax=``, ``MemoryHigh=``, ``TasksMax=``, ``CPUQuota=``, ``CPUWeight=``, ``IOWeight=``
become the ``resources`` keys of the same meaning, each value read by the schema's own rule
(``protocol.cgroupfs.resource_value``); a value systemd takes that the data cannot say (a
share of the host's memory or tasks, ``CPUWeight=idle``, a fraction of a percent) is
unsupported, with the reason. ``KillMode=`` becomes ``stop``.
"""

from ..protocol.cgroupfs import resource_value

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
