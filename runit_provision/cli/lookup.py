"""cli: ``runit-provision lookup KEY`` — answers like ``puppet lookup``, with the origins.

Prints the value as YAML (``--- value``) or JSON (``--json``); ``--explain`` prints every
level and path searched, what each held and the merge used, then the files that gave the
result. Without ``--hiera``/``--data``, the default data (cli/default_data.py). Exit 0 when
found, 1 when not found or on a data error (message on stderr), 2 on bad usage (no data given
and none by default included); with ``--explain``, 0 unless there is an error, as ``puppet
lookup --explain``.
"""

import json
import sys

import yaml

from ..errors import DataError
from ..hiera import load
from ..shown import prefixed_lines, shown_text
from .default_data import HIERA_HELP, reads_data

MERGES = ("first", "unique", "hash", "deep")
DESCRIPTION = """\
Look KEY up in the hiera data as puppet lookup does: the levels of --hiera FILE (or one
--data FILE) with the facts of this host (or --facts FILE), each level's value merged as the
data's lookup_options say (or --merge), and print it as YAML (--json: JSON). KEY is dotted
into hashes: runit::services.web.env. --explain prints every level and path searched, what
each held and the merge used, then the files that gave the value.

Without --hiera or --data: the default data every command reads, $RUNIT_PROVISION_HIERA,
else /etc/runit-provision/hiera.yaml (DIR/etc/runit-provision/hiera.yaml with --root DIR,
as plan --root DIR reads it). Exit codes: 0 found; 1 not found (close keys suggested), or a
data error; 2 bad usage. With --explain, 0 unless there is an error."""


def add_parser(sub):
    import argparse

    parser = sub.add_parser("lookup", help="look a key up in the hiera data, like puppet lookup",
                            description=DESCRIPTION,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("key", metavar="KEY", help="a key, dotted into hashes "
                                                   "(runit::services.web.env)")
    parser.add_argument("--merge", choices=MERGES,
                        help="merge behaviour, overriding the data's lookup_options")
    parser.add_argument("--knock-out-prefix", dest="knockout_prefix", metavar="PREFIX",
                        help="with --merge deep: the knockout prefix (write --knock-out-prefix=--)")
    parser.add_argument("--sort-merged-arrays", action="store_true",
                        help="with --merge deep: sort every merged array")
    parser.add_argument("--merge-hash-arrays", action="store_true",
                        help="with --merge deep: merge hashes inside arrays by position")
    parser.add_argument("--explain", action="store_true",
                        help="show each level and path searched and where the value came from")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--hiera", metavar="FILE", help=HIERA_HELP)
    source.add_argument("--data", metavar="FILE", help="a single YAML data file")
    reads_data(parser)
    parser.add_argument("--facts", metavar="FILE",
                        help="a YAML or JSON facts file instead of this host's facts")
    parser.add_argument("--root", metavar="DIR",
                        help="without --hiera or --data: the default data under DIR "
                             "(DIR/etc/runit-provision/hiera.yaml), as plan --root DIR reads "
                             "it; nothing else is read there")
    parser.add_argument("--json", action="store_true", help="print JSON instead of YAML")
    return parser


def merge_of(args):
    """The ``merge`` argument of ``Hiera.lookup`` from the command line (None: the data's)."""
    deep_options = {}
    prefix = args.knockout_prefix
    if prefix == []:  # argparse reads '--knock-out-prefix=--' as its '--' separator: []
        prefix = "--"
    if prefix:
        deep_options["knockout_prefix"] = prefix
    if args.sort_merged_arrays:
        deep_options["sort_merged_arrays"] = True
    if args.merge_hash_arrays:
        deep_options["merge_hash_arrays"] = True
    if deep_options and args.merge != "deep":
        raise DataError("--knock-out-prefix, --sort-merged-arrays and --merge-hash-arrays "
                        "go with --merge deep")
    if deep_options:
        return dict(deep_options, strategy="deep")
    return args.merge


def as_yaml(value):
    text = yaml.safe_dump(value, explicit_start=True, default_flow_style=False,
                          sort_keys=False, allow_unicode=True)
    return text[:-len("...\n")] if text.endswith("\n...\n") else text


def run(args, out=None, err=None):
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        hiera = load(hiera=args.hiera, data=args.data, facts=args.facts)
        found = hiera.lookup(args.key, merge=merge_of(args))
    except DataError as exc:
        err.write(prefixed_lines("runit-provision lookup: ", shown_text(str(exc))))
        return 1
    files = sorted({origin.file for origin in found.origins.values()})
    if args.json:
        document = found.value
        if args.explain:
            document = {"key": args.key, "found": found.found, "value": found.value,
                        "merge": found.merge, "files": files, "explain": found.explain}
        out.write(json.dumps(document, indent=2 if args.explain else None) + "\n")
    elif args.explain:
        out.write("\n".join(found.explain) + "\n")
        if found.found:
            out.write("Value from: %s\n" % ", ".join(files))
            out.write(as_yaml(found.value))
    elif found.found:
        out.write(as_yaml(found.value))
    if not found.found and not args.explain:
        try:
            close = hiera.close_keys(args.key)
        except DataError:  # a file only the hint would have read: the lookup's answer stands
            close = []
        err.write("runit-provision lookup: no value for %r%s\n" % (
            args.key, " (did you mean %s?)" % " or ".join(repr(key) for key in close)
            if close else ""))
        return 1
    return 0
