"""health: what every declared service is doing — ``runit-provision status``'s rows.

For each ServiceUnit of the data (model/units.py: system services, each
``runsvdir-<login>``, the users' services) both sides are read from their ``supervise/``
files the way sv reads them (the ``supervise/ok`` probe, then ``supervise/status``;
``host/sides.read_side``), through an ``FsReader``, and the ``down`` files say whether a side
is normally up. Each row is judged once, by the one verdict (verdict.py: *wanted* as runsv
sees it; a wanted service that is not running is what makes ``status`` exit 3, LSB's "not
running"). A side whose state cannot be told (its status or ``ok`` made unreadable) is
``unknown``; each row carries the restarts an apply owes it (``SV_DIR/.pending-restarts``,
host/owed.py).

After the declared services come the ones the data does not declare (``declared`` False):
every other entry of the service directories the data names, linked by hand or left behind
(host/supervised.py), read the same way. runsv's own rule says what is wanted of one: up
unless a ``down`` file marks it normally down.
"""

import posixpath
import time

from ..errors import ApplyError, UnsafePathError
from ..host.cgroupread import CgroupReader
from ..host.fsread import FsReader
from ..host.owed import owed_path
from ..host.sides import NOT_SUPERVISED, probe_side, read_owed, read_side
from ..model.units import declared_units, selected_units, service_directories, units_named
from ..protocol.layout import LOG_DIR
from ..protocol.sidestate import SideState
from ..protocol.tally import CRASH_LOOP
from .verdict import UNKNOWN, is_paused, is_wanted, side_words, verdict_of


def side_json(side):
    """``status --json``'s record of one side (protocol.sidestate.SideState): every derived word,
    our runtime's account (``unknown`` where none is kept) and, for a side that declares it,
    its readiness."""
    found = {"state": side.state, "pid": side.pid or None, "uptime": side.uptime,
             "want": side.want, "normally": side.normally, "paused": is_paused(side)}
    tally = side.tally
    if tally is None:
        found.update(starts=UNKNOWN, deaths=UNKNOWN, last_exit=UNKNOWN,
                     deaths_in_window=UNKNOWN, crash_looping=UNKNOWN, gave_up=UNKNOWN)
        return _with_readiness(side, found)
    last = tally.last_exit
    if last is not None:
        last = dict(last, at=tally.died_at_ns / 1e9,
                    ran=None if tally.ran_ns is None else tally.ran_ns / 1e9)
    found.update(starts=tally.starts, deaths=tally.deaths, last_exit=last,
                 deaths_in_window=side.deaths_in_window, window=CRASH_LOOP[1],
                 crash_looping=side.is_crash_looping,
                 gave_up=tally.gave_up_ns / 1e9 if tally.gave_up_ns else None)
    return _with_readiness(side, found)


def restart_json(side):
    """The restart that waits out the back-off, as ``--json`` shows it (None: none)."""
    found = side.waiting
    if found is None or side.restart_text is None:
        return None
    return {"in": max(0.0, (found.due_ns - side.now_ns) / 1e9), "due": found.due_ns / 1e9,
            "delay": found.delay, "step": found.step, "steps": found.steps,
            "restarts": found.restarts}


def readiness_json(side):
    found = side.readiness
    if found is None:
        return None
    return {"state": found.state, "ready": side.is_ready, "latency": side.ready_latency,
            "ready_at": found.ready_ns / 1e9 if found.ready_ns else None,
            "started_at": found.started_ns / 1e9, "status": found.status,
            "mainpid": found.mainpid or None, "refused": found.refused}


def _with_readiness(side, found):
    """``readiness`` only for a side that declares it: every other side's JSON is as it was
    before readiness existed; ``unreadable`` likewise, only for a side with a record that
    cannot be read (protocol.sidestate.SideState.unreadable_text); ``restart`` and
    ``waiting_for`` only while a restart or ./run waits."""
    if side.unreadable:
        found["unreadable"] = side.unreadable_text
    if side.readiness is not None:
        found["readiness"] = readiness_json(side)
    if side.waiting is not None:  # likewise: only while a restart waits out a back-off
        found["restart"] = restart_json(side)
    if side.waiting_for:  # and while ./run waits for one-shots it needs: the fact's words
        from ..protocol.needsdone import waiting_words

        found["waiting_for"] = waiting_words(side.waiting_for)
    if side.is_timer:  # and a timer's own record (docs/jobs.md#timers)
        found["timer"] = timer_json(side)
    return found


def timer_json(side):
    """A timer's ``--json`` record (protocol/timerwords.py): what it does and its word, its
    schedule, its next run and last run (unix seconds; None: none or unknown), skipped and
    timed-out runs; ``unreadable``: why it cannot be told (None: it can)."""
    from ..protocol.tally import exit_text
    from ..protocol.timerwords import (missed_of, run_took, skipped_of, spec_json,
                                       timed_out_of)

    read, doing, last = side.timer, side.timer_doing, side.last_run
    start_ns = 0 if doing is None else doing.last_start_ns
    next_ns = None if doing is None else doing.next_ns
    found = {"state": None if doing is None else doing.kind,
             "word": None if doing is None else doing.word,
             "unreadable": read.unreadable,
             "next": next_ns / 1e9 if next_ns else None,
             "since": doing.since_ns / 1e9 if doing is not None and doing.since_ns else None,
             "last_run": None, "skipped": skipped_of(read.record),
             "timed_out": timed_out_of(read.record), "missed": missed_of(read.record)}
    found.update(spec_json(read.spec))
    if last is not None and read.unreadable is None:
        took = run_took(last, start_ns)
        found["last_run"] = {"started": start_ns / 1e9 if start_ns else None,
                             "ended": last.ended_ns / 1e9 if last.ended_ns else None,
                             "duration": took, "exit": last.end, "done": last.is_done,
                             "said": exit_text(last.end)}
    return found


def cgroup_json(usage, main):
    """``status --json``'s ``cgroup`` of a service (protocol.cgroupfs.Usage; ``main``: its
    SideState): its figures, None where unknown (or, for a limit, none is set); ``outliving``:
    how many of its processes outlive the main process. Only ``unreadable`` for a record
    that is not one."""
    if usage.unreadable is not None:
        return {"unreadable": usage.unreadable}
    return {"path": usage.path, "memory": usage.memory, "memory_peak": usage.memory_peak,
            "memory_max": usage.memory_max, "memory_high": usage.memory_high,
            "tasks": usage.tasks, "tasks_max": usage.tasks_max, "oom_kills": usage.oom_kills,
            "cpu_seconds": None if usage.cpu_usec is None else usage.cpu_usec / 1e6,
            "processes": None if usage.procs is None else len(usage.procs),
            "outliving": None if usage.procs is None else outliving(usage, main)}


def outliving(usage, main):
    """How many processes of the service's cgroup outlive its main process (``main``, its
    SideState: only one that runs has a main process)."""
    return usage.outliving(main.pid if main.is_running else 0)


class ServiceStatus:
    """A supervised service: ``label``, ``path`` (its directory; for one the data does not
    declare, its entry in the service directory), ``tree`` (login or None), ``enabled``,
    ``main`` and ``log`` (protocol.sidestate.SideState; ``log`` None without a logger),
    ``owed``: the restarts and HUPs an apply wrote down for it and has not done yet
    (``owed.Owed``; host/owed.py), ``declared``: whether the data declares it, and
    ``note``: why its state was not read (None: it was); ``cgroup``: what its cgroup holds
    (protocol.cgroupfs.Usage; None: no record of one). ``verdict``: the one judgement of
    it (verdict.py), made once."""

    __slots__ = ("label", "path", "tree", "enabled", "main", "log", "owed", "declared",
                 "note", "cgroup", "_verdict")

    def __init__(self, label, path, tree, enabled, main, log, owed=(), declared=True,
                 note=None, cgroup=None):
        self.label, self.path, self.tree, self.enabled = label, path, tree, enabled
        self.main, self.log, self.owed = main, log, list(owed)
        self.declared, self.note, self.cgroup = declared, note, cgroup
        self._verdict = None

    @property
    def is_wanted(self):
        return is_wanted(self.main, self.declared, self.enabled)

    @property
    def is_running(self):
        return self.main.is_running

    @property
    def verdict(self):
        if self._verdict is None:
            self._verdict = verdict_of(self.is_wanted, self.main, self.log)
        return self._verdict

    @property
    def mark(self):
        """The line that marks a service the data does not declare (None for one it does)."""
        if self.declared:
            return None
        from ..host.supervised import LEFT_ALONE  # as undeclared_status: one such row came

        return "not in the data: %s (%s)" % (self.path, LEFT_ALONE)

    def as_json(self):
        """Its ``--json`` record; ``cgroup`` only for a service with a record of one (every
        other's is as it was before cgroups)."""
        found = {"service": self.label, "path": self.path, "tree": self.tree,
                 "declared": self.declared, "note": self.note,
                 "enabled": self.enabled, "wanted": self.is_wanted,
                 "running": self.is_running, "verdict": self.verdict.word,
                 "main": side_json(self.main),
                 "log": side_json(self.log) if self.log is not None else None,
                 "owed": [{"action": entry.action, "target": entry.target,
                           "reason": entry.reason} for entry in self.owed]}
        if self.cgroup is not None:
            found["cgroup"] = cgroup_json(self.cgroup, self.main)
        return found

    def as_fact(self):
        """``as_json`` with each side's fact words (verdict.side_words): stable between agent
        runs — a timer's verdict said without its times."""
        verdict = self.verdict if not self.main.is_timer else verdict_of(
            self.is_wanted, self.main, self.log, timed=False)
        return {"service": self.label, "path": self.path, "tree": self.tree,
                "declared": self.declared, "note": self.note,
                "enabled": self.enabled, "wanted": self.is_wanted,
                "running": self.is_running, "verdict": verdict.word,
                "main": side_words(self.main),
                "log": side_words(self.log) if self.log is not None else None}


class Rows(list):
    """The ServiceStatus rows, ``unread``: the service directories that could not be
    listed (supervised.Unread) — what runs there cannot be told — and
    ``cgroups_unavailable``: why no service's cgroup can be read (None: they can)."""

    def __init__(self, rows=(), unread=(), cgroups_unavailable=None):
        list.__init__(self, rows)
        self.unread = list(unread)
        self.cgroups_unavailable = cgroups_unavailable


def statuses_named(config, names=None, root=None, declared=True):
    """Rows (``service_statuses``) of what ``names`` name by the one name rule (model/units.py;
    None: everything) under ``root`` (None: /), read now: ``status NAME…``'s and ``metrics
    --only``'s. ``declared`` False: the data could not be read, as ``service_statuses``'s.
    ServiceNameError for a name that names none; ProvisionError or OSError when the host
    cannot be read."""
    with FsReader(root or "/") as fs, CgroupReader() as cgroups:
        labels = labels_named_on(fs, config, names, declared)
        return service_statuses(config, fs, int(time.time()), labels, declared=declared,
                                cgroups=cgroups)


def labels_named_on(fs, config, names, declared=True):
    """The labels ``names`` name (None: no name, all) by the one name rule (model/units.py):
    the data's units, then what is supervised in its service directories that it does not
    declare, read through ``fs`` (only for a name the data does not declare); ``declared``
    False: those alone (the data could not be read). ServiceNameError for a name that names
    none."""
    if not names:
        return None
    units = declared_units(config) if declared else []

    def supervised():
        from ..host.supervised import undeclared_units

        return undeclared_units(config, units, fs)
    return frozenset(unit.label for unit in units_named(units, names, supervised))


def service_statuses(config, fs, now, labels=None, probe=None, declared=True, cgroups=None):
    """Rows: a ServiceStatus for each present declared unit of ``config`` that ``labels``
    selects (model.units.labels_named's; None: all), in the data's order, then one for each
    entry of its service directories the data does not declare (supervised.py) — every one
    when ``labels`` is None, else those it names (a view's names may name them: model/units.py);
    ``now``: unix seconds; ``probe``: ``probe_side``'s signature (tests give a fake; then no
    tally is read). ``declared`` False: the data could not be read, and ``config`` (the last
    one kept, or the defaults) only says where to look — every service there is listed as one
    the data does not declare. ``cgroups``: the CgroupReader of each service's cgroup (None:
    none is read)."""
    with_tally = probe is None
    probe = probe or (lambda path: probe_side(fs, path))
    rows = Rows(cgroups_unavailable=None if cgroups is None else cgroups.unavailable)
    usage = cgroup_usage(config, fs, cgroups)
    units = selected_units(config, labels) if declared else []
    if units:
        owed = owed_by_target(fs, owed_path(config.sv_dir))
    for unit in units:
        if unit.is_absent:
            continue
        main = read_side(fs, unit.path, now, probe, with_tally)
        log = read_side(fs, unit.log_path, now, probe, with_tally) if unit.has_log else None
        rows.append(ServiceStatus(unit.label, unit.path, unit.login or unit.for_login,
                                  unit.is_enabled, main, log,
                                  owed.get(unit.path, []) + owed.get(unit.log_path, []),
                                  cgroup=usage(unit.path, unit.login)))
    if labels is None or len(labels) > len(units):
        # here: status NAME of declared services lists no service directory, and makes none
        # of its records
        from ..host.supervised import undeclared

        links = [unit.link for unit in declared_units(config)] if declared else []
        entries, unread = undeclared(service_directories(config), links, fs)
        if labels is None:
            rows.unread = unread
        rows.extend(undeclared_status(fs, entry, now, probe, with_tally, usage)
                    for entry in entries if labels is None or entry.label in labels)
    return rows


def undeclared_status(fs, entry, now, probe, with_tally=True, usage=None):
    """The ServiceStatus of an entry the data does not declare (supervised.Undeclared): read
    where it leads, as a declared one is (``usage``: side path, login -> its cgroup's Usage);
    a link that leads nowhere is not supervised, one not followed is ``unknown`` — and
    wanted, as neither can be told to be down."""
    from ..host.supervised import is_still_owned  # as service_statuses: only when listing

    note = entry.why
    if entry.side is not None and not is_still_owned(fs, entry):
        note = "not read: %s is no longer its link's owner's" % entry.side
    if note is not None:
        main = NOT_SUPERVISED if entry.is_dangling else SideState(unknown=note)
        return ServiceStatus(entry.label, entry.path, entry.login, True, main, None,
                             declared=False, note=note)
    main = read_side(fs, entry.side, now, probe, with_tally)
    log_path = entry.side + "/" + LOG_DIR
    log = read_side(fs, log_path, now, probe, with_tally) \
        if has_log_side(fs, log_path) else None
    return ServiceStatus(entry.label, entry.path, entry.login, True, main, log,
                         declared=False,
                         cgroup=None if usage is None else usage(entry.side, entry.login))


def cgroup_usage(config, fs, cgroups):
    """``(side path, login) -> Usage`` of its cgroup (``cgroups``: a CgroupReader; None:
    nothing is read): a user's service's record counts only when it names a cgroup under
    the one root's tree handed that user's tree (root's record of ``runsvdir-LOGIN``), so a
    user's record never shows root's or another user's figures as its own."""
    if cgroups is None:
        return lambda path, login: None
    from ..model import USER_TREE_PREFIX
    from ..protocol.cgroupfs import ROOT_CGROUP

    tops = {None: ROOT_CGROUP}

    def usage(path, login):
        if login not in tops:
            tops[login] = cgroups.tree_top(fs, posixpath.join(config.sv_dir,
                                                              USER_TREE_PREFIX + login))
        return cgroups.usage(fs, path, tops[login])
    return usage


def has_log_side(fs, path):
    """runsv's test for a logger: ``log`` is (or leads to) a directory. One that is not
    reached safely counts (its state is then ``unknown``)."""
    try:
        return fs.dir_stat(path) is not None
    except NotADirectoryError:
        return False
    except (OSError, UnsafePathError):
        return True


def owed_by_target(fs, path):
    """{side directory: [Owed]} of what an apply wrote down at ``path`` and has not done;
    empty when it cannot be read here (root's file, 0600, read by another account)."""
    try:
        entries = read_owed(fs, path)
    except (OSError, ApplyError):
        return {}
    found = {}
    for entry in entries:
        found.setdefault(entry.target, []).append(entry)
    return found
