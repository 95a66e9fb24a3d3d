"""cli: ``runit-provision fleet status`` — the services of every node that are not as wanted,
from PuppetDB's ``runit_services`` facts, and the nodes whose facts are too old to say
(docs/fleet.md). Exit 3 when any, 0 when none, 1 when PuppetDB cannot be asked (or a node's
fact cannot be read), 2 on bad usage."""

import argparse
import sys

from .arguments import seconds
from .table import print_json, print_table

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_AS_WANTED = 0, 1, 2, 3
FACT = "runit_services"
# Facts older than this say nothing of now: Puppet's agents run every 30 minutes by default,
# and an hour is when Puppet Enterprise's console calls a node "no longer reporting".
STALE_AFTER_SECONDS = 3600


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
                    "query API (the runit_services fact the Puppet module's agents send), and "
                    "every node whose facts are older than --stale-after: what runs there now "
                    "is not known. Exit 3 when there is one, 0 when none, 1 when PuppetDB "
                    "cannot be asked.")
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
    status.add_argument("--stale-after", metavar="SECONDS", type=seconds,
                        default=STALE_AFTER_SECONDS,
                        help="a node whose facts are older than this is listed as stale, not "
                             "as wanted (default %d: an hour; 0: never)" % STALE_AFTER_SECONDS)
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


def stale_line(node, age):
    """The line for a node whose facts say nothing of now."""
    from .table import duration

    return "%s: stale: %s — what runs there now is not known (is its agent running?)" % (
        node, "its facts carry no time" if age is None else
        "its facts are %s old" % duration(age))


def run(args):
    import time

    from ..fleet.puppetdb import PuppetDBError, fact_times, facts_named, tls_context
    from ..fleet.view import COLUMNS, cells, problems_of, stale_nodes

    if (args.cert is None) != (args.key is None):
        sys.stderr.write("runit-provision fleet status: --cert and --key go together\n")
        return EXIT_USAGE
    try:
        context = tls_context(args.cacert, args.cert, args.key) \
            if args.puppetdb.startswith("https:") else None
        facts = facts_named(args.puppetdb, FACT, context=context, timeout=args.timeout)
        times = fact_times(args.puppetdb, context=context, timeout=args.timeout) \
            if args.stale_after and facts else {}
    except (PuppetDBError, OSError) as exc:
        sys.stderr.write("runit-provision fleet status: %s\n" % exc)
        return EXIT_ERROR
    problems, unreadable = problems_of(facts)
    stale = stale_nodes(facts, times, time.time(), args.stale_after)
    for node, why in unreadable:
        sys.stderr.write("runit-provision fleet status: %s: %s\n" % (node, why))
    if args.json:
        print_json({"nodes": len(facts), "not_as_wanted": [p.as_json() for p in problems],
                    "unreadable": [node for node, _ in unreadable],
                    "stale": [{"node": node, "facts_age_seconds": age}
                              for node, age in stale]})
    elif problems or stale:
        if problems:
            print_table(COLUMNS, [cells(problem) for problem in problems])
        sys.stdout.write("".join(stale_line(node, age) + "\n" for node, age in stale))
    else:
        sys.stdout.write("%d node%s: every service as wanted\n"
                         % (len(facts), "" if len(facts) == 1 else "s"))
    if problems or stale:
        return EXIT_NOT_AS_WANTED
    return EXIT_ERROR if unreadable else EXIT_OK
