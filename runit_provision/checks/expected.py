"""checks: what a correct host has, as checks — derived from the validated ``Config`` and its
rendered ``Tree``, the very inputs the applier converges from.

``expectations(config, tree)`` gives one ``Request`` that covers every check (a host is read
once, ``snapshot.py``) and the checks, each a pure function of the ``Snapshot`` that returns the
problems it finds (none: it passes), every problem naming the path and what is wrong. Per
service: ``files``, ``linked``, ``supervised``, ``running``, ``logger running``, ``log dir
writable``, ``runs as LOGIN``, ``run-as accounts``, ``absent``; per tree ``directories``; for
every other entry of the service directories (``Expectations.found_in``), ``running (not in
the data)``; and ``runtime`` (``runtime_checks``): ``tools installed`` and, unless ``init:
none``, ``installed`` and ``linked into init``, from the init room's own answer for the host.
What each checks: docs/verify.md, "The checks". What runs is judged by the one verdict
``status`` and ``fleet status`` judge by (health/verdict.py), wanted as the data says.

A staged tree (``verify --root``) is read under its directory, owners from its own passwd and
group; nothing runs there, so the supervision checks and the PATH are left out.

Why one module: each check is a few lines over the same ``Snapshot`` and ``Config``, and the
list of them reads as docs/verify.md's table does.
"""

import difflib
import posixpath

from ..errors import ProtocolError
from ..health.verdict import NOT_READY, is_wanted, verdict_of
from ..model import USER_TREE_PREFIX, log_directory, tree_log_directory
from ..model.acl import acl_from_bytes, extended, readers_acl, words
from ..model.units import label_of
from ..protocol.layout import (CGROUP, DOWN, ENV_DIR, LOG_DIR, SUPERVISE_DIR, SVLOGD_CONFIG,
                               acted_on, path_in)
from ..protocol.sidestate import Condition
from ..render.servicedir import Place, oneshots_needed
from ..render.users import user_place
from ..shown import shown_line, shown_name

RUNIT_TOOLS = ("runsvdir", "runsv", "sv", "svlogd", "chpst")
KIND_NAMES = {"f": "a file", "d": "a directory", "l": "a symlink", "p": "a FIFO",
              "s": "a socket", "c": "a character device", "b": "a block device"}
ENTRY_KINDS = {"file": "f", "bytecode": "f", "directory": "d", "symlink": "l"}
DIFF_LINES = 20


class Check:
    """One check: ``group`` (the service, ``login/name``, a tree or ``runtime``), ``name``;
    ``test(snapshot)`` returns the problems found, one line each (a content diff may follow its
    line), or a Skipped; ``skip``: why the check cannot run yet, or None."""

    __slots__ = ("group", "name", "test", "skip")

    def __init__(self, group, name, test=None, skip=None):
        self.group, self.name, self.test, self.skip = group, name, test, skip

    @property
    def nodeid(self):
        return "%s::%s" % (self.group, self.name)

    def __repr__(self):
        return "Check(%s)" % self.nodeid


class Skipped:
    """What a check's test returns when what it found is not the data's promise to keep:
    ``reason`` (what it found, and whose it is), shown as the check's skip."""

    __slots__ = ("reason",)

    def __init__(self, reason):
        self.reason = reason


class Expectations:
    """The ``request`` that reads everything the ``checks`` look at, in one go; ``root``: a
    staged tree to read it under, ``accounts`` its owners (``accounts.Accounts``), or None;
    ``finders``: ``snapshot -> [Check]`` for checks of what is only known once the host is
    read (``found_in``)."""

    def __init__(self, request, checks, root=None, accounts=None, finders=()):
        self.request, self.checks = request, checks
        self.root, self.accounts = root, accounts
        self.finders = list(finders)

    def found_in(self, snapshot):
        """The checks of what the host holds beyond the data (its services not in the
        data)."""
        return [check for finder in self.finders for check in finder(snapshot)]


class Unknown:
    """The runtime's checks cannot be derived: ``reason``; ``is_error`` makes them fail (the
    init room refused the data for this host), else they are skipped (a remote host: the init
    room reads files where it runs)."""

    __slots__ = ("reason", "is_error")

    def __init__(self, reason, is_error=False):
        self.reason, self.is_error = reason, is_error


TIMER_CHECK = "scheduled and not failed"  # a timer's check (docs/jobs.md#timers)


class Unit:
    """A service as verify sees it: where it lives and what it should look like."""

    __slots__ = ("label", "base", "link", "enabled", "down", "logdir", "log_user", "tree_login",
                 "runs_as", "ready", "oneshot", "timer", "needs_done")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def expectations(config, tree, only=None, runtime=None, root=None, accounts=None):
    """The checks of ``config`` as rendered into ``tree`` (``render(config)``), and the
    request that covers them; ``only``: the labels of the services checked, as ``render``
    takes them (``model.units.labels_named``; None: all).

    ``runtime``: the init room's answer for the host (``initsys.Runtime``: entries and the
    ``linked`` paths among them), an ``Unknown``, or None (``init: none``: nothing of it is
    checked). ``root``: a staged tree's directory (``verify --root``), read with
    ``accounts``' owners; nothing is expected to run there."""
    from .snapshot import Request

    request, checks, finders = Request(), [], []
    staged = root is not None
    wanted = only
    system = Place(config.sv_dir, config.service_dir, config.log_dir)
    checks += directory_checks("system", [config.sv_dir, config.service_dir], tree, request)
    if wanted is None and not staged:  # nothing runs in a staged tree
        finders.append(undeclared_finder(None, config.service_dir, set(config.services) | {
            USER_TREE_PREFIX + login for login in config.users}, request))
        for login in sorted(config.users):
            user = config.users[login]
            finders.append(undeclared_finder(login, user.service_dir, set(user.services),
                                             request))
    for name in sorted(config.services):
        if wanted is None or name in wanted:
            checks += service_checks(config.services[name], system, None, tree, request,
                                     staged, config)
    for login in sorted(config.users):
        user = config.users[login]
        place = user_place(user)
        checks += directory_checks("~" + login, [user.sv_dir, user.service_dir,
                                                 posixpath.dirname(user.log_dir)], tree, request)
        supervisor = USER_TREE_PREFIX + login
        if wanted is None or supervisor in wanted:
            base = posixpath.join(config.sv_dir, supervisor)
            link = posixpath.join(config.service_dir, supervisor)
            # the tree's output: root's svlogd, root's directory (render/users.py)
            checks += unit_checks(Unit(
                label=supervisor, base=base, link=link, enabled=True, down=False,
                logdir=tree_log_directory(config, login), log_user=None, runs_as=login),
                tree, request, staged)
            if not staged:  # users.LOGIN.resources: the bounds of the user's whole tree
                checks += limits_checks(supervisor, base, link, tree, request)
        for name in sorted(user.services):
            if wanted is None or label_of(login, name) in wanted:
                checks += service_checks(user.services[name], place, user, tree, request,
                                         staged, config)
    checks += runtime_checks(config, request, runtime, staged)
    if any(check.name == LIMITS_CHECK for check in checks):  # the host's part, said once
        checks.append(Check("runtime", "cgroups", cgroups_problems))
    return Expectations(request, checks, root, accounts, finders)


LIMITS_CHECK = "limits"


def limits_checks(label, base, link, tree, request, tree_link=None):
    """``limits``: the cgroup the service was last started in holds every limit its rendered
    ``cgroup`` file (protocol/cgroupfs.Spec: the data's ``resources``) sets; none for a
    service without limits. ``tree_link``: for a user's service, its tree's service
    (``runsvdir-LOGIN``) in root's service directory — judged by ``user_limits_found``."""
    from ..protocol.cgroupfs import spec_from_bytes

    entry = tree.get(posixpath.join(base, CGROUP))
    try:
        settings = spec_from_bytes(entry.content).settings if entry is not None else ()
    except (AttributeError, ValueError):  # not a file of ours: the files check says so
        settings = ()
    if not settings:
        return []
    request.cgroup(link)
    if tree_link is None:
        return [Check(label, LIMITS_CHECK, lambda snapshot: limits_problems(
            link, settings, snapshot))]
    request.cgroup(tree_link)
    return [Check(label, LIMITS_CHECK, lambda snapshot: user_limits_found(
        link, settings, snapshot, tree_link))]


def user_limits_found(link, settings, snapshot, tree_link):
    """A user's service's limits: its cgroup is in the one root's tree handed the user's tree
    (``tree_link``'s record), which the kernel makes the user's, so what the user's tree set
    or recorded there is the user's to change. The host's part fails as for root's service
    (no cgroup v2, not read); a limit that differs, or a record that names no cgroup of the
    user's tree, is Skipped saying so — the user's setting, not a broken promise of root's
    (root's bound is ``users.LOGIN.resources``, runsvdir-LOGIN's own ``limits``)."""
    from ..protocol.cgroupfs import path_from_record

    found, tree = snapshot.cgroups.get(link), snapshot.cgroups.get(tree_link)
    if found is None or found.mount is None:
        return limits_problems(link, settings, snapshot)
    top = path_from_record(tree.record) if tree is not None and isinstance(
        tree.record, bytes) else None
    if top is None:
        differs = ["%s: its tree's cgroup is not recorded" % posixpath.join(
            tree_link, SUPERVISE_DIR, CGROUP)]
    else:
        differs = limits_problems(link, settings, snapshot, top)
    if not differs:
        return []
    return Skipped("the user's to change, as their tree's cgroup is theirs: " +
                   "; ".join(differs))


def limits_problems(link, settings, snapshot, top=None):
    """What is wrong with the limits ``settings`` (``(file, value)`` each) in the cgroup of
    the service at ``link``: each file named, with what the data sets and what is there;
    ``top``: the cgroup its record must name one under (its tree's; None: any)."""
    from ..protocol.cgroupfs import (CONTROLLER_OF, ROOT_CGROUP, path_from_record,
                                     setting_read_back)

    found = snapshot.cgroups.get(link)
    record = posixpath.join(link, SUPERVISE_DIR, CGROUP)
    if found is None:
        return ["%s: not read" % record]
    if found.mount is None:
        return ["%s: its limits are not applied: no cgroup v2 (runtime::cgroups)" % link]
    if not isinstance(found.record, bytes):
        return ["%s: %s: not started in a cgroup of its own, its limits not applied" % (
            record, _errno_words(found.record))]
    path = path_from_record(found.record, top or ROOT_CGROUP)
    if path is None:
        return ["%s: names no cgroup%s" % (
            record, "" if top is None else " under its tree's (%s)" % top)]
    problems = []
    for name, value in settings:
        got = found.files.get(name)
        where = "%s%s/%s" % (found.mount, path, name)
        if got == "ENOENT":
            problems.append("%s: missing (the %s controller is not enabled there), the "
                            "data's: %s" % (where, CONTROLLER_OF[name], value))
        elif not isinstance(got, bytes):
            problems.append("%s: %s, the data's: %s" % (where, _errno_words(got), value))
        elif not setting_read_back(name, value, got.decode("ascii", "replace")):
            problems.append("%s: expected %s, found %s" % (
                where, value, shown_line(got.decode("ascii", "replace").strip())))
    return problems


def cgroups_problems(snapshot):
    """``runtime::cgroups``: the host has the cgroup v2 hierarchy the data's limits need."""
    if any(found.mount is not None for found in snapshot.cgroups.values()):
        return []
    return ["no cgroup v2 hierarchy is mounted: the data's resources cannot be applied "
            "(docs/resources.md)"]


def _errno_words(name):
    """An errno's name from the probe as words (None: not read)."""
    from .snapshot import errno_text

    return "not read" if name is None else errno_text(name)


def undeclared_finder(login, service_dir, declared, request):
    """What finds, in a read of the host, the services of ``service_dir`` (``login``'s tree;
    None: the system's) that are none of the ``declared`` names: runsvdir's view — the
    entries that are, or lead to, a directory, no dot-names (the probe's ``tree``) — and a
    link that leads nowhere, which runsvdir warns about at every scan."""
    request.tree(service_dir)
    group = "system" if login is None else "~" + login

    def find(snapshot):
        node = snapshot.node(service_dir)
        if not node.exists:
            return []  # the directories check says so
        if service_dir not in snapshot.listed:
            return [Check(group, "services not in the data", lambda snapshot: [
                "%s: not listed (unreadable, or more than %d entries): what runs there "
                "cannot be told" % (service_dir, UNDECLARED_LIMIT)])]
        checks = []
        for name in snapshot.children(service_dir):
            path = path_in(service_dir, name)
            if name.startswith(".") or name in declared or not _is_runsvdir_entry(
                    path, snapshot):
                continue
            label = shown_name(name if login is None else "~%s/%s" % (login, name))
            checks.append(Check(label, "running (not in the data)",
                                lambda snapshot, label=label, path=path: undeclared_problems(
                                    label, path, snapshot)))
        return checks
    return find


UNDECLARED_LIMIT = 10000  # hostprobe.TREE_LIMIT (the probe is a program of its own)


def _is_runsvdir_entry(path, snapshot):
    """A directory or a link to one (the probe read its side), or a link to nothing."""
    if snapshot.side(path) is not None:
        return True
    node = snapshot.node(path)
    return node.kind == "l" and node.realpath is None


def undeclared_problems(label, path, snapshot):
    """A service the data does not declare is judged as ``status`` judges it (the one
    verdict, health/verdict.py): as wanted when it runs, or when a ``down`` file marks it
    normally down (runsv's rule: then it is up only if someone said so)."""
    side = snapshot.side(path)
    if side is None:
        return ["%s: not in the data, and links to %s, which does not exist" % (
            label, shown_name(snapshot.node(path).target or "?"))]
    verdict = verdict_of(is_wanted(side, declared=False), side)
    if verdict.is_as_wanted:
        return []
    return ["%s (not in the data)" % problem
            for problem in side_problems(label, path, side, snapshot, verdict)]


def service_checks(service, place, user, tree, request, staged=False, config=None):
    label = label_of(None if user is None else user.login, service.name)
    base = posixpath.join(place.sv_dir, service.name)
    link = posixpath.join(place.service_dir, service.name)
    if service.ensure == "absent":
        request.stat(link).stat(base)
        return [Check(label, "absent", lambda snapshot: [
            "%s: still there (ensure: absent)" % path for path in (link, base)
            if snapshot.node(path).exists])]
    log_user = service.log.user if service.log is not False else None
    if user is not None:  # a user's services run as the user, with the tree's groups
        log_user = ":".join([user.login] + list(user.groups))
    checks = unit_checks(Unit(
        label=label, base=base, link=link, enabled=service.enabled, down=service.down,
        logdir=log_directory(service, place.log_dir), log_user=log_user,
        tree_login=user.login if user is not None else None,
        ready=service.ready is not None, oneshot=service.oneshot,
        timer=getattr(service, "schedule", None) is not None,
        needs_done=needed_oneshots(service, place, config)), tree, request, staged)
    if service.enabled and not staged:
        tree_link = None if user is None or config is None else posixpath.join(
            config.service_dir, USER_TREE_PREFIX + user.login)
        checks += limits_checks(label, base, link, tree, request, tree_link)
    if service.user is not None:
        run_as = service.user + (":" + service.group if service.group else "")
        ask_identity(run_as, request)
        checks.append(Check(label, "run-as accounts", lambda snapshot: run_as_problems(
            label, run_as, snapshot)))
    return checks


def unit_checks(unit, tree, request, staged=False):
    """The checks of one service (``Unit``) and what they need in ``request``; ``staged``: a
    tree where nothing runs (its files, link and log directory only)."""
    log_config = path_in(unit.logdir, SVLOGD_CONFIG) if unit.logdir is not None else None
    entries = [entry for entry in tree if entry.kind in ("file", "directory") and (
        entry.path == unit.base or entry.path.startswith(unit.base + "/")
        or (unit.logdir is not None and entry.path in (unit.logdir, log_config)))]
    request.walk(unit.base).stat(unit.link)
    if unit.logdir is not None:
        request.stat(unit.logdir).stat(log_config)
    ask_owners(entries, request)
    checks = [Check(unit.label, "files", lambda snapshot: files_problems(
        entries, unit.base, tree, snapshot))]
    link_entry = tree.get(unit.link)
    if not unit.enabled:
        checks.append(Check(unit.label, "not linked", lambda snapshot: [
            "%s: linked, but the service is enabled: false" % unit.link
        ] if snapshot.node(unit.link).exists else []))
        return checks
    checks.append(Check(unit.label, "linked", lambda snapshot: link_problems(
        unit.link, link_entry.target if link_entry is not None else unit.base, snapshot)))
    if not staged:
        request.side(unit.link)
        if unit.tree_login is not None:
            request.login(unit.tree_login)
        checks.append(Check(unit.label, "supervised", lambda snapshot: supervised_problems(
            unit, snapshot)))
        if not unit.down:  # a one-shot passes running, or done; a timer scheduled or
            # running, and its last run not failed (health/verdict.py)
            for _, directory in unit.needs_done or ():
                request.side(directory)
            checks.append(Check(unit.label, TIMER_CHECK if unit.timer else
                                "running or done" if unit.oneshot else "running",
                                lambda snapshot: running_problems(
                                    unit.label, unit.link, snapshot,
                                    needs_done=unit.needs_done)))
            if unit.ready:
                checks.append(Check(unit.label, "ready", lambda snapshot: ready_problems(
                    unit.label, unit.link, snapshot)))
        elif unit.oneshot or unit.timer:  # started by hand (once): its last run must not
            # have failed
            checks.append(Check(unit.label, "not failed", lambda snapshot: failed_problems(
                unit.label, unit.link, snapshot)))
    if unit.logdir is not None:
        if not staged:
            checks.append(Check(unit.label, "logger running", lambda snapshot: running_problems(
                unit.label + "/" + LOG_DIR, path_in(unit.link, LOG_DIR), snapshot, logger=True)))
        ask_identity(unit.log_user, request)
        for ancestor in ancestors(unit.logdir):
            request.stat(ancestor)
        checks.append(Check(unit.label, "log dir writable", lambda snapshot: writable_problems(
            unit.logdir, unit.log_user, snapshot)))
    if unit.runs_as is not None and not staged:
        request.login(unit.runs_as)
        checks.append(Check(unit.label, "runs as " + unit.runs_as,
                            lambda snapshot: runs_as_problems(unit, snapshot)))
    return checks


def directory_checks(group, paths, tree, request):
    entries = [tree[path] for path in paths if path in tree]
    for entry in entries:
        request.stat(entry.path)
    ask_owners(entries, request)
    return [Check(group, "directories", lambda snapshot: [
        problem for entry in entries for problem in entry_problems(entry, snapshot)])]


# -- the checks' tests: (…, snapshot) -> problems ----------------------------------------------
def files_problems(entries, base, tree, snapshot):
    problems = entries_problems(entries, snapshot)
    scopes = acted_on(base, path_in(base, LOG_DIR) in tree, path_in(base, ENV_DIR) in tree)
    for directory, counted in scopes.items():
        if directory not in tree or not snapshot.node(directory).kind == "d":
            continue
        for name in snapshot.children(directory):
            path = directory + "/" + name
            # what runsv acts on: one the data does not declare changes what runs, and the
            # applier purges it
            if path in tree or (counted is not None and name not in counted):
                continue
            # a name a user chose: shown escaped (an escape sequence, a newline, a byte that
            # is not UTF-8 — docs/security.md, N7)
            problems.append("%s: not in the data (%s)" % (shown_name(path),
                                                          _acts_on(directory, base, name)))
    return problems


def _acts_on(directory, base, name):
    if directory == path_in(base, ENV_DIR):
        return "chpst -e sets it"
    if name == LOG_DIR:
        return "runsv starts a logger from it"
    if name == DOWN:
        return "the service is normally down"
    return "runsv runs it"


def entries_problems(entries, snapshot):
    """Every entry against the host, a missing directory said once (not for each path below
    it)."""
    problems, missing = [], []
    for entry in entries:
        if any(entry.path.startswith(directory + "/") for directory in missing):
            continue  # said once, for the directory
        found = entry_problems(entry, snapshot)
        if entry.kind != "absent" and not snapshot.node(entry.path).exists:
            missing.append(entry.path)
        problems += found
    return problems


def entry_problems(entry, snapshot):
    """A rendered File, Directory, Symlink or Absent against the host's Node."""
    node = snapshot.node(entry.path)
    if entry.kind == "absent":
        return ["%s: still there (%s)" % (entry.path, KIND_NAMES.get(node.kind, node.kind))
                ] if node.exists else []
    if entry.kind == "symlink":
        if entry.yields and node.exists and node.kind != "l":
            return []  # a pointer for people that gives way: apply leaves it too, and says so
        return link_problems(entry.path, entry.target, snapshot)
    if not node.exists:
        return ["%s: missing (%s)" % (entry.path, node.error)]
    want = ENTRY_KINDS[entry.kind]
    if node.kind != want:
        return ["%s: is %s, not %s" % (entry.path, KIND_NAMES.get(node.kind, node.kind),
                                       KIND_NAMES[want])]
    problems = []
    if entry.kind == "file":
        problems += content_problems(entry, node)
    elif entry.kind == "bytecode":
        problems += bytecode_problems(entry, node)
    if node.mode != entry.mode:
        problems.append("%s: mode %04o, want %04o" % (entry.path, node.mode, entry.mode))
    owner = owner_problem(entry, node, snapshot)
    if owner:
        problems.append(owner)
    if entry.readers and snapshot.reads_acls:
        problems += acl_problems(entry, node, snapshot)
    return problems


def acl_problems(entry, node, snapshot):
    """A directory with readers against the access ACL the host's probe read (the applier's
    one ACL: ``model.acl.readers_acl``)."""
    uids = [_reader_uid(reader, snapshot) for reader in entry.readers]
    if None in uids:
        return ["%s: reader %s does not exist on the host"
                % (entry.path, entry.readers[uids.index(None)])]
    if isinstance(node.acl, str):
        return ["%s: its ACL could not be read (%s)" % (entry.path, node.acl)]
    try:
        found = () if node.acl is None else extended(acl_from_bytes(node.acl))
    except ProtocolError as exc:
        return ["%s: its ACL: %s" % (entry.path, exc)]
    want = extended(readers_acl(entry.mode, uids))
    if found != want:
        return ["%s: ACL %s, want %s" % (entry.path, words(found), words(want))]
    return []


def _reader_uid(reader, snapshot):
    if isinstance(reader, int):
        return reader
    identity = snapshot.logins.get(reader)
    return None if identity is None else identity.uid


def content_problems(entry, node):
    if node.content is not None:
        if node.content == entry.content:
            return []
        # each line shown as text, safe to print: the host's file may be a user's
        diff = list(difflib.unified_diff(_shown_lines(entry.content), _shown_lines(node.content),
                                         "data", "host", lineterm="", n=1))
        if len(diff) > DIFF_LINES:
            diff = diff[:DIFF_LINES] + ["... (%d more lines)" % (len(diff) - DIFF_LINES)]
        return ["%s: content differs from the data\n%s" % (entry.path, "\n".join(diff))]
    import hashlib
    if node.sha256 is None:
        return ["%s: content could not be read (%d bytes)" % (entry.path, node.size or 0)]
    if node.sha256 != hashlib.sha256(entry.content).hexdigest():
        return ["%s: content differs from the data (%d bytes, want %d)"
                % (entry.path, node.size, len(entry.content))]
    return []


def bytecode_problems(entry, node):
    """A ``.pyc`` is judged by its header: of the module's source, for this interpreter."""
    if node.content is None:
        return ["%s: content could not be read (%d bytes)" % (entry.path, node.size or 0)]
    why = entry.difference(node.content)
    return [] if why is None else ["%s: not the .pyc of %s for this interpreter (%s)"
                                   % (entry.path, entry.source, why)]


def _shown_lines(content):
    return [shown_line(line) for line in content.decode("utf-8", "replace").splitlines()]


def owner_problem(entry, node, snapshot):
    owner = snapshot.logins.get(entry.owner)
    have = "%s:%s" % (node.user or node.uid, node.group or node.gid)
    if owner is None or not owner.exists:
        return "%s: owner %s does not exist on the host" % (entry.path, entry.owner)
    if entry.group is not None:
        group_ok = node.group == entry.group
        want = "%s:%s" % (entry.owner, entry.group)
    else:  # the applier's default: the owner's primary group
        group_ok = node.gid == owner.gid
        want = "%s:(gid %d, %s's group)" % (entry.owner, owner.gid, entry.owner)
    if node.uid != owner.uid or not group_ok:
        return "%s: owned by %s, want %s" % (entry.path, have, want)
    return None


def link_problems(link, target, snapshot):
    node = snapshot.node(link)
    if not node.exists:
        return ["%s: not linked (%s)" % (link, node.error)]
    if node.kind != "l":
        return ["%s: is %s, not a link to %s" % (link, KIND_NAMES.get(node.kind), target)]
    if node.target != target:
        return ["%s: links to %s, want %s" % (link, shown_name(node.target), target)]
    return []


def supervised_problems(unit, snapshot):
    side = snapshot.side(unit.link)
    if side is None:
        return ["%s: not supervised: %s is not a service directory on the host"
                % (unit.label, unit.link)]
    if not side.is_supervised:
        return ["%s: not supervised: %s (%s)" % (unit.label, side.error, _why_not(unit))]
    if unit.tree_login is not None:
        identity = snapshot.logins.get(unit.tree_login)
        if identity is not None and identity.exists and side.supervise_uid != identity.uid:
            return ["%s: %s/supervise is owned by uid %s, want %s (uid %d): another tree "
                    "supervises it" % (unit.label, unit.link, side.supervise_uid,
                                       unit.tree_login, identity.uid)]
    return []


def _why_not(unit):
    if unit.tree_login is not None:
        return "is runsvdir-%s running?" % unit.tree_login
    return "does a runsvdir serve %s?" % posixpath.dirname(unit.link)


def running_problems(label, side_dir, snapshot, logger=False, needs_done=None):
    """A side the data wants up (a service not ``down``, its logger), judged by the one
    verdict (health/verdict.py) with what the data wants; its problems say why not.
    ``needs_done``: the one-shots it needs (``needed_oneshots``), that it may wait for."""
    side = snapshot.side(side_dir)
    if side is None:
        return ["%s: no %s (%s is not a directory on the host)"
                % (label, "logger" if logger else "service", side_dir)]
    if needs_done:
        side = with_waiting_for(side, needs_done, snapshot)
    verdict = verdict_of(True, side)
    if set(verdict.words) <= {NOT_READY}:  # still starting: the ``ready`` check says so
        return []
    return side_problems(label, side_dir, side, snapshot, verdict)


def needed_oneshots(service, place, config):
    """``(name, service directory)`` of each one-shot ``service`` needs, in its order: what
    its rendered ``needs-done`` names (render's ``oneshots_needed``) — verify takes them from
    the data, not from the host."""
    if config is None:
        return ()
    return tuple((posixpath.basename(directory), directory)
                 for directory in oneshots_needed(service, place, config))


def with_waiting_for(side, needs_done, snapshot):
    """``side`` with the one-shots its ``./run`` waits for now (protocol/needsdone.py) —
    held by our tree (``down``), or in its guard under the C runit (``run``: as wanted by
    its state alone) — each one-shot as the probe saw its directory."""
    from ..protocol.needsdone import waited_for
    from .snapshot import needs_passed_of

    needed = [(name, snapshot.side(directory)) for name, directory in needs_done]
    found = waited_for(side, [(name, oneshot.replaced(is_oneshot=True))
                              for name, oneshot in needed if oneshot is not None],
                       needs_passed_of(side), side.boot)
    return side.replaced(waiting_for=tuple(found)) if found else side


def failed_problems(label, side_dir, snapshot):
    """A one-shot or a timer the data keeps down (``down: true``): nothing is wanted of it
    but that its last run, if any, did not fail (docs/jobs.md, docs/jobs.md#timers) — and a
    timer's records can be read."""
    from ..protocol.lastrun import FAILED

    side = snapshot.side(side_dir)
    if side is not None and side.unreadable:  # what its records say cannot be told
        return ["%s: unreadable (%s)" % (label, side.unreadable_text)]
    if side is not None and side.is_timer:
        last, read = side.last_run, side.timer
        if read.unreadable is not None:
            return ["%s: unreadable (%s)" % (label, read.unreadable)]
        if last is None or last.is_done:
            return []
        from ..protocol.tally import exit_text

        return ["%s: its last run failed (%s)" % (label, exit_text(last.end))]
    if side is None or side.job != FAILED:
        return []
    return side_problems(label, side_dir, side, snapshot, verdict_of(False, side))


def side_problems(label, side_dir, side, snapshot, verdict):
    """Why a side is not as wanted (``verdict``, health/verdict.py): not supervised, its state
    unknown, or the verdict's words — ``not running``, ``crash-looping`` (its account, read
    from our runsv's ``supervise/tally``, says so even while it runs between two deaths) — and
    what sv would say of it."""
    if not side.is_supervised:
        return ["%s: not running: not supervised: %s" % (label, side.error)]
    if side.status is None or side.unknown is not None:
        return ["%s: state unknown: %s" % (label, side.error if side.status is None
                                                   else side.unknown)]
    from ..protocol.status import status_line
    return ["%s: %s: %s" % (label, verdict.word, status_line(
        side_dir, side.status, int(snapshot.now or 0), side.is_normally_up))]


def ready_problems(label, side_dir, snapshot):
    """A running service that declares readiness must have said it is ready
    (``supervise/readiness``, docs/readiness.md); one that does not run is ``running``'s."""
    side = snapshot.side(side_dir)
    if side is None or side.state is not Condition.RUN:
        return []
    found = side.readiness
    if found is None and side.unreadable:
        return ["%s: not ready: unreadable (%s)" % (label, side.unreadable_text)]
    if found is None:
        return ["%s: not ready: nothing recorded for pid %d (its readiness is declared: is "
                "it run by runit-provision's runsv, or by a ./run with notify-relay?)"
                % (label, side.status.pid)]
    if found.state == "ready":
        return []
    waited = max(0, int(snapshot.now or 0) - found.started_ns // 1_000_000_000)
    said = (": " + shown_name(found.status)) if found.status else ""  # the service's words
    return ["%s: not ready: %s for %d s%s" % (label, found.state, waited, said)]


def writable_problems(logdir, user_spec, snapshot):
    uid, gids, who, missing = identity_of(user_spec, snapshot)
    if missing:
        return ["%s: cannot tell who writes it: %s" % (logdir, missing)]
    chain = ancestors(logdir) + [logdir]
    for path in chain:
        node = snapshot.node(path)
        if not node.exists:
            return ["%s: not writable by %s: %s is missing (%s)" % (logdir, who, path,
                                                                     node.error)]
        if node.kind == "l":
            continue  # a link's own bits mean nothing; its target is checked where it is asked
        need = 3 if path == logdir else 1  # w and x on the directory, x on the way to it
        if not allows(node, uid, gids, need):
            return ["%s: not writable by %s: %s is %04o %s:%s" % (
                logdir, who, path, node.mode, node.user or node.uid, node.group or node.gid)]
    return []


def allows(node, uid, gids, bits):
    """Unix permission for ``bits`` (2 write, 1 search) by uid/gids: the owner's bits alone
    for the owner, the group's for a member, else the others' (root: always)."""
    if uid == 0:
        return True
    if node.uid == uid:
        shift = 6
    elif node.gid in gids:
        shift = 3
    else:
        shift = 0
    return (node.mode >> shift) & bits == bits


def identity_of(user_spec, snapshot):
    """(uid, gids, description, problem) of chpst -u's ``user[:group…]`` (None: root)."""
    if user_spec is None:
        return 0, [0], "root", None
    login, *groups = user_spec.split(":")
    identity = snapshot.logins.get(login)
    if identity is None or not identity.exists:
        return None, None, login, "user %s does not exist on the host" % login
    gids = []
    for name in groups:
        gid = snapshot.groups.get(name)
        if gid is None:
            return None, None, login, "group %s does not exist on the host" % name
        gids.append(gid)
    # chpst -u sets the groups it is given, else the user's primary group alone
    gids = gids or [identity.gid]
    return identity.uid, gids, "%s (uid %d, gids %s)" % (
        user_spec, identity.uid, ",".join(str(g) for g in gids)), None


def run_as_problems(label, user_spec, snapshot):
    """A service's ``chpst -u USER[:GROUP]``: an account the host lacks makes chpst fail at
    every start (``chpst: fatal: unknown user/group``)."""
    missing = identity_of(user_spec, snapshot)[3]
    return ["%s: chpst -u %s: %s" % (label, user_spec, missing)] if missing else []


def runs_as_problems(unit, snapshot):
    side = snapshot.side(unit.link)
    identity = snapshot.logins.get(unit.runs_as)
    if identity is None or not identity.exists:
        return ["%s: user %s does not exist on the host" % (unit.label, unit.runs_as)]
    if side is None or side.status is None or not side.status.pid:
        return ["%s: not running, so not as %s" % (unit.label, unit.runs_as)]
    if side.process_uid != identity.uid:
        return ["%s: pid %d runs as uid %s, want %s (uid %d)" % (
            unit.label, side.status.pid, side.process_uid, unit.runs_as, identity.uid)]
    return []


# -- the runtime and init ----------------------------------------------------------------------
def runtime_checks(config, request, runtime=None, staged=False):
    """``tools installed`` (not for a staged tree: its PATH is nobody's yet), and unless ``init:
    none`` (init and the runtime started by it are somebody else's, docs/apply.md "init: none") the
    init room's answer as two checks: ``installed`` and ``linked into init``."""
    checks = [] if staged else [tools_check(config, request)]
    if config.init == "none" or runtime is None:
        return checks
    init_name = "linked into init (init: %s)" % getattr(runtime, "init", config.init)
    if isinstance(runtime, Unknown):
        if runtime.is_error:
            return checks + [Check("runtime", init_name,
                                   lambda snapshot: [runtime.reason])]
        return checks + [Check("runtime", name, skip=runtime.reason)
                         for name in ("installed", init_name)]
    linked = set(runtime.linked)
    installed = [entry for entry in runtime.entries if entry.path not in linked]
    link = [entry for entry in runtime.entries if entry.path in linked]
    for entry in runtime.entries:
        request.stat(entry.path)
    ask_owners([entry for entry in runtime.entries if entry.kind != "absent"], request)
    if installed:  # runtime: system installs nothing of ours
        checks.append(Check("runtime", "installed (runtime %s)" % runtime.version,
                            lambda snapshot: entries_problems(installed, snapshot)))
    checks.append(Check("runtime", init_name, lambda snapshot: entries_problems(
        link, snapshot)))
    return checks


def tools_check(config, request):
    for tool in RUNIT_TOOLS:
        request.which(tool)

    def test(snapshot):
        problems = []
        for tool in RUNIT_TOOLS:
            command = snapshot.commands.get(tool)
            if command is None or command.path is None:
                problems.append("%s: not found on the host's PATH (runtime: %s)"
                                % (tool, config.runtime))
            elif config.runtime == "python" and isinstance(command.head, bytes) \
                    and command.head.startswith(b"\x7fELF"):
                problems.append("%s: %s is a compiled program, not runit-provision's "
                                "(runtime: python)" % (tool, command.path))
        return problems
    return Check("runtime", "tools installed", test)


# -- what the checks need -----------------------------------------------------------------------
def ask_owners(entries, request):
    for entry in entries:
        if entry.owner is not None:
            request.login(entry.owner)
        for reader in entry.readers:
            if not isinstance(reader, int):
                request.login(reader)


def ask_identity(user_spec, request):
    if user_spec is None:
        return
    login, *groups = user_spec.split(":")
    request.login(login)
    for name in groups:
        request.group(name)


def ancestors(path):
    """``/a/b/c`` -> ``['/', '/a', '/a/b']``."""
    found, parent = [], posixpath.dirname(path.rstrip("/"))
    while True:
        found.append(parent)
        if parent == "/":
            break
        parent = posixpath.dirname(parent)
    return found[::-1]
