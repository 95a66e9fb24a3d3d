"""cli: ``runit-provision render`` — data -> validated model -> rendered tree, for inspection.

Writes every entry under ``--out DIR``, links last; ``--json`` lists the entries. Bad data:
every problem on stderr, one line each, exit 1, and nothing written. An ``--out`` where the
links would start services is refused (``refusal``, the rule ``DESCRIPTION`` states): that is
the applier's job.
"""

import argparse
import hashlib
import json
import os
import posixpath
import sys

from ..apply.fsroot import write_atomic
from ..errors import ProvisionError, ServiceNameError
from ..model.units import labels_named, selected_units
from ..protocol.layout import SUPERVISE_DIR
from ..render import render
from ..shown import prefixed_lines, shown_text
from .arguments import add_name_arguments, names_chosen
from .inputs import ACCOUNTS_HELP, add_input_arguments, config_from_args


DESCRIPTION = """\
Render runit service directories from hiera data into --out DIR, for inspection: contents,
modes and links with their final targets, links last; owners are not applied (--json lists
them) and nothing is started.

Converging a host is runit-provision apply's job, so an --out where the links would start
services is refused: --out resolving to /, or a DIR/<service_dir> that already holds a service
with a supervise/ directory (a runsvdir scans it)."""


def add_parser(sub):
    parser = sub.add_parser("render", help="render the service directories to a directory",
                            description=DESCRIPTION, epilog=ACCOUNTS_HELP,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(parser)
    parser.add_argument("--templates", metavar="DIR", help="templates overriding the bundled ones")
    parser.add_argument("--out", metavar="DIR", required=True, help="write the tree under DIR")
    add_name_arguments(parser)
    parser.add_argument("--json", action="store_true", help="list the entries as JSON")
    return parser


def run(args):
    try:
        config = config_from_args(args)
        only = labels_named(config, names_chosen(args))
        tree = render(config, templates=args.templates, only=only)
    except ServiceNameError as exc:
        sys.stderr.write("runit-provision render: %s\n" % exc)
        return 1
    except ProvisionError as exc:
        sys.stderr.write(prefixed_lines("runit-provision render: ", shown_text(str(exc))))
        return 1
    reason = refusal(tree, args.out)
    if reason is not None:
        sys.stderr.write("runit-provision render: refusing --out %s: %s\n" % (args.out, reason))
        return 1
    try:
        write_tree(tree, args.out)
    except OSError as exc:
        sys.stderr.write("runit-provision render: cannot write %s: %s\n" % (args.out, exc))
        return 1
    if args.json:
        json.dump({"out": args.out, "entries": [entry_json(entry) for entry in tree]},
                  sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(written_line(tree, args.out, len(selected_units(config, only))))
    return 0


def written_line(tree, out_dir, services):
    """What was written, as ``apply`` says what it did: ``Rendered 2 service directories
    under out: 14 files, 6 directories, 1 link.``"""
    counts = {}
    for entry in tree:
        counts[entry.kind] = counts.get(entry.kind, 0) + 1
    parts = ["%d %s" % (counts.get(kind, 0), word if counts.get(kind, 0) == 1 else words)
             for kind, word, words in (("file", "file", "files"),
                                       ("directory", "directory", "directories"),
                                       ("symlink", "link", "links"))]
    return "Rendered %d service director%s under %s: %s.\n" % (
        services, "y" if services == 1 else "ies", out_dir, ", ".join(parts))


def refusal(tree, out_dir):
    """Why writing ``tree`` under ``out_dir`` would start services, or None when it would not."""
    out = os.path.realpath(out_dir)
    if out == "/":
        return ("it is / itself, where the links would go into the host's own service "
                "directories and start services; use runit-provision apply")
    link_dirs = sorted({posixpath.dirname(entry.path) for entry in tree
                        if entry.kind == "symlink"})
    for link_dir in link_dirs:
        directory = os.path.join(out, link_dir.lstrip("/"))
        live = supervised_service(directory)
        if live is not None:
            return ("%s is a live service directory (%s/%s exists: a runsvdir scans it), where "
                    "a link would start the service; use runit-provision apply"
                    % (directory, live, SUPERVISE_DIR))
    return None


def supervised_service(directory):
    """The first service of ``directory`` that has a ``supervise/``, or None."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    for name in names:
        service = os.path.join(directory, name)
        if os.path.lexists(os.path.join(service, SUPERVISE_DIR)):
            return service
    return None


def write_tree(tree, out_dir):
    """Every entry of ``tree`` under ``out_dir`` (``/`` writes the final paths themselves),
    links last: a service directory is complete before a link to it appears."""
    entries = list(tree)
    for entry in [e for e in entries if e.kind != "symlink"] + \
            [e for e in entries if e.kind == "symlink"]:
        target = os.path.join(out_dir, entry.path.lstrip("/"))
        if entry.kind == "directory":
            os.makedirs(target, exist_ok=True)
            os.chmod(target, entry.mode)
        elif entry.kind == "file":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            write_atomic(target, entry.content, entry.mode)
        elif entry.kind == "symlink":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.islink(target):
                os.unlink(target)
            os.symlink(entry.target, target)


def entry_json(entry):
    item = {"path": entry.path, "kind": entry.kind}
    if entry.kind != "absent":
        item.update(owner=entry.owner, group=entry.group)
    if entry.kind in ("file", "directory"):
        item["mode"] = "%04o" % entry.mode
    if entry.kind == "file":
        item["size"] = len(entry.content)
        item["sha256"] = hashlib.sha256(entry.content).hexdigest()
    if entry.kind == "symlink":
        item["target"] = entry.target
    return item
