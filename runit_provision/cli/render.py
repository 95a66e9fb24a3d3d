"""cli: ``runit-provision render`` — data -> validated model -> rendered tree, for inspection.

``--out DIR`` writes every entry under DIR (contents, modes and links with their final
targets; owners are not applied — ``--json`` lists them), nothing is started. ``--json``
prints the tree's entries. Bad data: every problem on stderr, one line each, exit 1, and
nothing written.
"""

import hashlib
import json
import os
import sys

from ..errors import DataError, ProvisionError


def add_parser(sub):
    parser = sub.add_parser("render", help="render the service directories to a directory",
                            description="Render runit service directories from hiera data.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="FILE", help="one YAML data file")
    source.add_argument("--hiera", metavar="FILE", help="a hiera.yaml (v5)")
    parser.add_argument("--facts", metavar="FILE", help="facts (YAML/JSON) instead of the host's")
    parser.add_argument("--templates", metavar="DIR", help="templates overriding the bundled ones")
    parser.add_argument("--out", metavar="DIR", required=True, help="write the tree under DIR")
    parser.add_argument("--only", metavar="NAME", nargs="+", help="only these services")
    parser.add_argument("--json", action="store_true", help="list the entries as JSON")
    return parser


def load_data(data=None, hiera=None, facts=None):
    """``(data, origins)`` of the runit keys: through ``hiera/`` when it is there; a single
    data file (either spelling) is read directly otherwise."""
    try:
        from ..hiera import load
    except ImportError:
        load = None
    if load is not None:
        found = load(hiera=hiera, data=data, facts=facts)
        if hasattr(found, "runit_data"):
            return found.runit_data()
        from ..hiera.spellings import runit_data
        return runit_data(found)
    if hiera is not None:
        raise DataError("--hiera needs the hiera room (runit_provision/hiera), not installed")
    from ..model import runit_data_from_file
    from ..source import load_yaml_with_origins
    return runit_data_from_file(*load_yaml_with_origins(data))


def config_from_args(args):
    from ..model import model_from_data
    data, origins = load_data(data=args.data, hiera=args.hiera, facts=args.facts)
    return model_from_data(data, origins)


def write_tree(tree, out_dir):
    """Every entry of ``tree`` under ``out_dir`` (``/`` writes the final paths themselves)."""
    for entry in tree:
        target = os.path.join(out_dir, entry.path.lstrip("/"))
        if entry.kind == "directory":
            os.makedirs(target, exist_ok=True)
            os.chmod(target, entry.mode)
        elif entry.kind == "file":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            temp = target + ".new"
            with open(temp, "wb") as handle:
                handle.write(entry.content)
            os.chmod(temp, entry.mode)
            os.rename(temp, target)
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


def run(args):
    from ..render import render
    try:
        config = config_from_args(args)
        tree = render(config, templates=args.templates, only=args.only)
    except ProvisionError as exc:
        sys.stderr.write("%s\n" % exc)
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
    return 0
