"""protocol: the layout of runit's directories — the names, their roles, and who owns each.

One home for the names that the generator writes, the applier converges, the checks read and
the runtime serves. A service directory (runsv(8), docs/runit-protocol.md §1)::

    run           executable, started by runsv (required)
    finish        run after ./run exits, with its exit code and signal as $1 and $2
    check         sv's readiness check: exit 0 = up (sv(8) "check")
    down          an empty file: runsv starts the service with want down
    control/<c>   optional hooks for control byte c (runsv(8) "CUSTOMIZE CONTROL")
    env/          an envdir read by ``chpst -e`` (ours; runsv does not read it)
    log/          a second service, fed the first one's stdout through a pipe
    supervise/    runsv's own: lock, control, ok, status, stat, pid and their *.new

and a log directory (svlogd(8), runit-protocol.md §4): ``config`` (written by the generator), and
svlogd's own ``current``, ``lock``, ``state``, ``newstate``, rotated ``@<tai64n>.s``/``.u``
files and ``*.t`` processor output.

**Runtime-owned** paths are written only by runsv and svlogd: an applier never creates,
changes or removes them, and a rendered tree never contains them (``is_runtime_owned``).

Stdlib only, no imports: the runtime's start-up reads these constants.
"""

# -- a service directory ---------------------------------------------------------------------
RUN = "run"
FINISH = "finish"
CHECK = "check"
DOWN = "down"
CONTROL_DIR = "control"
ENV_DIR = "env"
LOG_DIR = "log"
SUPERVISE_DIR = "supervise"

# The names in a side's directory (a service directory, or its log/) that runsv acts on:
# ./run, ./finish, ./check (sv check), ./down at its start, control/<c> hooks — and in a
# service directory log/, a second side. Whoever renders a side owns them: an applier purges
# one the data does not declare, a check flags it; anything else there (notes, a core file) is
# neither's business. (env/ is chpst -e's, owned only where the data declares env.)
# Debian's runit integration (dh-runit's runit-helper) marks a service directory a package
# installed with .meta/ (.meta/pkg: the package, where it says): apply leaves such a
# directory alone unless the data says adopt: true.
PACKAGE_META = ".meta"
PACKAGE_NAME = PACKAGE_META + "/pkg"

SIDE_NAMES = (RUN, FINISH, CHECK, DOWN, CONTROL_DIR)
SERVICE_NAMES = SIDE_NAMES + (LOG_DIR,)

# runsv's control/<c> hooks: the letters runsv looks a hook up for (runsv.c ctrl()).
CONTROL_LETTERS = "udoxtkpchaiq12"


def path_in(directory, *names):
    """The path of the entry ``names`` (one name per level) below ``directory``: a service
    directory, its ``log/``, a log directory. A trailing "/" on ``directory`` (sv takes
    ``/etc/service/web/``) is not doubled.

    >>> path_in("/etc/sv/web", LOG_DIR, RUN), path_in("/etc/service/web/", LOG_DIR)
    ('/etc/sv/web/log/run', '/etc/service/web/log')
    >>> path_in("/var/log/web", SVLOGD_CONFIG), path_in("/etc/sv/web", CONTROL_DIR, "t")
    ('/var/log/web/config', '/etc/sv/web/control/t')
    """
    return "/".join((directory.rstrip("/"),) + names)


def acted_on(service, has_log, has_env):
    """The directories of the service directory ``service`` whose entries runsv (or chpst
    -e) acts on, each with the names that count there (None: every name): the ones an
    applier purges when the data does not declare them, and a check flags.

    >>> scopes = acted_on("/etc/sv/web", has_log=True, has_env=False)
    >>> sorted(scopes.items())  # doctest: +NORMALIZE_WHITESPACE
    [('/etc/sv/web', ('run', 'finish', 'check', 'down', 'control', 'log', 'give-up', 'backoff',
                      'ready', 'oneshot', 'schedule', 'job', 'needs-done', 'cgroup',
                      'sandbox', 'sandboxed')),
     ('/etc/sv/web/control', None),
     ('/etc/sv/web/log', ('run', 'finish', 'check', 'down', 'control')),
     ('/etc/sv/web/log/control', None)]
    """
    # ``give-up``, ``backoff``, ``ready``, ``oneshot``, ``schedule``, ``needs-done``, ``cgroup``:
    # our runsv acts on them (every reader shows the service by ``oneshot`` and ``schedule``);
    # ``job`` is a timer's run; ``sandbox`` and ``sandboxed`` are what ./run execs
    top = SERVICE_NAMES + (GIVE_UP, BACKOFF, READY, ONESHOT, SCHEDULE, JOB, NEEDS_DONE,
                         CGROUP, SANDBOX, SANDBOXED) + (
        (ENV_DIR,) if has_env else ())
    scopes = {service: top, service + "/" + CONTROL_DIR: None}
    if has_env:
        scopes[service + "/" + ENV_DIR] = None
    if has_log:
        log = service + "/" + LOG_DIR
        scopes.update({log: SIDE_NAMES, log + "/" + CONTROL_DIR: None})
    return scopes

# -- supervise/, as runsv writes it (runit-protocol.md §1.2); the same under log/supervise/ ----
LOCK = "lock"          # flock'ed for runsv's lifetime
CONTROL = "control"    # FIFO: one-byte commands in
OK = "ok"              # FIFO: runsv holds a reader; the liveness probe (runit-protocol.md §1.3)
STATUS = "status"      # 20 bytes, protocol/status.py
STAT = "stat"          # text: run / down / finish, paused, got TERM, want down / exit
PID = "pid"            # "PID\n", or empty when nothing runs
SUPERVISE_FILES = (LOCK, CONTROL, OK, STATUS, STAT, PID)
NEW_SUFFIX = ".new"    # every state file is written NAME.new, then renamed (write order:
                       # pid, stat, status)

# Paths relative to a service directory, as clients use them.
OK_FIFO = SUPERVISE_DIR + "/" + OK
CONTROL_FIFO = SUPERVISE_DIR + "/" + CONTROL
STATUS_FILE = SUPERVISE_DIR + "/" + STATUS
STAT_FILE = SUPERVISE_DIR + "/" + STAT
PID_FILE = SUPERVISE_DIR + "/" + PID

# Ours, beside runit's (its tools ignore them): the FIFO between ./run and log/run, in the log's
# supervise/, and the record of the process a side runs (runtime/supervision/engine/adoption.py).
LOG_PIPE = "pipe"
PROCESS_RECORD = "process"
# A service that declares readiness: is it ready, and what it last said (protocol/readiness.py).
READINESS = "readiness"
# ``ready: {fd: N}`` under the C runsv: the FIFO ./run opens as descriptor N, whose reader is
# notify-relay's (runtime/notifyrelay.py) — our runsv hands ./run a pipe instead.
NOTIFICATION_FIFO = "notification-fifo"
# In the service directory, ours too (C runsv reads run, finish, down, log, control/ only):
# "N W" — give up restarting after N deaths within W seconds (docs/failures.md).
GIVE_UP = "give-up"
# "backoff 1 first=… max=… steps=… jitter=… reset=…": how long each restart of a crash
# loop waits (protocol/backoff.py, docs/restart.md); ours reads it, the rendered finish has
# it too.
BACKOFF = "backoff"
# The rendered finish's record of a restart that waits, under the C runit (protocol/backoff.py):
# written by the finish as the service's owner, so a reader only shows it.
BACKOFF_STATE = "backoff-state"
# "notify [access=main|all]": how the service says it is ready (docs/readiness.md).
READY = "ready"
# A one-shot (``oneshot: true``, docs/jobs.md): the ``oneshot`` file of the service directory
# marks it (both runtimes' readers show it as one; our runsv counts its exit 0 as no death),
# and its rendered ./finish writes ``supervise/last-run``: how the last run ended
# (protocol/lastrun.py), which the C runsv does not keep.
ONESHOT = "oneshot"
LAST_RUN = "last-run"
# A service that ``needs`` one-shots: their service directories, one a line — its ./run's
# guard waits for each to be done (templates/needs-done.j2), under either runsv; ours reads
# this file and starts ./run only once they are (runtime/supervision/tree/startholds.py).
NEEDS_DONE = "needs-done"
# "cgroup 1 stop=group memory.max=…": the service's cgroup — its limits and what a stop ends
# (protocol/cgroupfs.py, docs/resources.md); our runsv reads it at each start.
CGROUP = "cgroup"
# "sandbox 1 no_new_privileges …": the sandbox ./run starts the service in, through
# sandbox-run (protocol/process/sandbox.py, docs/sandbox.md); under it, the data's own run
# script is ``sandboxed`` (./run being sandbox-run's line).
SANDBOX = "sandbox"
SANDBOXED = "sandboxed"
# Its guard's word that it passed: "needs-passed 1 pid=PID boot=ID", written by ./run as the
# service's owner when it goes on (protocol/needsdone.py) — a reader only compares it.
NEEDS_PASSED = "needs-passed"
# A timer (``schedule:``, docs/jobs.md#timers; protocol/timer.py): ``schedule`` (its spec) marks
# it, ``job`` is what a daemon's ``run`` would be (``run`` is the C runsv's waiter,
# ``exec timer-run``; ours never starts it), ``supervise/timer`` the waiter's record, and
# ``timer-stamp`` (``persistent`` only) the last elapse a run started for — in the service
# directory, not supervise/, but written only by the waiters: runtime-owned.
SCHEDULE = "schedule"
JOB = "job"
TIMER_STATE = "timer"
TIMER_STATE_FILE = SUPERVISE_DIR + "/" + TIMER_STATE
TIMER_STAMP = "timer-stamp"

# Not runit's: the file a run script sources, Void Linux's convention (``[ -r conf ] && .
# ./conf``); the data's ``conf`` key writes it, and apply restarts the service when it changes.
CONF = "conf"

# -- a log directory (svlogd) ----------------------------------------------------------------
SVLOGD_CONFIG = "config"   # svlogd reads it at start and on HUP
CURRENT = "current"        # being written: 0644 while open, 0744 once complete
SVLOGD_LOCK = "lock"       # flock'ed by svlogd (the same name as supervise/lock, elsewhere)
STATE = "state"            # the processor's fd 4 …
NEWSTATE = "newstate"      # … and fd 5, renamed to state once the processor succeeded
# Ours (runit's svlogd never reads it): the line a logger holds unfinished, for the next one.
UNFINISHED = "unfinished"
SVLOGD_OWNED = (CURRENT, SVLOGD_LOCK, STATE, NEWSTATE, UNFINISHED)
ROTATED_HEX_DIGITS = 24  # "@" + 24 hex digits of TAI64N + ".s" or ".u": 27 characters

# -- runit (PID 1) and runit-init (runit(8), runit-init(8)) ------------------------------------
RUNIT_DIR = "/etc/runit"           # stages 1, 2, 3, ctrlaltdel, nosync
# The flag files runit-init creates and runit reads: Debian's paths (upstream has them in
# /etc/runit as stopit and reboot).
STOPIT = "/run/runit.stopit"
REBOOT = "/run/runit.reboot"


def runit_flag_paths(environ):
    """``(stopit, reboot)``: Debian's paths, or the test overrides ``$RUNIT_STOPIT`` and
    ``$RUNIT_REBOOT`` (runit and runit-init read the same two)."""
    return environ.get("RUNIT_STOPIT", STOPIT), environ.get("RUNIT_REBOOT", REBOOT)


# -- the boot the records name --------------------------------------------------------------
_boot_id = None


def boot_id():
    """This boot's id (the kernel's random boot_id), read once; ``unknown`` when /proc cannot
    tell. The records name it (a one-shot's last run, a needs guard's word, the runtime's
    process records: protocol/lastrun.py, protocol/needsdone.py, adoption.py) and the readers
    compare with it — a needs guard that could not read it writes ``unknown`` too
    (templates/needs-done.j2). Under ``--root`` the same: the host's processes run here."""
    global _boot_id
    if _boot_id is None:
        try:
            with open("/proc/sys/kernel/random/boot_id") as handle:
                _boot_id = handle.read().strip()
        except OSError:
            _boot_id = "unknown"
    return _boot_id


def is_runtime_owned(relative):
    """True for a path, relative to a service directory, that only runsv writes.

    >>> [is_runtime_owned(p) for p in ("supervise", "supervise/pid", "log/supervise/ok",
    ...                                "timer-stamp")]
    [True, True, True, True]
    >>> [is_runtime_owned(p) for p in ("run", "log/run", "env/PORT", "supervisor")]
    [False, False, False, False]
    """
    parts = relative.strip("/").split("/")
    if parts == [TIMER_STAMP]:
        return True  # a timer's (a log is never one)
    if parts[0] == LOG_DIR:
        parts = parts[1:]
    return bool(parts) and parts[0] == SUPERVISE_DIR


def is_svlogd_owned(name):
    """True for an entry of a log directory that only svlogd writes (everything but
    ``config`` and what others put there).

    >>> [is_svlogd_owned(n) for n in ("current", "lock", "@400000005f5e10002a3b4c5d.s",
    ...                               "@400000005f5e10002a3b4c5d.u", "x.t", "state")]
    [True, True, True, True, True, True]
    >>> [is_svlogd_owned(n) for n in ("config", "@notrotated.s", "notes")]
    [False, False, False]
    """
    if name in SVLOGD_OWNED or name.endswith(".t"):
        return True
    return (len(name) == ROTATED_HEX_DIGITS + 3 and name[0] == "@"
            and name[-2:] in (".s", ".u") and _is_hex(name[1:-2]))


def _is_hex(text):
    return not text.strip("0123456789abcdefABCDEF")
