"""checks: a service's exposure — what its process may do to the host, scored in the manner
of ``systemd-analyze security`` (docs/verify.md#security-exposure).

Each ``Item`` is one thing systemd's table weighs that the data can set: a weight, and a
badness from 0 (shut) to its range (open). The score is systemd's sum: each item's
``badness * weight / range`` rounded up, the total over every weight, in tenths from 0.0 to
10.0 rounded up; the level is systemd's word for the score's band. A setting lowers the score
by the score now minus the score with that setting at its best. What systemd weighs and no
setting here gives (seccomp's filters, among others) is ``NOT_SCORED``: named in the report,
never counted, so a score moves only with what the data can change. Pure: the data's records.
"""

from collections import namedtuple

from ..model.units import label_of
from ..protocol.process.sandbox import CAPABILITIES, Sandbox, dropped_capabilities

ROOT_NAMES = (None, "root", "0")
NOBODY = "nobody"
OWN_LOGIN = "a login of its own"  # the user setting's best: any login but root's and nobody
DEFAULT_UMASK = 0o022  # runsv's, inherited from init, where the data sets none

# systemd's bands, as the lowest score (tenths) of each: the first one reached names it.
LEVELS = ((100, "DANGEROUS"), (90, "UNSAFE"), (75, "EXPOSED"), (50, "MEDIUM"), (10, "OK"),
          (1, "SAFE"), (0, "PERFECT"))

# systemd's capability groups and weights: a group is open while the bounding set holds any.
CAPABILITY_GROUPS = (
    ("sys_admin", 1500, ("sys_admin",)),
    ("set(uid|gid|pcap)", 1500, ("setuid", "setgid", "setpcap")),
    ("sys_ptrace", 1500, ("sys_ptrace",)),
    ("sys_time", 1000, ("sys_time",)),
    ("net_admin", 1000, ("net_admin",)),
    ("sys_rawio", 1000, ("sys_rawio",)),
    ("sys_module", 1000, ("sys_module",)),
    ("(chown|fsetid|setfcap)", 1000, ("chown", "fsetid", "setfcap")),
    ("(dac_*|fowner|ipc_owner)", 1000, ("dac_override", "dac_read_search", "fowner",
                                        "ipc_owner")),
    ("audit_*", 500, ("audit_control", "audit_read", "audit_write")),
    ("syslog", 500, ("syslog",)),
    ("sys_(nice|resource)", 500, ("sys_nice", "sys_resource")),
    ("mknod", 500, ("mknod",)),
    ("kill", 500, ("kill",)),
    ("net_(bind_service|broadcast|raw)", 500, ("net_bind_service", "net_broadcast",
                                               "net_raw")),
    ("sys_boot", 100, ("sys_boot",)),
    ("mac_*", 100, ("mac_admin", "mac_override")),
    ("linux_immutable", 75, ("linux_immutable",)),
    ("ipc_lock", 50, ("ipc_lock",)),
    ("sys_chroot", 50, ("sys_chroot",)),
    ("block_suspend", 25, ("block_suspend",)),
    ("wake_alarm", 25, ("wake_alarm",)),
    ("lease", 25, ("lease",)),
    ("sys_tty_config", 25, ("sys_tty_config",)),
    ("sys_pacct", 25, ("sys_pacct",)),
)
# systemd.exec(5) settings systemd-analyze weighs that no data key gives here.
NOT_SCORED = (
    "SystemCallFilter=", "SystemCallArchitectures=", "RestrictAddressFamilies=",
    "MemoryDenyWriteExecute=", "LockPersonality=", "RestrictNamespaces=", "RestrictRealtime=",
    "RestrictSUIDSGID=", "PrivateUsers=", "PrivateMounts=", "ProtectClock=",
    "ProtectKernelLogs=", "ProtectHostname=", "ProtectProc=", "ProcSubset=", "IPAddressDeny=",
    "DeviceAllow=", "KeyringMode=", "RemoveIPC=", "RootDirectory=", "SupplementaryGroups=",
    "NotifyAccess=", "Delegate=")


class Process(namedtuple("Process", "user sandbox umask in_user_tree")):
    """What the data makes of a service's process: the ``user`` it runs as (None: root), its
    ``sandbox`` (a Sandbox, every setting off when the data gives none), its ``umask`` (an
    int) and whether it is in a user's tree (then ``user`` is that login)."""

    @property
    def is_root(self):
        return self.user in ROOT_NAMES

    def bounding_set(self):
        """The capabilities its process may hold or gain: the listed ones (all when the data
        lists none), less those a setting drops."""
        kept = set(CAPABILITIES if self.sandbox.capabilities is None
                   else self.sandbox.capabilities)
        return kept - dropped_capabilities(self.sandbox)


Item = namedtuple("Item", "name setting weight range badness_of")
Item.__doc__ = """One weighed thing: ``badness_of(process)`` -> (badness, why) with badness
from 0 to ``range``; ``setting`` is the data key that changes it."""

Lowering = namedtuple("Lowering", "setting by best")
Lowering.__doc__ = """``setting`` at its ``best`` (the value to write) lowers the score by
``by`` tenths."""


class Exposure(namedtuple("Exposure", "score level items lowerings")):
    """A service's ``score`` (tenths, 0-100), its ``level`` word, ``items`` — per Item,
    ``(item, badness, why)`` — and ``lowerings``, most first."""

    @property
    def value(self):
        """The score as the report prints it: 0.0 to 10.0."""
        return self.score / 10


def _user(process):
    if process.is_root:
        return 10, "runs as root"
    if process.user == NOBODY:
        return 9, "runs as nobody, an identity other programs share"
    if process.in_user_tree:
        return 0, "runs as its tree's user, %s" % process.user
    return 0, "runs as %s" % process.user


def _flag(key, shut, open_):
    def badness_of(process):
        return (0, shut) if getattr(process.sandbox, key) else (1, open_)
    return badness_of


def _capabilities(names):
    def badness_of(process):
        held = sorted(process.bounding_set() & set(names))
        return (1, "may hold " + ", ".join(held)) if held else (0, "holds none of them")
    return badness_of


def _ambient(process):
    raised = process.bounding_set() & set(process.sandbox.capabilities or ())
    if process.is_root or not raised:
        return 0, "raises no ambient capability"
    return 1, "raises ambient " + ", ".join(sorted(raised))


def _word(key, badness, open_):
    def badness_of(process):
        word = getattr(process.sandbox, key)
        return (badness[word], "%s=%s" % (key, word)) if word else (10, open_)
    return badness_of


def _umask(process):
    mask = process.umask
    for bit, badness, what in ((0o002, 10, "world-writable"), (0o004, 5, "world-readable"),
                               (0o020, 2, "group-writable"), (0o040, 1, "group-readable")):
        if not mask & bit:
            return badness, "files it makes are %s (umask %04o)" % (what, mask)
    return 0, "files it makes are its user's alone (umask %04o)" % mask


# systemd's weights (src/analyze/analyze-security.c); protect_kernel is its three
# ProtectKernelTunables=, ProtectKernelModules= and ProtectControlGroups= at 1000 each.
ITEMS = (
    Item("user", "user", 2000, 10, _user),
    Item("no_new_privileges", "sandbox.no_new_privileges", 1000, 1, _flag(
        "no_new_privileges", "cannot gain privileges", "may gain privileges (setuid, file "
        "capabilities)")),
    *(Item("capabilities~" + name, "sandbox.capabilities", weight, 1, _capabilities(names))
      for name, weight, names in CAPABILITY_GROUPS),
    Item("ambient capabilities", "sandbox.capabilities", 500, 1, _ambient),
    Item("private_network", "sandbox.private_network", 2500, 1, _flag(
        "private_network", "has only its own lo", "has the host's network")),
    Item("private_tmp", "sandbox.private_tmp", 1000, 1, _flag(
        "private_tmp", "has a /tmp of its own", "shares /tmp and /var/tmp")),
    Item("private_devices", "sandbox.private_devices", 1000, 1, _flag(
        "private_devices", "has a /dev of its own", "may open the host's devices")),
    Item("protect_kernel", "sandbox.protect_kernel", 3000, 1, _flag(
        "protect_kernel", "cannot change kernel tunables, modules or cgroups",
        "may change kernel tunables, modules and cgroups")),
    Item("protect_system", "sandbox.protect_system", 1000, 10, _word(
        "protect_system", {"strict": 0, "full": 3, "true": 5}, "may write /usr, /boot, /etc")),
    Item("protect_home", "sandbox.protect_home", 1000, 10, _word(
        "protect_home", {"true": 0, "tmpfs": 1, "read-only": 5}, "may write /home, /root")),
    Item("umask", "umask", 100, 10, _umask),
)
WEIGHTS = sum(item.weight for item in ITEMS)

# Each setting at its best: the value to write, and the Process it makes.
BEST = {
    "user": (OWN_LOGIN, lambda p: p._replace(user=OWN_LOGIN)),
    "umask": ("'0077'", lambda p: p._replace(umask=0o077)),
    "sandbox.capabilities": ("[]", lambda p: _sandboxed(p, capabilities=())),
    "sandbox.protect_system": ("strict", lambda p: _sandboxed(p, protect_system="strict")),
    "sandbox.protect_home": ("true", lambda p: _sandboxed(p, protect_home="true")),
    **{"sandbox." + key: ("true", lambda p, key=key: _sandboxed(p, **{key: True}))
       for key in ("no_new_privileges", "private_network", "private_tmp", "private_devices",
                   "protect_kernel")},
}


def _sandboxed(process, **settings):
    values = {key: getattr(process.sandbox, key) for key in Sandbox.__slots__}
    values.update(settings)
    return process._replace(sandbox=Sandbox(**values))


def process_of(service, login=None):
    """The Process of a ``model.Service`` in the system tree, or in ``login``'s tree (whose
    services run as that login, whatever their ``user`` says)."""
    return Process(user=login if login is not None else service.user,
                   sandbox=service.sandbox or Sandbox(),
                   umask=DEFAULT_UMASK if service.umask is None else int(service.umask, 8),
                   in_user_tree=login is not None)


def badness_sum(process):
    """systemd's sum for ``process``: each item's ``badness * weight / range``, rounded up —
    the score before it is rounded to tenths (a setting of little weight moves only this)."""
    total = 0
    for item in ITEMS:
        badness, _ = item.badness_of(process)
        total += -(-badness * item.weight // item.range)
    return total


def score_of(process):
    """The score of ``process`` in tenths, 0 to 100, rounded up as systemd's is.

    >>> score_of(Process(None, Sandbox(), 0o022, False))
    98
    """
    return -(-badness_sum(process) * 100 // WEIGHTS)


def level_of(score):
    """systemd's word for a score in tenths.

    >>> level_of(0), level_of(9), level_of(49), level_of(50), level_of(89), level_of(100)
    ('PERFECT', 'SAFE', 'OK', 'MEDIUM', 'EXPOSED', 'DANGEROUS')
    """
    return next(word for lowest, word in LEVELS if score >= lowest)


def exposure_of(process):
    """The Exposure of ``process``: its score, level, every item, and what lowers it."""
    score = score_of(process)
    items = [(item,) + tuple(item.badness_of(process)) for item in ITEMS]
    settings = dict.fromkeys(item.setting for item, badness, _ in items if badness)
    if process.in_user_tree:
        settings.pop("user", None)
    lowerings = []
    for setting in settings:
        best, better = BEST[setting]
        by = score - score_of(better(process))
        if by > 0:
            lowerings.append(Lowering(setting, by, best))
    lowerings.sort(key=lambda lowering: -lowering.by)
    return Exposure(score, level_of(score), items, lowerings)


def exposures(config, labels=None):
    """``[(label, login, Process, Exposure)]`` of every present service of ``config`` — the
    system tree's, then each user's, as ``model.units`` lists them — that ``labels`` (None:
    all) holds."""
    trees = [(None, config.services)] + [(login, config.users[login].services)
                                         for login in sorted(config.users)]
    found = []
    for login, services in trees:
        for name in sorted(services):
            service, label = services[name], label_of(login, name)
            if service.ensure == "absent" or (labels is not None and label not in labels):
                continue
            process = process_of(service, login)
            found.append((label, login, process, exposure_of(process)))
    return found


def max_score(text):
    """A ``--security-max`` value in tenths: a score (``5``, ``4.5``) or a level word, which
    allows every score of that band (``MEDIUM``: up to 7.4); ValueError otherwise.

    >>> max_score("5"), max_score("4.5"), max_score("medium"), max_score("PERFECT")
    (50, 45, 74, 0)
    """
    word = text.strip().upper()
    bands = [lowest for lowest, _ in LEVELS]
    for index, (lowest, name) in enumerate(LEVELS):
        if word == name:
            return bands[index - 1] - 1 if index else 100
    whole, dot, tenth = text.strip().partition(".")
    if (whole.isdigit() and (not dot or (len(tenth) == 1 and tenth.isdigit()))
            and int(whole) * 10 + int(tenth or 0) <= 100):
        return int(whole) * 10 + int(tenth or 0)
    raise ValueError("expected a score from 0 to 10 (one decimal at most) or a level (%s)"
                     % ", ".join(name for _, name in LEVELS))
