"""cli: ``runit-provision install-runtime`` — the runtime installed and linked into init, alone.

The part of ``apply`` that ``runtime`` and ``init`` describe (``initsys.desired_runtime``),
converged on its own: shown one line per path and command (``+`` create, ``~`` change, ``-``
remove, ``↻`` a command and why), then done — unless ``--check``. The data is optional: without
``--data``/``--hiera`` and without default data (``$RUNIT_PROVISION_HIERA``, the Puppet
module's hiera.yaml: cli/default_data.py) the defaults hold (``runtime: python``, ``init:
auto``, ``service_dir: /etc/service``). Exit codes: 0 done or nothing to do; with
``--check`` 2 when something would change; 1 on an error (message on stderr, nothing changed
by the step that failed).

Converged through the applier's one path (``apply.session.converge_runtime``, as ``apply``:
the root, the lock, then ``apply/job.py``: observe, plan, execute exactly that plan, observe
again — the second plan must be empty), with the init room's answer as the whole desired
state (``apply.desired.runtime_desire``): the same atomic writes, the same phases
for initsys's commands (``prepare`` first, then the host asked again; ``before`` right before
the first step changing one of their paths; ``after`` once one changed), the same lock as
``apply``. The lines printed are this command's own: the runtime's files folded into one line.
"""

import argparse
import json
import sys

from ..accounts import NO_ACCOUNTS
from ..apply.plan import STAGED_COMMAND
from ..apply.report import SYMBOLS
from ..apply.session import converge_runtime, is_staging
from ..apply.steps import CommandStep, PathStep
from ..errors import ProvisionError
from ..initsys import options
from ..shown import prefixed_lines, shown_text
from ..initsys.records import (
    DEFAULT_BIN_DIR, DEFAULT_PREFIX, DEFAULT_SBIN_DIR, DEFAULT_SV_LINKS)
from ..model import INITS, RUNTIMES
from ..protocol.canonical import is_simple_word
from ..schema import config_from_data
from .default_data import HIERA_HELP, reads_data
from .inputs import config_from_args, identities_for

DESCRIPTION = """\
Install the pure-Python runit runtime self-contained under --prefix (one directory per
version, switched by the link PREFIX/current), with a launcher per tool (python3 -S -I) linked
into /usr/local/bin and /usr/local/sbin — and /usr/bin/sv where no package owns it — then link
runsvdir on service_dir into init: a systemd unit, an inittab respawn line, an upstart job, or
nothing when runit is process 1 and its stage 2 scans service_dir. With runtime: system, the
host's runit is linked instead (its package installed from package_file when given).

Nothing is overwritten that a package owns or that was not written by runit-provision; what
was left alone is said in a note. --root DIR stages everything under DIR (final paths inside
the files, no command run).

exit codes: 0 done or nothing to do; 2 with --check when something would change; 1 error."""

def add_parser(sub):
    parser = sub.add_parser("install-runtime", help="install the runtime and link it into init",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="FILE", help="one YAML data file (runtime, init, "
                                                       "service_dir, sv_dir, package_file)")
    source.add_argument("--hiera", metavar="FILE", help=HIERA_HELP)
    reads_data(parser, needed=False)
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--root", metavar="DIR",
                        help="stage under DIR: paths under it, final paths in the files, "
                             "nothing started")
    parser.add_argument("--prefix", metavar="DIR", default=DEFAULT_PREFIX,
                        help="where the versions are installed (default %(default)s)")
    parser.add_argument("--bin-dir", metavar="DIR", default=DEFAULT_BIN_DIR,
                        help="links to the everyday tools (default %(default)s)")
    parser.add_argument("--sbin-dir", metavar="DIR", default=DEFAULT_SBIN_DIR,
                        help="links to runit, runit-init, runsvchdir, utmpset "
                             "(default %(default)s)")
    parser.add_argument("--no-sv-link", dest="sv_links", action="store_const", const=(),
                        default=DEFAULT_SV_LINKS,
                        help="no link /usr/bin/sv (made by default where no package owns it)")
    parser.add_argument("--python", metavar="PATH",
                        help="the interpreter the launchers start (default: the system's "
                             "python3 of this Python's release)")
    parser.add_argument("--init", choices=INITS,
                        help="override the data's init")
    parser.add_argument("--runtime", choices=RUNTIMES, help="override the data's runtime")
    parser.add_argument("--source", metavar="PATH",
                        help="install the runtime from this package directory or wheel "
                             "(default: the data's package_file when a wheel, else this one)")
    parser.add_argument("--uninstall", action="store_true",
                        help="remove the installed runtime, its links and its init files")
    parser.add_argument("--check", action="store_true",
                        help="show what would change and exit 2 if anything would")
    parser.add_argument("--json", action="store_true", help="the result as JSON")
    parser.add_argument("--lock-timeout", metavar="SECONDS", type=float, default=60.0,
                        help="how long to wait for an apply that holds the lock (default 60)")
    return parser


def run(args):
    try:
        for name in ("prefix", "bin_dir", "sbin_dir", "python"):
            value = getattr(args, name)
            if value is not None and not (value.startswith("/") and is_simple_word(value)):
                raise ProvisionError("--%s %s: an absolute path of simple characters is needed"
                                     % (name.replace("_", "-"), value))
        config = _config(args)
        opts = options(prefix=args.prefix, python=args.python, init=args.init,
                       runtime=args.runtime, uninstall=args.uninstall, bin_dir=args.bin_dir,
                       sbin_dir=args.sbin_dir, sv_links=args.sv_links, source=args.source)
        runtime, plan, result = converge_runtime(
            config, opts, args.root, args.check, args.lock_timeout,
            identities=identities_for(root=args.root if is_staging(args.root) else None))
    except (ProvisionError, OSError) as exc:
        return _failed(exc)
    shown = Shown(runtime, plan, result, args.check)
    if args.json:
        _show_json(shown, args, None if result is None else result.error)
    else:
        _show(shown)
    if result is not None and result.error is not None:
        return _failed(result.error)
    return 2 if args.check and shown.changed else 0


def _failed(exc):
    sys.stderr.write(prefixed_lines("runit-provision install-runtime: ", shown_text(str(exc))))
    return 1


def _config(args):
    args.passwd = args.group = None
    if args.data is None and args.hiera is None:
        return config_from_data({}, {}, NO_ACCOUNTS)
    return config_from_args(args)


class Shown:
    """What this command prints of the plan (``--check``) or of what was done: ``actions``
    ([(symbol, verb, step)] of paths), ``commands`` ([(Command, state)]: ``planned``, ``ran``,
    ``staged`` — it would run, but not under ``--root`` — or ``not run``: the converge stopped
    before it), ``notes``, and ``changed``."""

    def __init__(self, runtime, plan, result, check):
        self.runtime = runtime
        by_label = {" ".join(cmd.argv): cmd for cmd in runtime.commands}
        if result is None:
            steps, state = plan.steps, "planned"
        else:
            steps, state = [step for step, _ in result.done], "ran"
        self.actions = [(SYMBOLS[step.action], step.action.value, step) for step in steps
                        if isinstance(step, PathStep)]
        self.commands = [(by_label[step.path], state) for step in steps
                         if isinstance(step, CommandStep) and step.path in by_label]
        if result is not None and result.error is not None:
            done = {step.path for step in steps}
            self.commands += [(by_label[step.path], "not run") for step in plan.steps
                              if isinstance(step, CommandStep) and step.path in by_label
                              and step.path not in done]
        self.commands += [(by_label[noop.path], "staged") for noop in plan.noops
                          if noop.reason == STAGED_COMMAND and noop.path in by_label]
        self.notes = list(runtime.notes)
        self.kinds = {entry.path: entry.kind for entry in runtime.entries}
        counted = ("ran", "planned", "staged") if check else ("ran",)
        self.changed = bool(self.actions) or any(state in counted
                                                 for _, state in self.commands)

    def kind_of(self, step):
        """What the init room says the path is (``absent`` for what it removes), else the
        step's own kind (a parent directory made on the way)."""
        return self.kinds.get(step.path, step.kind)


def _show(shown):
    out = sys.stdout
    runtime = shown.runtime
    version_dir = "%s/%s/" % (runtime.prefix, runtime.version)
    inside = [action for action in shown.actions
              if runtime.version and action[2].path.startswith(version_dir)]
    if inside:
        verbs = sorted({verb for _, verb, _ in inside})
        out.write("%s %s (the runtime %s: %d paths to %s)\n" % (
            SYMBOLS[verbs[0]] if len(verbs) == 1 else "~", version_dir, runtime.version,
            len(inside), "/".join(verbs)))
    for symbol, _, step in shown.actions:
        if (symbol, _, step) not in inside:
            extra = " -> %s" % step.entry.target if step.kind == "symlink" and step.entry \
                else ""
            out.write("%s %s%s\n" % (symbol, step.path, extra))
    for cmd, state in shown.commands:
        out.write("\u21bb %s  (%s)%s\n" % (" ".join(cmd.argv), cmd.reason, {
            "staged": "  [not run: --root]", "not run": "  [not run]"}.get(state, "")))
    for note in shown.notes:
        out.write("note: %s\n" % note)
    if not shown.actions and not shown.commands:
        out.write("nothing to do: the runtime%s is installed and linked (init: %s)\n"
                  % (" " + runtime.version if runtime.version else "", runtime.init))


def _summary(shown):
    """One line, as apply's ``msg``: what was (or would be) done."""
    if not shown.actions and not shown.commands:
        return "nothing to do"
    return "%d path(s) to %s, %d command(s)" % (
        len(shown.actions), "/".join(sorted({verb for _, verb, _ in shown.actions})) or "change",
        len(shown.commands))


def _show_json(shown, args, error=None):
    """``apply --json``'s shape (Ansible's: ``changed``, ``failed``, ``check_mode``, ``msg``,
    ``root``, ``actions`` of path, kind and action), with the runtime's own fields."""
    runtime = shown.runtime
    json.dump({
        "changed": shown.changed,
        "failed": error is not None,
        "check_mode": args.check,
        "msg": str(error) if error is not None else _summary(shown),
        "root": args.root or "/",
        "runtime": runtime.runtime, "init": runtime.init, "version": runtime.version,
        "prefix": runtime.prefix,
        "actions": [{"path": step.path, "kind": shown.kind_of(step), "action": verb}
                    for _, verb, step in shown.actions],
        "commands": [{"argv": list(cmd.argv), "reason": cmd.reason, "ran": state == "ran"}
                     for cmd, state in shown.commands],
        "notes": shown.notes,
    }, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
