"""cli: ``runit-provision install-runtime`` — the runtime installed and linked into init, alone.

The part of ``apply`` that ``runtime`` and ``init`` describe (``initsys.desired_runtime``),
converged on its own: shown one line per path and command (``+`` create, ``~`` change, ``-``
remove, ``↻`` a command and why), then done — unless ``--check``. The data is optional: without
``--data``/``--hiera`` the defaults hold (``runtime: python``, ``init: auto``,
``service_dir: /etc/service``). Exit codes: 0 done or nothing to do; with ``--check`` 2 when
something would change; 1 on an error (message on stderr, nothing changed by the step that
failed).

Converged through ``runtime_converge`` for now (INTERIM, until ``apply/`` is on main).
"""

import argparse
import json
import os
import sys

from ..accounts import NO_ACCOUNTS
from ..errors import ProvisionError
from ..initsys import desired_runtime, options
from ..initsys.records import (
    DEFAULT_BIN_DIR, DEFAULT_PREFIX, DEFAULT_SBIN_DIR, DEFAULT_SV_LINKS)
from ..model import INITS, RUNTIMES
from ..protocol.logrun import is_simple_word
from ..schema import config_from_data
from . import runtime_converge
from .inputs import config_from_args

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

SYMBOLS = {"create": "+", "change": "~", "remove": "-"}


def add_parser(sub):
    parser = sub.add_parser("install-runtime", help="install the runtime and link it into init",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--data", metavar="FILE", help="one YAML data file (runtime, init, "
                                                       "service_dir, sv_dir, package_file)")
    source.add_argument("--hiera", metavar="FILE", help="a hiera.yaml (v5)")
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--root", metavar="DIR", default="/",
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
    parser.add_argument("--init", choices=("auto",) + tuple(i for i in INITS if i != "auto"),
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
        def ask():
            return desired_runtime(config, args.root, options=opts)
        if args.check:
            runtime, ran = ask(), []
            plan = runtime_converge.plan_of(runtime.entries, runtime.commands, args.root)
        else:
            runtime, plan, ran = runtime_converge.converge_runtime(ask, args.root)
    except (ProvisionError, OSError) as exc:
        sys.stderr.write("runit-provision install-runtime: %s\n" % exc)
        return 1
    changed = bool(plan.actions or plan.commands)
    if args.json:
        _show_json(runtime, plan, ran, args)
    else:
        _show(runtime, plan, ran, args)
    return 2 if args.check and changed else 0


def _config(args):
    if args.data is None and args.hiera is None:
        return config_from_data({}, {}, NO_ACCOUNTS)
    args.passwd = args.group = None
    return config_from_args(args)


def _show(runtime, plan, ran, args):
    out = sys.stdout
    version_dir = "%s/%s/" % (runtime.prefix, runtime.version)
    inside = [a for a in plan.actions if runtime.version and a.entry.path.startswith(version_dir)]
    if inside:
        verbs = sorted({a.verb for a in inside})
        out.write("%s %s (the runtime %s: %d paths to %s)\n" % (
            SYMBOLS[verbs[0]] if len(verbs) == 1 else "~", version_dir, runtime.version,
            len(inside), "/".join(verbs)))
    for action in plan.actions:
        if action not in inside:
            entry = action.entry
            extra = " -> %s" % entry.target if entry.kind == "symlink" else ""
            out.write("%s %s%s\n" % (action.symbol, entry.path, extra))
    live = os.path.realpath(args.root) == "/"
    for cmd in [c for c in ran if c not in plan.commands] + plan.commands:
        state = "" if (cmd in ran or args.check) else (
            "  [not run: --root]" if not live else "  [not run]")
        out.write("\u21bb %s  (%s)%s\n" % (" ".join(cmd.argv), cmd.reason, state))
    for note in runtime.notes:
        out.write("note: %s\n" % note)
    if not plan.actions and not plan.commands:
        out.write("nothing to do: the runtime%s is installed and linked (init: %s)\n"
                  % (" " + runtime.version if runtime.version else "", runtime.init))


def _show_json(runtime, plan, ran, args):
    json.dump({
        "changed": bool(plan.actions or (ran if not args.check else plan.commands)),
        "check": args.check,
        "root": args.root,
        "runtime": runtime.runtime, "init": runtime.init, "version": runtime.version,
        "prefix": runtime.prefix,
        "actions": [{"path": a.entry.path, "kind": a.entry.kind, "action": a.verb}
                    for a in plan.actions],
        "commands": [{"argv": list(cmd.argv), "reason": cmd.reason, "ran": cmd in ran}
                     for cmd in [c for c in ran if c not in plan.commands] + plan.commands],
        "notes": runtime.notes,
    }, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
