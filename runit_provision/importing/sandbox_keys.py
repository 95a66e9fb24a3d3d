"""importing: systemd's hardening settings -> the data's ``sandbox`` (docs/sandbox.md,
docs/import.md).

``NoNewPrivileges=``, ``CapabilityBoundingSet=`` with ``AmbientCapabilities=``,
``PrivateTmp=``, ``ProtectSystem=``, ``ProtectHome=``, the three path lists,
``PrivateDevices=``, ``PrivateNetwork=`` and the three ``ProtectKernel*=``/
``ProtectControlGroups=`` become the ``sandbox`` keys of the same meaning. What the one
``capabilities`` list or the one ``protect_kernel`` cannot say as systemd does is
unsupported, with the reason; a value that cannot be read is refused. The seccomp settings
and the hardening settings the sandbox has not are named as such (``HARDENING_WHY``).
"""

from ..protocol.process.sandbox import (
    CAPABILITIES, KEYS, capability_number, checked_path, is_hidden_by_private_tmp,
    private_tmp_hides)

BOOLEANS = {"yes": True, "true": True, "on": True, "1": True, "no": False, "false": False,
            "off": False, "0": False}
FLAG_SETTINGS = {"NoNewPrivileges": "no_new_privileges", "PrivateTmp": "private_tmp",
                 "PrivateDevices": "private_devices", "PrivateNetwork": "private_network"}
PATH_SETTINGS = {"ReadWritePaths": "read_write_paths", "ReadOnlyPaths": "read_only_paths",
                 "InaccessiblePaths": "inaccessible_paths"}
# systemd's word -> the data's value; a false boolean is systemd's default: nothing
WORD_SETTINGS = {"ProtectSystem": ("protect_system", {"full": "full", "strict": "strict"}),
                 "ProtectHome": ("protect_home", {"read-only": "read-only", "tmpfs": "tmpfs"})}
KERNEL_SETTINGS = ("ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups")
CAPABILITY_SETTINGS = ("CapabilityBoundingSet", "AmbientCapabilities")
SANDBOX_SETTINGS = {*FLAG_SETTINGS, *PATH_SETTINGS, *WORD_SETTINGS, *KERNEL_SETTINGS,
                    *CAPABILITY_SETTINGS}
_SECCOMP = "a seccomp filter: not built (docs/design.md, \"Seccomp: not built\")"
_NONE = "a hardening setting the sandbox has not (docs/sandbox.md lists what it has)"
# Hardening settings not carried, each with why; a boolean one set to no (systemd's default)
# is accepted as what runit does anyway.
HARDENING_WHY = {
    **{key: _SECCOMP for key in (
        "SystemCallFilter", "SystemCallArchitectures", "SystemCallErrorNumber", "SystemCallLog",
        "RestrictAddressFamilies", "MemoryDenyWriteExecute", "LockPersonality")},
    **{key: _NONE for key in (
        "ProtectClock", "ProtectHostname", "ProtectKernelLogs", "ProtectProc", "ProcSubset",
        "PrivateUsers", "PrivateIPC", "PrivateMounts", "RestrictNamespaces",
        "RestrictRealtime", "RestrictSUIDSGID", "RestrictFileSystems", "RemoveIPC",
        "NoExecPaths", "ExecPaths", "TemporaryFileSystem", "BindPaths", "BindReadOnlyPaths",
        "MountFlags")},
    "DynamicUser": "a user made for each start: runit runs as an account that exists",
}
_ALL = frozenset(CAPABILITIES)
# a /tmp of its own, not shared with other services: what private_tmp always is
_PRIVATE_TMP = dict(BOOLEANS, disconnected=True)


def carry_sandbox(unit, data, notes, refuse, unsupported, words):
    """``sandbox`` of ``unit`` into ``data`` (nothing when no setting is on); ``words``
    splits a path list as systemd does, its specifiers expanded (ValueError: why not)."""
    sandbox = {}
    for setting, key in FLAG_SETTINGS.items():
        if _boolean(unit, setting, refuse, _PRIVATE_TMP if setting == "PrivateTmp" else BOOLEANS):
            sandbox[key] = True
    for setting, (key, spelled) in WORD_SETTINGS.items():
        value = unit.value("Service", setting)
        if not value:
            continue
        if value.lower() in BOOLEANS:
            if BOOLEANS[value.lower()]:
                sandbox[key] = True
        elif value in spelled:
            sandbox[key] = spelled[value]
        else:
            refuse("%s: %s=%s: unknown" % (unit.where("Service", setting), setting, value))
    for setting, key in PATH_SETTINGS.items():
        found = _paths(unit, setting, notes, refuse, words)
        if sandbox.get("private_tmp"):
            found = _outside_private_tmp(setting, found, notes, unsupported)
        paths = list(dict.fromkeys(path for path, _where in found))
        if paths:
            sandbox[key] = paths
    kernel = {setting: _boolean(unit, setting, refuse) for setting in KERNEL_SETTINGS}
    if all(kernel.values()):
        sandbox["protect_kernel"] = True
    elif any(kernel.values()):
        given = [setting for setting, on in kernel.items() if on]
        unsupported("%s: %s=yes without %s: protect_kernel is one setting for the three, and "
                    "would also make read-only or refuse what this service may need" % (
                        unit.where("Service", given[-1]), "=yes, ".join(given),
                        "=, ".join(s for s in KERNEL_SETTINGS if s not in given) + "="))
    capabilities = _capabilities(unit, data, notes, refuse, unsupported,
                                 sandbox.get("no_new_privileges"))
    if capabilities is not None:
        sandbox["capabilities"] = capabilities
    if sandbox.get("protect_system") == "strict" and unit.values("Service", "RuntimeDirectory"):
        unsupported("%s: ProtectSystem=strict with RuntimeDirectory=: the run script makes "
                    "the directory inside the sandbox, where /run is read-only" % unit.where(
                        "Service", "ProtectSystem"))
        del sandbox["protect_system"]
    if sandbox:
        data["sandbox"] = {key: sandbox[key] for key in KEYS if key in sandbox}


def _boolean(unit, setting, refuse, spelled=BOOLEANS):
    """The boolean ``setting`` (False when unset or reset); a word not ``spelled`` refused."""
    value = unit.value("Service", setting)
    if not value:
        return False
    if value.lower() not in spelled:
        refuse("%s: %s=%s: not a boolean" % (unit.where("Service", setting), setting, value))
        return False
    return spelled[value.lower()]


def _paths(unit, setting, notes, refuse, words):
    """``[(path, file:line)]`` of a list ``setting``, each path absolute and normalised,
    ``-`` kept (may be missing), ``+`` taken off (the host's root is where every path is:
    ``RootDirectory=`` is not carried); a path that cannot be read refused."""
    found = []
    for value, where in unit.values("Service", setting):
        try:
            items = words(value)
        except ValueError as exc:
            refuse("%s: %s=%s: %s" % (where, setting, value, exc))
            continue
        for item in items:
            prefix = ""
            while item[:1] in ("-", "+"):
                if item[0] == "+":
                    notes.append("%s: %s=%s: the + prefix (a path under RootDirectory=) "
                                  "is the host's path here" % (where, setting, item))
                prefix, item = ("-" if item[0] == "-" else prefix), item[1:]
            # "//", "." and a trailing "/" are systemd's to simplify; ".." is refused, as
            # systemd does (where it leads depends on the links on the way)
            path = "/" + "/".join(part for part in item.split("/") if part not in ("", ".")) \
                if item.startswith("/") else item
            try:
                found.append((checked_path(prefix + path), where))
            except ValueError as exc:
                refuse("%s: %s=%s: %s" % (where, setting, value, exc))
    return found


def _outside_private_tmp(setting, found, notes, unsupported):
    """``found`` [(path, file:line)] without the paths ``PrivateTmp=`` hides (the schema
    refuses them): systemd skips one that may be missing (noted) and fails the start on one
    that may not (unsupported, with the schema's reason)."""
    kept = []
    for path, where in found:
        if not is_hidden_by_private_tmp(path):
            kept.append((path, where))
        elif path.startswith("-"):
            notes.append("%s: %s=%s left out: %s; systemd skips it too" % (
                where, setting, path, private_tmp_hides(path)))
        else:
            unsupported("%s: %s=%s with PrivateTmp=: %s, and systemd fails the start on "
                        "it" % (where, setting, path, private_tmp_hides(path)))
    return kept


def capability_set(unit, setting, refuse):
    """The set ``setting`` makes by systemd's rules, and its ``file:line`` (None: not given):
    the first line, or one after an empty or ``~``-only line, replaces what was; later ones
    add their names (OR), or with ``~`` take them away (AND NOT); a ``~`` line alone is every
    capability; an empty one resets. The bounding set starts whole, ambient empty."""
    start = _ALL if setting == "CapabilityBoundingSet" else frozenset()
    found, where = None, None
    for line in unit.settings:
        if line[:2] != ("Service", setting):
            continue
        value, where = line[2], line[3]
        invert = value.startswith("~")
        try:
            names = frozenset(CAPABILITIES[capability_number(word)]
                              for word in value[invert:].split())
        except ValueError as exc:
            refuse("%s: %s=%s: %s" % (where, setting, value, exc))
            continue
        if not names or found in (None, start):
            found = _ALL - names if invert else names
        else:
            found = found - names if invert else found | names
    return found, where


def _capabilities(unit, data, notes, refuse, unsupported, no_new_privileges):
    """The one ``capabilities`` list of ``CapabilityBoundingSet=`` and
    ``AmbientCapabilities=`` (None: the bounding set left whole): for a service run as root,
    the bounding set; run as a user, the ambient set (the list is ambient for it, and its
    bounding set too). Ambient capabilities outside the bounding set are unsupported."""
    bounding, bounding_at = capability_set(unit, "CapabilityBoundingSet", refuse)
    ambient, ambient_at = capability_set(unit, "AmbientCapabilities", refuse)
    ambient = ambient or frozenset()
    outside = ambient - (bounding if bounding is not None else _ALL)
    if outside:
        unsupported("%s: AmbientCapabilities=%s outside the bounding set (%s): the data has one "
                    "list for both" % (ambient_at, " ".join(sorted(outside)), bounding_at))
        return None
    user = unit.value("Service", "User")
    if user in (None, "root", "0"):
        if ambient:
            notes.append("%s: AmbientCapabilities= of a service run as root: it holds its "
                         "bounding set anyway" % ambient_at)
        return None if bounding in (None, _ALL) else _ordered(bounding)
    if not ambient and bounding in (None, _ALL):
        return None
    if "run" in data and not ambient and no_new_privileges:
        notes.append("%s: no capabilities written for %s, run from a run script (whose chpst "
                     "needs setuid and setgid): with no new privileges it holds none and gains "
                     "none" % (bounding_at, user))
        return None
    if "run" in data:
        unsupported("%s: capabilities of a service run as %s from a run script: the script "
                    "switches user with chpst inside the sandbox, which that bounding set "
                    "forbids, and keeps none" % (ambient_at or bounding_at, user))
        return None
    if bounding != ambient and not no_new_privileges:
        notes.append("%s: the bounding set of %s is its ambient capabilities (%s): a "
                     "set-user-id program it runs gains no more, as under systemd it could" % (
                         bounding_at or ambient_at, user,
                         " ".join(_ordered(ambient)) or "none"))
    return _ordered(ambient)


def _ordered(names):
    """Capability names in the kernel's order."""
    return [name for name in CAPABILITIES if name in names]
