"""cli: ``runit-provision import`` — a host's service directories -> data (docs/import.md).

Opens the host (``host.fsread.FsReader`` under ``--root``: import only reads) and hands it
to the import of its source (``importing.servicedirs``, ``usertree``, ``unitfiles`` or
``crontabfiles``: read, proposed and confirmed service by service), says what
it said, writes the YAML
(``importing.emit``, or ``importing.into`` for ``--into``). Exit codes: 0 imported, and ``plan`` with the data would
change nothing in what it covers; 2 imported, with changes ``plan`` would still make (listed
in the YAML's comments and on stderr); 3 imported and written, but some directories were
refused (each named on stderr with its reason, and in the YAML's header); 1 an error — every
problem on stderr, nothing written (an ``--into`` refusal included, and a run where every
directory was refused). PATHs are the shell's: relative ones from the current directory. ``--into`` says on stderr every top-level key it added or
changed.
"""

import argparse
import sys

from ..accounts.databases import databases_for
from ..errors import ProvisionError
from ..host.fsread import FsReader
from ..importing.assemble import DEFAULTS
from ..importing.emit import SPELLINGS, document
from ..importing.crontabfiles import import_crontabs
from ..importing.servicedirs import import_tree
from ..importing.unitfiles import import_units
from ..importing.usertree import import_user
from ..shown import shown_name

DESCRIPTION = """\
Turn existing runit service directories into data for runit-provision: what is written in
the forms runit-provision renders is read back into keys (command, user, env, needs, log, …),
anything else is kept exactly as written (run: |, finish: |, log: {run: |}). Every service is
rendered again from the data and compared byte for byte with the host; what plan would still
change (a mode, an owner, a file the data has no key for) is listed, with why.

PATH is a service directory (it holds run) or a directory of them (/etc/sv), relative to the
current directory as the shell means it (with --root: the host's path, or relative from a
current directory inside DIR); --service-dir imports the services linked there. --into FILE
says every top-level key it adds or changes (on stderr) and adds no sv_dir, service_dir or
log_dir (each moves every service of the node) unless --relocate. Exit codes: 0 imported, plan
would change nothing; 2 imported, plan would change what is listed; 3 imported and written,
but some directories were refused (each named on stderr with why); 1 an error or an --into
refusal (nothing written).

--systemd UNIT… translates systemd units (a .timer with the service it starts: one timer
service), --crontab [FILE…] crontab lines (each a timer service), instead; the PATHs given
with either are more UNITs or FILEs, so options may come between them. A crontab is read as
where it lies says (/etc/crontab, /etc/cron.d/*: system crontabs, with the user field;
/var/spool/cron/crontabs/LOGIN: LOGIN's, without), or as --user LOGIN (LOGIN's crontab) or
--system-crontab says; a file elsewhere without either is an error that names them. Exit 0
all translated, 2 some refused or dropped (each named on stderr with its file:line), 1 an
error (nothing written)."""


def add_parser(sub):
    parser = sub.add_parser("import", help="turn existing service directories, systemd units "
                            "or crontabs into data",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", metavar="PATH", nargs="*",
                        help="a service directory, or a directory of them")
    parser.add_argument("--service-dir", metavar="DIR",
                        help="the directory of links that enable services (default "
                             "/etc/service); with no PATH, import every service linked there")
    parser.add_argument("--user", metavar="LOGIN",
                        help="import LOGIN's own tree (~/service, or --service-dir) into "
                             "users: {LOGIN: …}; with --crontab: read each FILE as LOGIN's "
                             "crontab (no user field; default FILE "
                             "/var/spool/cron/crontabs/LOGIN), its jobs into LOGIN's tree")
    parser.add_argument("--root", metavar="DIR",
                        help="read the host under DIR (default /; paths stay the host's)")
    parser.add_argument("--only", metavar="NAME", nargs="+", help="only these services")
    parser.add_argument("--out", metavar="FILE", help="write the YAML to FILE (default stdout)")
    parser.add_argument("--into", metavar="FILE",
                        help="add the services to this hiera data file, the rest of it kept "
                             "byte for byte (needs ruamel.yaml)")
    parser.add_argument("--replace", action="store_true",
                        help="with --into: replace services (and users) the file has already")
    parser.add_argument("--relocate", action="store_true",
                        help="with --into: add sv_dir, service_dir or log_dir where the file "
                             "has none (each moves every service of the node; refused "
                             "without it)")
    parser.add_argument("--spelling", choices=SPELLINGS, default="runit",
                        help="runit: {services: …} (default), or params: runit::services")
    parser.add_argument("--systemd", metavar="UNIT", nargs="*",
                        help="translate these systemd .service units, or .timer units with "
                             "the service each starts (files, or names looked up in "
                             "/etc/systemd/system, /run/systemd/system, /lib/systemd/system, "
                             "/usr/lib/systemd/system) instead")
    parser.add_argument("--crontab", metavar="FILE", nargs="*",
                        help="import these crontab files (or directories of them) as timer "
                             "services instead: /etc/crontab and /etc/cron.d/* with their "
                             "user field, /var/spool/cron/crontabs/LOGIN into LOGIN's tree "
                             "(default: all three, under --root); a file elsewhere needs "
                             "--user LOGIN or --system-crontab")
    parser.add_argument("--system-crontab", action="store_true",
                        help="with --crontab: read each FILE as a system crontab, whose "
                             "lines have the user field (default FILEs /etc/crontab and "
                             "/etc/cron.d)")
    parser.add_argument("--drop-unsupported", action="store_true",
                        help="with --systemd: drop a setting runit has no word for "
                             "(SystemCallFilter=, DeviceAllow=, ExecStartPost=, OnBootSec=, …), "
                             "written as a "
                             "comment beside the service, instead of refusing the unit")
    parser.add_argument("--sv-dir", metavar="DIR",
                        help="with --systemd: where the services will live (default /etc/sv)")
    parser.add_argument("--passwd", metavar="FILE", help="a passwd(5) file to compare owners "
                        "by, as plan does (else DIR/etc/passwd under --root where it exists, "
                        "else the host's)")
    parser.add_argument("--group", metavar="FILE", help="a group(5) file to compare groups "
                        "by, as plan does (else DIR/etc/group under --root where it exists, "
                        "else the host's)")
    return parser


EXIT_USAGE = 2  # argparse's: the command line is wrong
SOME_REFUSED = 3  # imported and written, but some directories were refused (each said)


def _usage_problems(args):
    """What on the command line would be dropped unheard — an option of another kind of
    import than the one chosen (PATHs, --systemd, --crontab; --into FILE), each named with
    what it goes with — or cannot be read together."""
    chosen = {"--systemd" if args.systemd is not None else
              "--crontab" if args.crontab is not None else "PATHs"}
    chosen |= {"--into FILE"} if args.into else set()
    goes_with = [("--drop-unsupported", args.drop_unsupported, ("--systemd",)),
                 ("--sv-dir", args.sv_dir is not None, ("--systemd",)),
                 ("--system-crontab", args.system_crontab, ("--crontab",)),
                 ("--user", args.user, ("PATHs", "--crontab")),
                 ("--service-dir", args.service_dir, ("PATHs",)),
                 ("--only", args.only, ("PATHs",))]
    problems = ["%s goes with %s" % (option, " or ".join(kinds))
                for option, given, kinds in goes_with if given and not chosen & set(kinds)]
    merging = [option for option, given in (("--replace", args.replace),
                                             ("--relocate", args.relocate)) if given]
    if merging and not args.into:
        problems.append("%s %s with --into FILE" % (" and ".join(merging),
                                                    "go" if len(merging) > 1 else "goes"))
    if args.systemd is not None and args.crontab is not None:
        problems.append("--systemd and --crontab: one kind of import at a time")
    if args.user and args.system_crontab:
        problems.append("--user LOGIN (a user's crontab) and --system-crontab: one or the "
                        "other")
    if args.systemd == [] and not args.paths:
        problems.append("--systemd: name the units (UNIT…)")
    return problems


def run(args):
    problems = _usage_problems(args)
    if problems:
        for problem in problems:
            sys.stderr.write("runit-provision import: %s\n" % problem)
        return EXIT_USAGE
    if args.systemd is not None:
        units = args.systemd + args.paths  # options may come between the units
        with FsReader(args.root or "/") as root:
            imported = import_units(root, units, args.sv_dir or DEFAULTS["sv_dir"],
                                    args.drop_unsupported, root_dir=args.root)
        return _finish(args, imported, 2 if imported.refused or imported.dropped else 0)
    try:
        databases = databases_for(args.passwd, args.group, args.root)
    except ProvisionError as exc:
        return _fail([str(exc)])
    with FsReader(args.root or "/") as root:
        if args.crontab is not None:
            imported = import_crontabs(root, args.crontab + args.paths, databases,
                                       user=args.user, system=args.system_crontab,
                                       root_dir=args.root)
            return _finish(args, imported, 2 if imported.refused else 0)
        if args.user:
            imported = import_user(root, args.user, databases, args.service_dir, args.only)
            return _finish(args, imported, SOME_REFUSED if imported.refused else
                           2 if imported.changes else 0)
        imported = import_tree(root, args.paths, args.service_dir, args.only, databases,
                               args.root)
    return _finish(args, imported, SOME_REFUSED if imported.refused else
                   2 if imported.changes else 0)


def _finish(args, imported, code):
    """Say what the import said, then fail with its problems (nothing written), or write it
    (``_output``) and exit with ``code``."""
    for line in imported.said:
        _say(line)
    if imported.problems:
        return _fail(imported.problems)
    return _output(args, imported.settings, imported.services, imported.header,
                   imported.users) or code


def _output(args, settings_data, services, header, users):
    """Write the YAML (stdout, ``--out``) or merge it ``--into`` a file, then say on stderr
    every top-level key the merge added or changed; an exit code on failure (nothing
    written), else None."""
    said = []
    if args.into is not None:
        from ..importing.into import MergeError, merge
        from ..source import load_yaml_with_origins
        try:
            with open(args.into, encoding="utf-8") as handle:
                original = handle.read()
            load_yaml_with_origins(args.into, original)  # malformed: said as plan says it
            text, said = merge(original, settings_data, services, users, args.spelling,
                               replace=args.replace, relocate=args.relocate)
        except ProvisionError as exc:
            return _fail([str(exc)])
        except (OSError, UnicodeDecodeError, MergeError) as exc:
            return _fail(["--into %s: %s" % (args.into, problem)
                          for problem in getattr(exc, "problems", [exc])])
        target = args.into
    else:
        text = document(settings_data, services, args.spelling, header, users=users)
        target = args.out
    if target is None:
        sys.stdout.write(text)
        return None
    from ..apply.fsroot import write_atomic

    try:
        write_atomic(target, text.encode("utf-8"))
    except OSError as exc:
        return _fail(["cannot write %s: %s" % (target, exc)])
    for line in said:
        _say("--into %s: %s" % (target, line))
    return None


def _fail(problems):
    for problem in problems:
        _say(problem)
    return 1


def _say(message):
    """One line on stderr, escaped: it names what was found on the host (docs/security.md,
    N7)."""
    sys.stderr.write("runit-provision import: %s\n" % shown_name(message))
