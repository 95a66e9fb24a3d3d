"""cli: ``runit-provision fleet status`` — the services of every node that are not as wanted,
from PuppetDB's ``runit_services`` facts (docs/fleet.md). Exit 3 when any, 0 when none, 1
when PuppetDB cannot be asked (or a node's fact cannot be read), 2 on bad usage."""

import argparse
import sys

from .table import print_json, print_table

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_AS_WANTED = 0, 1, 2, 3
FACT = "runit_services"


def add_parser(sub):
    parser = sub.add_parser("fleet", help="every node's services that are not as wanted "
                                          "(PuppetDB)",
                            description="The fleet's services, as PuppetDB has their nodes' "
                                        "runit_services facts.")
    verbs = parser.add_subparsers(dest="fleet_command", metavar="VERB")
    verbs.required = True
    status = verbs.add_parser(
        "status", help="a table of nodes x services that are not as wanted; exit 3 if any",
        description="Every node's services that are not as wanted — not running though "
                    "wanted, crash-looping, given up, or with a logger down — from PuppetDB's "
                    "query API (the runit_services fact the Puppet module's agents send). "
                    "Exit 3 when there is one, 0 when none, 1 when PuppetDB cannot be asked.")
    status.add_argument("--puppetdb", metavar="URL", required=True, type=puppetdb_url,
                        help="PuppetDB's base URL: http://127.0.0.1:8080, or "
                             "https://puppetdb.example.com:8081 with --cert/--key/--cacert")
    status.add_argument("--cacert", metavar="FILE",
                        help="the CA that signed PuppetDB's certificate (an agent's "
                             "ssldir/certs/ca.pem)")
    status.add_argument("--cert", metavar="FILE",
                        help="a client certificate PuppetDB accepts (ssldir/certs/NODE.pem)")
    status.add_argument("--key", metavar="FILE",
                        help="its private key (ssldir/private_keys/NODE.pem)")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--timeout", metavar="SECONDS", type=float, default=30.0,
                        help="how long to wait for PuppetDB (default 30)")
    return parser


def puppetdb_url(text):
    """``--puppetdb``: a base URL with its scheme, else bad usage (exit 2) saying the form."""
    from ..fleet.puppetdb import url_problem

    problem = url_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def run(args):
    from ..fleet.puppetdb import PuppetDBError, facts_named, tls_context
    from ..fleet.view import COLUMNS, cells, problems_of

    if (args.cert is None) != (args.key is None):
        sys.stderr.write("runit-provision fleet status: --cert and --key go together\n")
        return EXIT_USAGE
    try:
        context = tls_context(args.cacert, args.cert, args.key) \
            if args.puppetdb.startswith("https:") else None
        facts = facts_named(args.puppetdb, FACT, context=context, timeout=args.timeout)
    except (PuppetDBError, OSError) as exc:
        sys.stderr.write("runit-provision fleet status: %s\n" % exc)
        return EXIT_ERROR
    problems, unreadable = problems_of(facts)
    for node, why in unreadable:
        sys.stderr.write("runit-provision fleet status: %s: %s\n" % (node, why))
    if args.json:
        print_json({"nodes": len(facts), "not_as_wanted": [p.as_json() for p in problems],
                    "unreadable": [node for node, _ in unreadable]})
    elif problems:
        print_table(COLUMNS, [cells(problem) for problem in problems])
    else:
        sys.stdout.write("%d node%s: every service as wanted\n"
                         % (len(facts), "" if len(facts) == 1 else "s"))
    if problems:
        return EXIT_NOT_AS_WANTED
    return EXIT_ERROR if unreadable else EXIT_OK
